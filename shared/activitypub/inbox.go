package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tidwall/gjson"

	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/activitypub/signature"
	"rose-ash.com/platform/shared/postgres"
)

// inbox receives an activity for one of this host's actors (or, at the
// shared inbox, for any of them). The order matters: cheap checks first,
// Deletes from actors we never knew dropped before any network I/O, then
// the signature (which may fetch the key). A verified activity is stored
// as it came, deduplicated by id, and answered 202 once committed; the
// service's processor handles it afterwards (process.go), as Mastodon,
// GoToSocial and Misskey do, so a burst of deliveries costs each sender
// one verification and a share of a commit.
//
// Answers: 202 accepted (also for duplicates and types we ignore), 400 for
// a body that is not an activity (do not retry), 401 for a bad signature,
// 413 for a body over 1 MB.
func (s *Service) inbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Unsigned requests are refused before anything.
	if r.Header.Get("Signature") == "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Signature ") {
		inboxError(w, http.StatusUnauthorized, "the request is not signed (HTTP Signatures)")
		return
	}
	if name := chi.URLParam(r, "name"); name != "" {
		if _, err := s.local(ctx, name); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			inboxError(w, http.StatusRequestEntityTooLarge, "the body is over 1 MB")
			return
		}
		inboxError(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	env, ok := readEnvelope(body)
	if !ok {
		inboxError(w, http.StatusBadRequest, "the body is not JSON")
		return
	}
	actor := env.Actor
	if env.ID == "" || env.Type == "" || actor == "" || hostOf(actor) == "" {
		inboxError(w, http.StatusBadRequest, "an activity needs an id, a type and an actor")
		return
	}
	if env.Type == "Delete" {
		known, err := s.knows(ctx, actor)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !known {
			w.WriteHeader(http.StatusAccepted) // nothing of theirs to delete
			return
		}
	}
	owner, err := s.verify(r, body)
	if err != nil {
		// The operator's only view of why a peer cannot talk to us (the
		// peer's own logs may say no more than "401").
		keyID, _ := signature.KeyIDOf(r)
		s.Logger.WarnContext(ctx, "inbox: signature refused", "actor", actor, "type", env.Type, "key_id", keyID, "reason", err.Error())
		inboxError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if owner != actor {
		s.Logger.WarnContext(ctx, "inbox: signature refused", "actor", actor, "type", env.Type, "key_owner", owner,
			"reason", "the signing key belongs to another actor than the activity's")
		inboxError(w, http.StatusUnauthorized, "the signature is not the activity's actor's")
		return
	}
	if err := s.inboxBatches().accept(ctx, arrival{id: env.ID, typ: env.Type, actor: actor, payload: body}); err != nil {
		if errors.Is(err, errBadActivity) {
			inboxError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// envelope is what the inbox reads of an activity before storing it; the
// rest is read when it is handled. The processor takes id, type and actor
// from what was read here (the stored columns), never again from the body,
// so a body that names its actor twice cannot be verified as one actor and
// handled as another.
type envelope struct {
	ID, Type, Actor string
}

// readEnvelope reads the envelope of a JSON body; ok is false when the
// body is not JSON. The actor may be given as an id or as an object.
func readEnvelope(body []byte) (envelope, bool) {
	if !gjson.ValidBytes(body) {
		return envelope{}, false
	}
	r := gjson.GetManyBytes(body, "id", "type", "actor")
	env := envelope{ID: stringOf(r[0]), Type: stringOf(r[1]), Actor: stringOf(r[2])}
	if r[2].IsObject() {
		env.Actor = stringOf(r[2].Get("id"))
	}
	return env, true
}

// stringOf is r's value when it is a JSON string.
func stringOf(r gjson.Result) string {
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}

// readBody reads the request's body, at most MaxBody, into a buffer sized
// by Content-Length when that is given.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	if r.ContentLength <= 0 || r.ContentLength > MaxBody {
		return io.ReadAll(body)
	}
	buf := bytes.NewBuffer(make([]byte, 0, r.ContentLength+1))
	_, err := buf.ReadFrom(body)
	return buf.Bytes(), err
}

func inboxError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": http.StatusText(status), "detail": msg})
}

// knows reports whether actor is in ap_actors.
func (s *Service) knows(ctx context.Context, actor string) (bool, error) {
	var ok bool
	err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ap_actors WHERE uri = $1)`, actor).Scan(&ok)
	return ok, err
}

// verify checks the request's HTTP signature and returns the actor that
// owns the key. A signature that fails with a cached key is tried once more
// with the key fetched again, in case the actor changed keys.
func (s *Service) verify(r *http.Request, body []byte) (string, error) {
	var owner string
	lookup := func(fresh bool) signature.KeyLookup {
		return func(ctx context.Context, keyID string) (crypto.PublicKey, error) {
			k, o, err := s.Resolver.PublicKey(ctx, keyID, fresh)
			owner = o
			return k, err
		}
	}
	_, err := signature.Verify(r, body, s.now(), lookup(false))
	if err != nil && errors.Is(err, signature.ErrBadSignature) && !errors.Is(err, signature.ErrKeyNotFound) && signedWithKey(err) {
		_, err = signature.Verify(r, body, s.now(), lookup(true))
	}
	return owner, err
}

// signedWithKey reports whether a verification failed on the signature
// itself (so a fresh key might help) rather than on the headers.
func signedWithKey(err error) bool {
	return strings.Contains(err.Error(), "does not verify")
}

// errBadActivity marks activities that are malformed (400, do not retry).
var errBadActivity = errors.New("bad activity")

// handleAll is the built-in handling of a newly recorded activity, then
// the service's hooks. fromOrigin says the activity's object was fetched
// from its own server (see embed).
func (s *Service) handleAll(ctx context.Context, tx pgx.Tx, act map[string]any, fromOrigin bool) error {
	if err := s.handle(ctx, tx, act, fromOrigin); err != nil {
		return err
	}
	if s.Hooks != nil {
		return s.Hooks.Received(ctx, tx, act)
	}
	return nil
}

// embed makes sure the actor is known and that the object of a Create,
// Update or Announce can be believed: an object given by URI is fetched
// from its server; so is an embedded one that its sender cannot vouch for
// (a Create of an object attributed to someone else, as Mobilizon sends a
// group's events; a boost of a post on another server). fromOrigin
// reports that the object now in act came from its own server.
func (s *Service) embed(ctx context.Context, act map[string]any) (fromOrigin bool, err error) {
	actor := idOf(act["actor"])
	if seen, ok := s.actorsSeen.Load(actor); !ok || time.Since(seen.(time.Time)) > time.Minute {
		if _, err := s.Resolver.Actor(ctx, actor); err != nil && !errors.Is(err, ErrGone) {
			return false, fmt.Errorf("%w: actor %s: %v", errBadActivity, actor, err)
		}
		s.actorsSeen.Store(actor, time.Now())
	}
	typ := str(act["type"])
	if typ != "Create" && typ != "Update" && typ != "Announce" {
		return false, nil
	}
	uri := idOf(act["object"])
	if m, embedded := act["object"].(map[string]any); embedded {
		if !objectTypes[str(m["type"])] {
			return false, nil
		}
		author := idOf(firstOf(m["attributedTo"]))
		switch {
		case typ != "Announce" && (author == "" || author == actor):
			return false, nil // the sender's own object
		case typ == "Announce" && sameHost(uri, actor):
			return false, nil // boosting a post of its own server
		}
	}
	if uri == "" {
		return false, nil
	}
	if typ == "Announce" {
		var have bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ap_objects WHERE uri = $1)`, uri).Scan(&have); err != nil {
			return false, err
		}
		if have || sameHost(uri, s.BaseURL) || strings.HasPrefix(uri, "/") {
			act["object"] = uri // ours or known: the boost alone is news
			return false, nil
		}
	}
	obj, err := s.Resolver.Fetch(ctx, uri)
	if err != nil {
		if typ == "Announce" {
			act["object"] = uri // the boost is kept; the object may come later
			return false, nil
		}
		return false, fmt.Errorf("%w: object %s: %v", errBadActivity, uri, err)
	}
	act["object"] = obj
	// Its author (a group, the booster's friend) is named in the hub.
	if author := idOf(firstOf(obj["attributedTo"])); author != "" && author != actor && sameHost(author, uri) {
		if _, err := s.Resolver.Actor(ctx, author); err != nil {
			s.Logger.DebugContext(ctx, "inbox: the author of a fetched object", "author", author, "error", err)
		}
	}
	return true, nil
}

// objectTypes are the objects the hub stores.
var objectTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Event": true, "Question": true}

// actorTypes are the types of actor documents.
var actorTypes = map[string]bool{"Person": true, "Service": true, "Group": true, "Organization": true, "Application": true}

// handle applies one activity; fromOrigin says its object was fetched
// from its own server, and so may be attributed to another than the
// activity's actor.
func (s *Service) handle(ctx context.Context, tx pgx.Tx, act map[string]any, fromOrigin bool) error {
	typ, actor := str(act["type"]), idOf(act["actor"])
	obj := act["object"]
	objID := idOf(obj)
	switch typ {
	case "Follow":
		return s.onFollow(ctx, tx, act, actor, objID)
	case "Accept", "Reject":
		return onFollowAnswer(ctx, tx, typ, actor, obj)
	case "Undo":
		return onUndo(ctx, tx, actor, obj)
	case "Create", "Update":
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		if actorTypes[str(m["type"])] && typ == "Update" {
			return s.onActorUpdate(ctx, actor, m)
		}
		if !objectTypes[str(m["type"])] {
			return nil
		}
		author := actor
		if attributed := idOf(firstOf(m["attributedTo"])); attributed != "" && attributed != actor {
			if !fromOrigin {
				return fmt.Errorf("%w: %s sent an object attributed to %s", errBadActivity, actor, attributed)
			}
			author = attributed // as its own server says
		}
		if !sameHost(str(m["id"]), author) {
			return fmt.Errorf("%w: object %s is not on its author's host", errBadActivity, str(m["id"]))
		}
		_, err := s.storeObject(ctx, tx, typ, author, m, act, true)
		return err
	case "Delete":
		if objID == actor {
			return onActorDelete(ctx, tx, actor)
		}
		held, err := deleteObjects(ctx, tx, `uri = $1 AND actor = $2`, objID, actor)
		if err != nil || held || !strings.HasPrefix(objID, strings.TrimRight(actor, "/")+"/") {
			return err
		}
		// A Delete that overtook its Create (handled by another replica's
		// batch, or delivered out of order) leaves a tombstone, so the
		// Create arriving later is not shown. Only for objects under the
		// actor's own id (Mastodon's and GoToSocial's), so nobody can bury
		// another's future post.
		_, err = tx.Exec(ctx, `INSERT INTO ap_objects (uri, type, actor, deleted_at) VALUES ($1, 'Tombstone', $2, now())
			ON CONFLICT (uri) DO NOTHING`, objID, actor)
		return err
	case "Like":
		return onLike(ctx, tx, str(act["id"]), actor, objID)
	case "Announce":
		if m, ok := obj.(map[string]any); ok && objectTypes[str(m["type"])] && (fromOrigin || sameHost(objID, actor)) {
			author := idOf(firstOf(m["attributedTo"]))
			if author != "" && sameHost(str(m["id"]), author) {
				if _, err := s.storeObject(ctx, tx, "Create", author, m, nil, true); err != nil {
					return err
				}
			}
		}
		return onAnnounce(ctx, tx, act, actor, objID)
	}
	return nil // other types are accepted and ignored
}

// onFollow records a follower of one of our actors and answers with an
// Accept that embeds the Follow (Misskey ignores a bare reference); a
// locked actor's follower waits as pending, and its user is asked.
func (s *Service) onFollow(ctx context.Context, tx pgx.Tx, act map[string]any, actor, target string) error {
	local, err := s.localByID(ctx, target)
	if err != nil {
		return nil // not one of ours on this host: ignored
	}
	state := "accepted"
	if local.Locked {
		state = "pending"
	}
	// A follower already accepted stays so (a repeated Follow is answered
	// again: the first Accept may have been lost).
	if err := tx.QueryRow(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (local_actor, actor_uri) DO UPDATE SET follow_uri = EXCLUDED.follow_uri,
		       state = CASE WHEN ap_followers.state = 'accepted' THEN 'accepted' ELSE EXCLUDED.state END
		RETURNING state`, local.ID, actor, str(act["id"]), state).Scan(&state); err != nil {
		return err
	}
	if local.UserID != nil {
		kind := "follow"
		if state == "pending" {
			kind = "follow_request"
		}
		if err := notifyText(ctx, tx, local.UserID.String(), kind, actor, "", str(act["id"])); err != nil {
			return err
		}
	}
	if state == "pending" {
		return nil
	}
	return s.answerFollow(ctx, tx, local.ID, actor, str(act["id"]), "Accept")
}

// answerFollow emits an Accept or Reject of the Follow followID by actor
// of our actor localID, embedding the Follow.
func (s *Service) answerFollow(ctx context.Context, tx pgx.Tx, localID, actor, followID, typ string) error {
	follow := map[string]any{"id": followID, "type": "Follow", "actor": actor, "object": localID}
	answer := delivery.Activity{
		ID: delivery.NewID(localID), Actor: localID, Type: typ, ObjectURI: followID,
		Payload:    map[string]any{"@context": ContextURL, "type": typ, "actor": localID, "object": follow, "to": []any{actor}},
		Recipients: []string{actor},
	}
	_, err := delivery.Emit(ctx, tx, s.Jobs, answer)
	return err
}

// ErrNoFollowRequest is AnswerFollowRequest's error when there is no
// pending request from that actor.
var ErrNoFollowRequest = errors.New("activitypub: no such follow request")

// AnswerFollowRequest accepts (or rejects) actor's pending request to
// follow the user's actor localID: the follower is kept (or forgotten) and
// the Accept (or Reject) is sent, in one transaction.
func (s *Service) AnswerFollowRequest(ctx context.Context, localID, actor string, accept bool) error {
	return postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var followID string
		var err error
		if accept {
			err = tx.QueryRow(ctx, `UPDATE ap_followers SET state = 'accepted' WHERE local_actor = $1 AND actor_uri = $2 AND state = 'pending'
				RETURNING follow_uri`, localID, actor).Scan(&followID)
		} else {
			err = tx.QueryRow(ctx, `DELETE FROM ap_followers WHERE local_actor = $1 AND actor_uri = $2 AND state = 'pending'
				RETURNING follow_uri`, localID, actor).Scan(&followID)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoFollowRequest
		}
		if err != nil {
			return err
		}
		// The request's notification has been acted on.
		if _, err := tx.Exec(ctx, `UPDATE ap_notifications SET read_at = coalesce(read_at, now())
			WHERE kind = 'follow_request' AND activity_uri = $1`, followID); err != nil {
			return err
		}
		typ := "Reject"
		if accept {
			typ = "Accept"
		}
		return s.answerFollow(ctx, tx, localID, actor, followID, typ)
	})
}

func onFollowAnswer(ctx context.Context, tx pgx.Tx, typ, actor string, obj any) error {
	state := "accepted"
	if typ == "Reject" {
		state = "rejected"
	}
	followID := idOf(obj)
	if m, ok := obj.(map[string]any); ok && str(m["type"]) != "" && str(m["type"]) != "Follow" {
		return nil
	}
	// By the Follow's id, or (peers that send a bare or id-less Follow) by
	// the pair of actors.
	tag, err := tx.Exec(ctx, `UPDATE ap_following SET state = $3 WHERE actor_uri = $1 AND follow_uri = $2`, actor, followID, state)
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	if m, ok := obj.(map[string]any); ok {
		_, err = tx.Exec(ctx, `UPDATE ap_following SET state = $3 WHERE actor_uri = $1 AND local_actor = $2`,
			actor, idOf(m["actor"]), state)
	}
	return err
}

func onUndo(ctx context.Context, tx pgx.Tx, actor string, obj any) error {
	inner, _ := obj.(map[string]any)
	innerID := idOf(obj)
	innerType := str(inner["type"])
	switch {
	case innerType == "Follow" || innerType == "":
		tag, err := tx.Exec(ctx, `DELETE FROM ap_followers WHERE actor_uri = $1 AND follow_uri = $2`, actor, innerID)
		if err != nil || tag.RowsAffected() > 0 || inner == nil {
			if err == nil && innerType == "" {
				return undoReaction(ctx, tx, actor, innerID, "")
			}
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM ap_followers WHERE actor_uri = $1 AND local_actor = $2`, actor, idOf(inner["object"]))
		return err
	case innerType == "Like" || innerType == "Announce":
		return undoReaction(ctx, tx, actor, innerID, idOf(inner["object"]))
	}
	return nil
}

// undoReaction removes a like or boost by its id (or by actor and object).
func undoReaction(ctx context.Context, tx pgx.Tx, actor, id, object string) error {
	for _, t := range []struct{ table, counter string }{{"ap_likes", "like_count"}, {"ap_announces", "announce_count"}} {
		var obj string
		err := tx.QueryRow(ctx, `DELETE FROM `+t.table+` WHERE actor = $1 AND (uri = $2 OR object_uri = $3) RETURNING object_uri`,
			actor, id, object).Scan(&obj)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE ap_objects SET `+t.counter+` = greatest(`+t.counter+` - 1, 0) WHERE uri = $1`, obj)
		return err
	}
	return nil
}

func onLike(ctx context.Context, tx pgx.Tx, id, actor, object string) error {
	tag, err := tx.Exec(ctx, `INSERT INTO ap_likes (uri, actor, object_uri) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, actor, object)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	var owner *string
	err = tx.QueryRow(ctx, `UPDATE ap_objects SET like_count = like_count + 1 WHERE uri = $1 RETURNING user_id::text`, object).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || owner == nil {
		return nil
	}
	if err != nil {
		return err
	}
	return notifyText(ctx, tx, *owner, "like", actor, object, id)
}

func onAnnounce(ctx context.Context, tx pgx.Tx, act map[string]any, actor, object string) error {
	published := parseTime(str(act["published"]))
	id := str(act["id"])
	tag, err := tx.Exec(ctx, `INSERT INTO ap_announces (uri, actor, object_uri, published) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		id, actor, object, published)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	var owner *string
	err = tx.QueryRow(ctx, `UPDATE ap_objects SET announce_count = announce_count + 1 WHERE uri = $1 RETURNING user_id::text`, object).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || owner == nil {
		return nil
	}
	if err != nil {
		return err
	}
	return notifyText(ctx, tx, *owner, "announce", actor, object, id)
}

func (s *Service) onActorUpdate(ctx context.Context, actor string, doc map[string]any) error {
	if str(doc["id"]) != actor {
		return fmt.Errorf("%w: %s may only update itself", errBadActivity, actor)
	}
	a, err := ParseActor(doc)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadActivity, err)
	}
	return s.Resolver.Store(ctx, a)
}

// onActorDelete forgets an actor that deleted itself: its follows both
// ways, and its posts.
func onActorDelete(ctx context.Context, tx pgx.Tx, actor string) error {
	for _, q := range []string{
		`UPDATE ap_actors SET gone_at = coalesce(gone_at, now()) WHERE uri = $1`,
		`DELETE FROM ap_followers WHERE actor_uri = $1`,
		`DELETE FROM ap_following WHERE actor_uri = $1`,
		`DELETE FROM ap_announces WHERE actor = $1`,
		`DELETE FROM ap_likes WHERE actor = $1`,
	} {
		if _, err := tx.Exec(ctx, q, actor); err != nil {
			return err
		}
	}
	_, err := deleteObjects(ctx, tx, `actor = $1`, actor)
	return err
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

// storeObject keeps a Note, Article, Page, Event or Question for the hub,
// sanitized, and (when notify is set) notifies the local users it replies
// to or mentions. It reports whether the object was new.
func (s *Service) storeObject(ctx context.Context, tx pgx.Tx, typ, actor string, m map[string]any, act map[string]any, notify bool) (bool, error) {
	id := str(m["id"])
	to, cc := asStrings(m["to"]), asStrings(m["cc"])
	if act != nil && len(to) == 0 && len(cc) == 0 {
		to, cc = asStrings(act["to"]), asStrings(act["cc"])
	}
	visibility := "direct"
	switch {
	case contains(to, Public, "as:Public", "Public"):
		visibility = "public"
	case contains(cc, Public, "as:Public", "Public"):
		visibility = "unlisted"
	case containsSuffix(append(to, cc...), "/followers"):
		visibility = "followers"
	}
	content := str(m["content"])
	if content == "" {
		if cm, ok := m["contentMap"].(map[string]any); ok {
			for _, v := range cm {
				content = str(v)
				break
			}
		}
	}
	if str(m["type"]) == "Event" {
		content = eventLine(m) + content
	}
	attachments := []any{}
	for _, a := range asList(m["attachment"]) {
		if am, ok := a.(map[string]any); ok {
			if u := firstURL(am["url"]); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
				attachments = append(attachments, map[string]any{"type": str(am["type"]), "mediaType": str(am["mediaType"]),
					"url": u, "name": str(am["name"])})
			}
		}
	}
	tags := []any{}
	var mentions []string
	for _, t := range asList(m["tag"]) {
		if tm, ok := t.(map[string]any); ok {
			tags = append(tags, map[string]any{"type": str(tm["type"]), "name": str(tm["name"]), "href": str(tm["href"])})
			if str(tm["type"]) == "Mention" {
				mentions = append(mentions, str(tm["href"]))
			}
		}
	}
	attJSON, _ := json.Marshal(attachments)
	tagJSON, _ := json.Marshal(tags)
	published := parseTime(str(m["published"]))
	sensitive, _ := m["sensitive"].(bool)
	inReplyTo := idOf(m["inReplyTo"])
	name := str(m["name"])
	if str(m["type"]) == "Question" {
		name = ""
	}
	var inserted bool
	err := tx.QueryRow(ctx, `
		INSERT INTO ap_objects (uri, type, actor, name, summary, content, url, in_reply_to, visibility, sensitive,
		                        attachments, tags, published)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (uri) DO UPDATE SET name = EXCLUDED.name, summary = EXCLUDED.summary, content = EXCLUDED.content,
		       url = EXCLUDED.url, sensitive = EXCLUDED.sensitive, attachments = EXCLUDED.attachments, tags = EXCLUDED.tags,
		       updated = now()
		WHERE ap_objects.actor = EXCLUDED.actor AND ap_objects.deleted_at IS NULL AND $14
		RETURNING (xmax = 0)`,
		id, str(m["type"]), actor, name, SanitizeHTML(str(m["summary"])), SanitizeHTML(content), firstURL(m["url"]),
		inReplyTo, visibility, sensitive, attJSON, tagJSON, published, typ == "Update").Scan(&inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // a Create for an object we have, or an Update of a deleted one
	}
	if err != nil || !inserted {
		return false, err
	}
	activityID := id
	if act != nil {
		activityID = str(act["id"])
	}
	// One notification per user: a reply that also mentions its parent's
	// author (as every reply from Mastodon or GoToSocial does) is a reply.
	told := map[string]bool{}
	if inReplyTo != "" {
		var owner *string
		err := tx.QueryRow(ctx, `UPDATE ap_objects SET reply_count = reply_count + 1 WHERE uri = $1 RETURNING user_id::text`,
			inReplyTo).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return true, err
		}
		if owner != nil && notify {
			told[*owner] = true
			if err := notifyText(ctx, tx, *owner, "reply", actor, id, activityID); err != nil {
				return true, err
			}
		}
	}
	if !notify {
		return true, nil
	}
	userPrefix := strings.TrimRight(s.FederationURL, "/") + "/users/"
	for _, href := range mentions {
		username, ok := strings.CutPrefix(href, userPrefix)
		if !ok || s.FederationURL == "" || username == "" || strings.ContainsAny(username, "/#?") {
			continue
		}
		var user string
		err := tx.QueryRow(ctx, `SELECT id::text FROM users WHERE username = $1`, username).Scan(&user)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return true, err
		}
		if told[user] {
			continue
		}
		told[user] = true
		if err := notifyText(ctx, tx, user, "mention", actor, id, activityID); err != nil {
			return true, err
		}
	}
	return true, nil
}

// eventLine says when and where an Event (Mobilizon's, say) happens, as
// a paragraph to put before its description; "" when it says neither.
func eventLine(m map[string]any) string {
	var parts []string
	if start, err := time.Parse(time.RFC3339, str(m["startTime"])); err == nil {
		when := start.UTC().Format("Mon 2 Jan 2006, 15:04")
		if end, err := time.Parse(time.RFC3339, str(m["endTime"])); err == nil && end.After(start) {
			if end.UTC().Format("2006-01-02") == start.UTC().Format("2006-01-02") {
				when += "–" + end.UTC().Format("15:04")
			} else {
				when += " – " + end.UTC().Format("Mon 2 Jan 2006, 15:04")
			}
		}
		parts = append(parts, when+" UTC")
	}
	if place, ok := m["location"].(map[string]any); ok {
		where := str(place["name"])
		if addr, ok := place["address"].(map[string]any); ok {
			for _, k := range []string{"streetAddress", "addressLocality"} {
				if v := strings.TrimSpace(str(addr[k])); v != "" && !strings.Contains(where, v) {
					where = strings.TrimPrefix(where+", "+v, ", ")
				}
			}
		}
		if where = strings.TrimSpace(where); where != "" {
			parts = append(parts, where)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "<p>" + html.EscapeString(strings.Join(parts, " · ")) + "</p>"
}

// notifyText records a notification for the local user with id userID
// (once per activity and kind).
func notifyText(ctx context.Context, tx pgx.Tx, userID, kind, actor, object, activity string) error {
	_, err := tx.Exec(ctx, `INSERT INTO ap_notifications (user_id, kind, actor, object_uri, activity_uri)
		VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, userID, kind, actor, object, activity)
	return err
}

func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.After(time.Now().Add(time.Hour)) {
				break
			}
			return t
		}
	}
	return time.Now()
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s := idOf(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(xs []string, want ...string) bool {
	for _, x := range xs {
		for _, w := range want {
			if x == w {
				return true
			}
		}
	}
	return false
}

func containsSuffix(xs []string, suffix string) bool {
	for _, x := range xs {
		if strings.HasSuffix(x, suffix) {
			return true
		}
	}
	return false
}

func firstOf(v any) any {
	l := asList(v)
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// SetLocked sets whether the user's actor approves its followers. Remote
// servers are sent the actor's Update; unlocking accepts every pending
// request, as Mastodon does.
func (s *Service) SetLocked(ctx context.Context, userID uuid.UUID, locked bool) error {
	var username string
	var was bool
	if err := s.DB.QueryRow(ctx, `SELECT username, fediverse_locked FROM users WHERE id = $1`, userID).Scan(&username, &was); err != nil {
		return err
	}
	if was == locked {
		return nil
	}
	return postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET fediverse_locked = $2 WHERE id = $1`, userID, locked); err != nil {
			return err
		}
		a, err := s.local(ctx, username)
		if err != nil {
			return err
		}
		a.Locked = locked
		update := delivery.Activity{ID: delivery.NewID(a.ID), Actor: a.ID, Type: "Update", ObjectURI: a.ID, ToFollowers: true,
			Payload: map[string]any{"@context": ContextURL, "type": "Update", "actor": a.ID, "object": s.document(a),
				"to": []any{Public}, "cc": []any{FollowersID(a.ID)}}}
		if _, err := delivery.Emit(ctx, tx, s.Jobs, update); err != nil {
			return err
		}
		if locked {
			return nil
		}
		rows, err := tx.Query(ctx, `UPDATE ap_followers SET state = 'accepted' WHERE local_actor = $1 AND state = 'pending'
			RETURNING actor_uri, follow_uri`, a.ID)
		if err != nil {
			return err
		}
		type request struct{ actor, follow string }
		requests, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (request, error) {
			var q request
			return q, r.Scan(&q.actor, &q.follow)
		})
		if err != nil {
			return err
		}
		for _, q := range requests {
			if err := s.answerFollow(ctx, tx, a.ID, q.actor, q.follow, "Accept"); err != nil {
				return err
			}
		}
		return nil
	})
}
