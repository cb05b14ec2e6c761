package activitypub

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Deletes: of a post, which the hub drops (Hooks.ObjectDeleted); of an
// actor by itself, which is marked gone here, loses its follows of our
// actors here, and everything else it had in the hub (Hooks.ActorDeleted).

// The SQL of an actor that deleted itself.
const (
	actorGoneQuery      = `UPDATE ap_actors SET gone_at = coalesce(gone_at, now()) WHERE uri = $1`
	forgetFollowerQuery = `DELETE FROM ap_followers WHERE actor_uri = $1`
)

// onDelete handles actor's Delete of objID: itself, or one of its posts.
// A Delete that overtook its Create (handled by another replica's batch,
// or delivered out of order) may leave a tombstone, so the Create arriving
// later is not shown; only for objects under the actor's own id
// (Mastodon's and GoToSocial's), so nobody can bury another's future post.
func (s *Service) onDelete(ctx context.Context, tx pgx.Tx, actor, objID string) error {
	if objID == actor {
		return s.onActorDelete(ctx, tx, actor)
	}
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.ObjectDeleted(ctx, tx, actor, objID, strings.HasPrefix(objID, strings.TrimRight(actor, "/")+"/"))
}

// onActorDelete forgets an actor that deleted itself: its follows both
// ways, and its posts.
func (s *Service) onActorDelete(ctx context.Context, tx pgx.Tx, actor string) error {
	for _, q := range []string{actorGoneQuery, forgetFollowerQuery} {
		if _, err := tx.Exec(ctx, q, actor); err != nil {
			return err
		}
	}
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.ActorDeleted(ctx, tx, actor)
}
