package social

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
)

// Inbound is the hub's side of what arrives in the inboxes of every
// service: the activitypub processor checks an activity and hands its
// social effects here (activitypub.Hooks), inside the transaction that
// handles it. So the hub's tables are written by this package alone,
// whether a user acted here or a remote server told us.
type Inbound struct {
	s *Store
}

var _ activitypub.Hooks = (*Inbound)(nil)

// NewInbound returns the hub's activitypub.Hooks; federationURL is
// federation's public base URL, under which users' actors live (to find
// the users a post mentions).
func NewInbound(federationURL string) *Inbound {
	return &Inbound{s: New(nil, nil, Options{FederationURL: federationURL})}
}

const readFollowRequestQuery = `
UPDATE ap_notifications SET read_at = coalesce(read_at, now())
WHERE kind = 'follow_request' AND activity_uri = $1`

// Followed notifies the user whose actor actor asked to follow: of a
// follow, or of a request to approve when pending. Errors: EInternal.
func (in *Inbound) Followed(ctx context.Context, tx pgx.Tx, userID uuid.UUID, actor, followID string, pending bool) error {
	kind := "follow"
	if pending {
		kind = "follow_request"
	}
	_, err := notify(ctx, tx, userID, kind, actor, "", followID)
	return err
}

// FollowRequestAnswered marks the notification of follow request followID
// read: the user acted on it. Errors: EInternal.
func (in *Inbound) FollowRequestAnswered(ctx context.Context, tx pgx.Tx, followID string) error {
	if _, err := tx.Exec(ctx, readFollowRequestQuery, followID); err != nil {
		return internal("read follow request", err)
	}
	return nil
}

const (
	answerFollowQuery       = `UPDATE ap_following SET state = $3 WHERE actor_uri = $1 AND follow_uri = $2`
	answerFollowByPairQuery = `UPDATE ap_following SET state = $3 WHERE actor_uri = $1 AND local_actor = $2`
)

// FollowAnswered records actor's answer to a follow by one of ours: by the
// Follow's id, or (peers that send a bare or id-less Follow) by the pair
// of actors. Errors: EInternal.
func (in *Inbound) FollowAnswered(ctx context.Context, tx pgx.Tx, actor, followID, follower string, accepted bool) error {
	state := Accepted
	if !accepted {
		state = Rejected
	}
	tag, err := tx.Exec(ctx, answerFollowQuery, actor, followID, state)
	if err == nil && tag.RowsAffected() == 0 && follower != "" {
		_, err = tx.Exec(ctx, answerFollowByPairQuery, actor, follower, state)
	}
	if err != nil {
		return internal("follow answered", err)
	}
	return nil
}

// receiveObjectQuery keeps a remote post: added by a Create, changed by an
// Update ($14) of its own author while not deleted. It returns whether the
// row is new, and no row when nothing changed.
const receiveObjectQuery = `
INSERT INTO ap_objects (uri, type, actor, name, summary, content, url, in_reply_to, visibility, sensitive,
                        attachments, tags, published)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (uri) DO UPDATE SET name = EXCLUDED.name, summary = EXCLUDED.summary, content = EXCLUDED.content,
       url = EXCLUDED.url, sensitive = EXCLUDED.sensitive, attachments = EXCLUDED.attachments, tags = EXCLUDED.tags,
       updated = now()
WHERE ap_objects.actor = EXCLUDED.actor AND ap_objects.deleted_at IS NULL AND $14
RETURNING (xmax = 0)`

const countReplyQuery = `UPDATE ap_objects SET reply_count = reply_count + 1 WHERE uri = $1 RETURNING user_id`

// ObjectReceived keeps a remote post and, when it is new, counts it as a
// reply to its parent and (notify) tells the local users it replies to or
// mentions, once each: a reply that also mentions its parent's author (as
// every reply from Mastodon or GoToSocial does) is a reply. It reports
// whether the post was new. Errors: EInternal.
func (in *Inbound) ObjectReceived(ctx context.Context, tx pgx.Tx, o activitypub.Object, notify bool) (bool, error) {
	added, err := in.receiveObject(ctx, tx, o, notify)
	if err != nil {
		return added, internal("receive object", err)
	}
	return added, nil
}

func (in *Inbound) receiveObject(ctx context.Context, tx pgx.Tx, o activitypub.Object, tell bool) (bool, error) {
	if o.Attachments == nil {
		o.Attachments = []activitypub.Attachment{}
	}
	if o.Tags == nil {
		o.Tags = []activitypub.Tag{}
	}
	attJSON, err := json.Marshal(o.Attachments)
	if err != nil {
		return false, err
	}
	tagJSON, err := json.Marshal(o.Tags)
	if err != nil {
		return false, err
	}
	var inserted bool
	err = tx.QueryRow(ctx, receiveObjectQuery, o.URI, o.Type, o.Actor, o.Name, o.Summary, o.Content, o.URL,
		o.InReplyTo, o.Visibility, o.Sensitive, attJSON, tagJSON, o.Published, o.Update).Scan(&inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // a Create for an object we have, or an Update of a deleted one
	}
	if err != nil || !inserted {
		return false, err
	}
	told := map[uuid.UUID]bool{}
	if o.InReplyTo != "" {
		var owner *uuid.UUID
		err := tx.QueryRow(ctx, countReplyQuery, o.InReplyTo).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return true, err
		}
		if owner != nil && tell {
			told[*owner] = true
			if _, err := notify(ctx, tx, *owner, "reply", o.Actor, o.URI, o.ActivityURI); err != nil {
				return true, err
			}
		}
	}
	if !tell {
		return true, nil
	}
	for _, href := range o.Mentions {
		user, ok, err := in.s.localUserID(ctx, tx, href)
		if err != nil {
			return true, err
		}
		if !ok || told[user] {
			continue
		}
		told[user] = true
		if _, err := notify(ctx, tx, user, "mention", o.Actor, o.URI, o.ActivityURI); err != nil {
			return true, err
		}
	}
	return true, nil
}

const buryObjectQuery = `
INSERT INTO ap_objects (uri, type, actor, deleted_at) VALUES ($1, 'Tombstone', $2, now())
ON CONFLICT (uri) DO NOTHING`

// ObjectDeleted drops actor's post objectURI (see deleteObjects); a post
// not held yet is buried under a Tombstone when tombstone is set, so that
// its Create, arriving later, is not shown. Errors: EInternal.
func (in *Inbound) ObjectDeleted(ctx context.Context, tx pgx.Tx, actor, objectURI string, tombstone bool) error {
	held, err := deleteObjects(ctx, tx, `uri = $1 AND actor = $2`, objectURI, actor)
	if err == nil && !held && tombstone {
		_, err = tx.Exec(ctx, buryObjectQuery, objectURI, actor)
	}
	if err != nil {
		return internal("delete object", err)
	}
	return nil
}

// deleteObjects deletes the objects that where (a condition on ap_objects,
// with args) selects, as a local delete does: their text is dropped, the
// posts they answered count one reply fewer, and the reply and mention
// notifications they gave are withdrawn (they would show with no text). It
// reports whether where matched any object, deleted before or not.
func deleteObjects(ctx context.Context, tx pgx.Tx, where string, args ...any) (bool, error) {
	var matched bool
	err := tx.QueryRow(ctx, `
WITH gone AS (
    UPDATE ap_objects SET deleted_at = now(), content = '', summary = ''
    WHERE `+where+` AND deleted_at IS NULL
    RETURNING uri, in_reply_to
), parents AS (
    UPDATE ap_objects p SET reply_count = greatest(p.reply_count - g.n, 0)
    FROM (SELECT in_reply_to, count(*) AS n FROM gone WHERE in_reply_to <> '' GROUP BY in_reply_to) g
    WHERE p.uri = g.in_reply_to
), withdrawn AS (
    DELETE FROM ap_notifications WHERE kind IN ('reply', 'mention') AND object_uri IN (SELECT uri FROM gone)
)
SELECT EXISTS (SELECT 1 FROM gone) OR EXISTS (SELECT 1 FROM ap_objects WHERE `+where+`)`, args...).Scan(&matched)
	return matched, err
}

// The SQL of remote likes and boosts.
const (
	receiveLikeQuery     = `INSERT INTO ap_likes (uri, actor, object_uri) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	countLikeQuery       = `UPDATE ap_objects SET like_count = like_count + 1 WHERE uri = $1 RETURNING user_id`
	receiveAnnounceQuery = `INSERT INTO ap_announces (uri, actor, object_uri, published) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`
	countAnnounceQuery   = `UPDATE ap_objects SET announce_count = announce_count + 1 WHERE uri = $1 RETURNING user_id`
)

// Liked records actor's like of objectURI (once) and, when the post is a
// local user's, tells them. Errors: EInternal.
func (in *Inbound) Liked(ctx context.Context, tx pgx.Tx, id, actor, objectURI string) error {
	if err := react(ctx, tx, "like", countLikeQuery, id, actor, objectURI, receiveLikeQuery, id, actor, objectURI); err != nil {
		return internal("like received", err)
	}
	return nil
}

// Announced records actor's boost of objectURI (once) and, when the post
// is a local user's, tells them. Errors: EInternal.
func (in *Inbound) Announced(ctx context.Context, tx pgx.Tx, id, actor, objectURI string, published time.Time) error {
	if err := react(ctx, tx, "announce", countAnnounceQuery, id, actor, objectURI, receiveAnnounceQuery,
		id, actor, objectURI, published); err != nil {
		return internal("announce received", err)
	}
	return nil
}

// react records a reaction with insert (and its args): when it is new, the
// post's counter goes up (count) and its local author is notified (kind).
func react(ctx context.Context, tx pgx.Tx, kind, count, id, actor, objectURI, insert string, args ...any) error {
	tag, err := tx.Exec(ctx, insert, args...)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	var owner *uuid.UUID
	err = tx.QueryRow(ctx, count, objectURI).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner == nil) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = notify(ctx, tx, *owner, kind, actor, objectURI, id)
	return err
}

// ReactionUndone removes actor's like or boost id (or the one of
// objectURI), and counts it off its post. Errors: EInternal.
func (in *Inbound) ReactionUndone(ctx context.Context, tx pgx.Tx, actor, id, objectURI string) error {
	for _, t := range []struct{ table, counter string }{{"ap_likes", "like_count"}, {"ap_announces", "announce_count"}} {
		var obj string
		err := tx.QueryRow(ctx, `DELETE FROM `+t.table+` WHERE actor = $1 AND (uri = $2 OR object_uri = $3) RETURNING object_uri`,
			actor, id, objectURI).Scan(&obj)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err == nil {
			_, err = decrement(ctx, tx, t.counter, obj)
		}
		if err != nil {
			return internal("undo "+t.table, err)
		}
		return nil
	}
	return nil
}

// The SQL of a remote actor that deleted itself.
var forgetActorQueries = []string{
	`DELETE FROM ap_following WHERE actor_uri = $1`,
	`DELETE FROM ap_announces WHERE actor = $1`,
	`DELETE FROM ap_likes WHERE actor = $1`,
}

// ActorDeleted forgets what the hub holds of an actor that deleted itself:
// our follows of it, its likes and boosts, its posts. Errors: EInternal.
func (in *Inbound) ActorDeleted(ctx context.Context, tx pgx.Tx, actor string) error {
	for _, q := range forgetActorQueries {
		if _, err := tx.Exec(ctx, q, actor); err != nil {
			return internal(fmt.Sprintf("forget actor (%.30s)", q), err)
		}
	}
	if _, err := deleteObjects(ctx, tx, `actor = $1`, actor); err != nil {
		return internal("forget actor's posts", err)
	}
	return nil
}
