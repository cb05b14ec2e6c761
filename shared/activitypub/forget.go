package activitypub

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub/delivery"
)

// A local user's actor that is deleted with their account: its followers
// are told (a Delete of the actor, signed as the actor, Mastodon's way),
// then forgotten here, in the account deletion's transaction.

// LocalFollowers returns, in tx, the remote actors that follow the local
// actor actorID (accepted follows of actors not gone). Errors: the
// database's.
func LocalFollowers(ctx context.Context, tx pgx.Tx, actorID string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT f.actor_uri FROM ap_followers f JOIN ap_actors a ON a.uri = f.actor_uri
		WHERE f.local_actor = $1 AND f.state = 'accepted' AND a.gone_at IS NULL
		ORDER BY f.actor_uri`, actorID)
	if err != nil {
		return nil, fmt.Errorf("activitypub: followers of %s: %w", actorID, err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("activitypub: followers of %s: %w", actorID, err)
	}
	return list, nil
}

// DeleteLocalActor emits, in tx, the Delete of the local actor actorID
// (object: the actor itself, to the public, delivered to each of
// followers, which LocalFollowers read in tx before) and forgets its
// follows both ways here: who followed it, and its follows of other local
// actors. The delivery job runs once tx commits; it signs as the actor
// with the site key, which stays. Errors: the database's, delivery.Emit's.
func DeleteLocalActor(ctx context.Context, tx pgx.Tx, jobs *river.Client[pgx.Tx], actorID string, followers []string) error {
	id := delivery.NewID(actorID)
	if _, err := delivery.Emit(ctx, tx, jobs, delivery.Activity{
		ID: id, Actor: actorID, Type: "Delete", ObjectURI: actorID,
		Payload: map[string]any{"@context": ContextURL, "id": id, "type": "Delete", "actor": actorID,
			"to": []string{Public}, "object": actorID},
		Recipients: followers,
	}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ap_followers WHERE local_actor = $1 OR actor_uri = $1`, actorID); err != nil {
		return fmt.Errorf("activitypub: forget the follows of %s: %w", actorID, err)
	}
	return nil
}
