package activitypub

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/identity"
)

// Follows, both ways. Followers of our actors (ap_followers) are this
// package's: a Follow is recorded and answered here. Our follows of remote
// actors (ap_following) are the hub's: an Accept or Reject of one goes to
// the Hooks, as does the notification of a user who was followed.

// The SQL of followers of our actors.
const (
	// addFollowerQuery records a follower; one already accepted stays so
	// (a repeated Follow is answered again: the first Accept may have been
	// lost).
	addFollowerQuery = `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (local_actor, actor_uri) DO UPDATE SET follow_uri = EXCLUDED.follow_uri,
		       state = CASE WHEN ap_followers.state = 'accepted' THEN 'accepted' ELSE EXCLUDED.state END
		RETURNING state`
	acceptRequestQuery = `UPDATE ap_followers SET state = 'accepted' WHERE local_actor = $1 AND actor_uri = $2 AND state = 'pending'
		RETURNING follow_uri`
	rejectRequestQuery = `DELETE FROM ap_followers WHERE local_actor = $1 AND actor_uri = $2 AND state = 'pending'
		RETURNING follow_uri`
	acceptAllRequestsQuery = `UPDATE ap_followers SET state = 'accepted' WHERE local_actor = $1 AND state = 'pending'
		RETURNING actor_uri, follow_uri`
	removeFollowerByFollowQuery = `DELETE FROM ap_followers WHERE actor_uri = $1 AND follow_uri = $2`
	removeFollowerQuery         = `DELETE FROM ap_followers WHERE actor_uri = $1 AND local_actor = $2`
)

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
	if err := tx.QueryRow(ctx, addFollowerQuery, local.ID, actor, str(act["id"]), state).Scan(&state); err != nil {
		return err
	}
	if local.UserID != nil && s.Hooks != nil {
		if err := s.Hooks.Followed(ctx, tx, *local.UserID, actor, str(act["id"]), state == "pending"); err != nil {
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
// follow the user's actor localID: the follower is kept (or forgotten),
// the request's notification is read (Hooks) and the Accept (or Reject)
// is sent, in one transaction. Errors: ErrNoFollowRequest, the database's.
func (s *Service) AnswerFollowRequest(ctx context.Context, localID, actor string, accept bool) error {
	return postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		q, typ := rejectRequestQuery, "Reject"
		if accept {
			q, typ = acceptRequestQuery, "Accept"
		}
		var followID string
		err := tx.QueryRow(ctx, q, localID, actor).Scan(&followID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoFollowRequest
		}
		if err != nil {
			return err
		}
		if s.Hooks != nil {
			if err := s.Hooks.FollowRequestAnswered(ctx, tx, followID); err != nil {
				return err
			}
		}
		return s.answerFollow(ctx, tx, localID, actor, followID, typ)
	})
}

// onFollowAnswer hands an Accept or Reject of a Follow (by the Follow's
// id, or, from peers that send a bare or id-less Follow, by the pair of
// actors) to the hub, whose follows they answer.
func (s *Service) onFollowAnswer(ctx context.Context, tx pgx.Tx, typ, actor string, obj any) error {
	follower := ""
	if m, ok := obj.(map[string]any); ok {
		if str(m["type"]) != "" && str(m["type"]) != "Follow" {
			return nil
		}
		follower = idOf(m["actor"])
	}
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.FollowAnswered(ctx, tx, actor, idOf(obj), follower, typ == "Accept")
}

// onUndo takes back a Follow of one of our actors (here), or a Like or an
// Announce (the hub's). An Undo of a bare id may be any of them.
func (s *Service) onUndo(ctx context.Context, tx pgx.Tx, actor string, obj any) error {
	inner, _ := obj.(map[string]any)
	innerID := idOf(obj)
	innerType := str(inner["type"])
	switch {
	case innerType == "Follow" || innerType == "":
		tag, err := tx.Exec(ctx, removeFollowerByFollowQuery, actor, innerID)
		if err != nil || tag.RowsAffected() > 0 || inner == nil {
			if err == nil && innerType == "" {
				return s.undoReaction(ctx, tx, actor, innerID, "")
			}
			return err
		}
		_, err = tx.Exec(ctx, removeFollowerQuery, actor, idOf(inner["object"]))
		return err
	case innerType == "Like" || innerType == "Announce":
		return s.undoReaction(ctx, tx, actor, innerID, idOf(inner["object"]))
	}
	return nil
}

// SetLocked sets whether the user's actor approves its followers. Remote
// servers are sent the actor's Update; unlocking accepts every pending
// request, as Mastodon does. The user's row is identity's to change
// (identity.SetActorLocked), in this transaction. Errors: the database's,
// and identity's ENotFound.
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
		if err := identity.SetActorLocked(ctx, tx, userID, locked); err != nil {
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
		rows, err := tx.Query(ctx, acceptAllRequestsQuery, a.ID)
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
