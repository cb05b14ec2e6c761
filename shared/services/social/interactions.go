package social

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/models"
)

// Like records me liking the post objectURI and sends Like to its author;
// a local author is notified. Liking a post twice does nothing more.
// Errors: ENotFound (not a post me may see), EInternal.
func (s *Store) Like(ctx context.Context, me Actor, objectURI string) error {
	return s.inTx(ctx, "like", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		t, err := visiblePost(ctx, tx, me.ID, objectURI)
		if err != nil {
			return err
		}
		id := delivery.NewID(me.ID)
		tag, err := tx.Exec(ctx, `
INSERT INTO ap_likes (uri, actor, object_uri) VALUES ($1, $2, $3)
ON CONFLICT (actor, object_uri) DO NOTHING`, id, me.ID, objectURI)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_objects SET like_count = like_count + 1 WHERE uri = $1`, objectURI); err != nil {
			return err
		}
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Like", ObjectURI: objectURI,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Like", "actor": me.ID,
				"object": objectURI, "to": []string{t.Actor}},
			Recipients: s.remote([]string{t.Actor}),
		}); err != nil {
			return err
		}
		return s.tellAuthor(ctx, tx, notified, me, t.Actor, "like", objectURI, id)
	})
}

// Unlike takes back me's like of objectURI, sending Undo(Like) with the
// Like embedded, and withdraws the author's notification. Unliking a post
// not liked does nothing. Errors: EInternal.
func (s *Store) Unlike(ctx context.Context, me Actor, objectURI string) error {
	return s.inTx(ctx, "unlike", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		var likeID string
		err := tx.QueryRow(ctx, `DELETE FROM ap_likes WHERE actor = $1 AND object_uri = $2 RETURNING uri`,
			me.ID, objectURI).Scan(&likeID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		author, err := decrement(ctx, tx, "like_count", objectURI)
		if err != nil {
			return err
		}
		id := delivery.NewID(me.ID)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Undo", ObjectURI: likeID,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Undo", "actor": me.ID,
				"to":     nonEmpty(author),
				"object": map[string]any{"id": likeID, "type": "Like", "actor": me.ID, "object": objectURI}},
			Recipients: s.remote([]string{author}),
		}); err != nil {
			return err
		}
		return withdraw(ctx, tx, notified, likeID, "like")
	})
}

// Boost records me boosting (announcing) the post objectURI and sends
// Announce to me's followers and the post's author; a local author is
// notified. Boosting twice does nothing more. Errors: ENotFound (not a post
// me may see), EForbidden (only public and unlisted posts may be boosted),
// EInternal.
func (s *Store) Boost(ctx context.Context, me Actor, objectURI string) error {
	return s.inTx(ctx, "boost", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		t, err := visiblePost(ctx, tx, me.ID, objectURI)
		if err != nil {
			return err
		}
		if t.Visibility != Public && t.Visibility != Unlisted {
			return models.Errorf(models.EForbidden, "Only public and unlisted posts can be boosted.")
		}
		id := delivery.NewID(me.ID)
		now := s.o.Now().UTC()
		tag, err := tx.Exec(ctx, `
INSERT INTO ap_announces (uri, actor, object_uri, published) VALUES ($1, $2, $3, $4)
ON CONFLICT (actor, object_uri) DO NOTHING`, id, me.ID, objectURI, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ap_objects SET announce_count = announce_count + 1 WHERE uri = $1`, objectURI); err != nil {
			return err
		}
		to, cc := boostAddressing(me.ID, t.Actor)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Announce", ObjectURI: objectURI,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Announce", "actor": me.ID,
				"published": now.Format(time.RFC3339), "to": to, "cc": cc, "object": objectURI},
			Listed: true, ToFollowers: true, Recipients: s.remote([]string{t.Actor}),
		}); err != nil {
			return err
		}
		return s.tellAuthor(ctx, tx, notified, me, t.Actor, "announce", objectURI, id)
	})
}

// Unboost takes back me's boost of objectURI, sending Undo(Announce) with
// the Announce embedded to the same audience. Unboosting a post not
// boosted does nothing. Errors: EInternal.
func (s *Store) Unboost(ctx context.Context, me Actor, objectURI string) error {
	return s.inTx(ctx, "unboost", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		var announceID string
		var published time.Time
		err := tx.QueryRow(ctx, `DELETE FROM ap_announces WHERE actor = $1 AND object_uri = $2 RETURNING uri, published`,
			me.ID, objectURI).Scan(&announceID, &published)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		author, err := decrement(ctx, tx, "announce_count", objectURI)
		if err != nil {
			return err
		}
		to, cc := boostAddressing(me.ID, author)
		id := delivery.NewID(me.ID)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Undo", ObjectURI: announceID,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Undo", "actor": me.ID,
				"to": to, "cc": cc,
				"object": map[string]any{"id": announceID, "type": "Announce", "actor": me.ID, "object": objectURI,
					"published": published.UTC().Format(time.RFC3339), "to": to, "cc": cc}},
			ToFollowers: true, Recipients: s.remote([]string{author}),
		}); err != nil {
			return err
		}
		return withdraw(ctx, tx, notified, announceID, "announce")
	})
}

// Delete deletes me's own post objectURI: it no longer shows anywhere
// here, and Delete with a Tombstone goes to everyone the post went to.
// Notifications it caused are withdrawn. Deleting a deleted post does
// nothing. Errors: ENotFound (no such post), EForbidden (not me's post),
// EInternal.
func (s *Store) Delete(ctx context.Context, me Actor, objectURI string) error {
	return s.inTx(ctx, "delete", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		var t target
		var deleted *time.Time
		err := tx.QueryRow(ctx, `
SELECT o.uri, o.type, o.actor, o.visibility, o.in_reply_to, o.user_id, o.deleted_at,
       coalesce((SELECT array_agg(m->>'href') FROM jsonb_array_elements(CASE jsonb_typeof(o.tags) WHEN 'array' THEN o.tags ELSE '[]' END) m
                 WHERE m->>'type' = 'Mention' AND m->>'href' IS NOT NULL), '{}')
FROM ap_objects o WHERE o.uri = $1 FOR UPDATE`, objectURI).
			Scan(&t.URI, &t.Type, &t.Actor, &t.Visibility, &t.InReplyTo, &t.UserID, &deleted, &t.Mentions)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return models.Errorf(models.ENotFound, "That post is not here.")
		case err != nil:
			return err
		case t.Actor != me.ID || t.UserID == nil || *t.UserID != me.UserID:
			return models.Errorf(models.EForbidden, "You can delete only your own posts.")
		case deleted != nil:
			return nil
		}
		now := s.o.Now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE ap_objects SET deleted_at = $2 WHERE uri = $1`, objectURI, now); err != nil {
			return err
		}
		extra := t.Mentions
		if t.InReplyTo != "" {
			parent, err := decrement(ctx, tx, "reply_count", t.InReplyTo)
			if err != nil {
				return err
			}
			if parent != "" && parent != me.ID {
				extra = append(extra, parent)
			}
		}
		to, cc := addressing(me.ID, t.Visibility, extra)
		id := delivery.NewID(me.ID)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: me.ID, Type: "Delete", ObjectURI: objectURI,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Delete", "actor": me.ID,
				"to": to, "cc": cc,
				"object": map[string]any{"id": objectURI, "type": "Tombstone", "formerType": t.Type,
					"deleted": now.Format(time.RFC3339)}},
			// Listed as the Create was, so that the note's id answers 410 Gone.
			Listed: t.Visibility != Followers && t.Visibility != Direct, ToFollowers: true, Recipients: s.remote(extra),
		}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
DELETE FROM ap_notifications WHERE object_uri = $1 AND kind IN ('reply', 'mention') RETURNING user_id`, objectURI)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		*notified = append(*notified, ids...)
		return err
	})
}

// boostAddressing is a boost's audience: public, cc the post's author and
// the booster's followers.
func boostAddressing(actorID, author string) (to, cc []string) {
	return []string{activitypub.Public}, append(nonEmpty(author), activitypub.FollowersID(actorID))
}

// decrement lowers a counter of object uri (never below zero) and returns
// the object's actor ("" when we no longer hold the object).
func decrement(ctx context.Context, tx pgx.Tx, column, uri string) (string, error) {
	var actor string
	err := tx.QueryRow(ctx, `UPDATE ap_objects SET `+column+` = greatest(`+column+` - 1, 0) WHERE uri = $1 RETURNING actor`, uri).Scan(&actor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return actor, err
}

// tellAuthor notifies the local author of a post of me's like or boost.
func (s *Store) tellAuthor(ctx context.Context, tx pgx.Tx, notified *[]uuid.UUID, me Actor, author, kind, objectURI, activityID string) error {
	uid, ok, err := s.localUserID(ctx, tx, author)
	if err != nil || !ok || uid == me.UserID {
		return err
	}
	added, err := notify(ctx, tx, uid, kind, me.ID, objectURI, activityID)
	if added {
		*notified = append(*notified, uid)
	}
	return err
}

// withdraw removes the notifications an activity caused.
func withdraw(ctx context.Context, tx pgx.Tx, notified *[]uuid.UUID, activityID, kind string) error {
	rows, err := tx.Query(ctx, `DELETE FROM ap_notifications WHERE activity_uri = $1 AND kind = $2 RETURNING user_id`, activityID, kind)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	*notified = append(*notified, ids...)
	return err
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}
