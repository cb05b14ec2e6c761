package social

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
)

// ForgetUser erases, in tx, what the hub holds of a local user whose
// account is being deleted, as actor actorID: each of their posts not
// deleted yet is deleted as Delete does it (a Delete with a Tombstone,
// delivered to followers, the remote actors that follow them, read
// before their follows go, and to the post's remote mentions), and every
// post of theirs keeps only its id, type and dates (the tombstone its id
// answers with); their likes, boosts, follows of remote actors and
// notifications are deleted. Counters of the posts they liked or boosted
// are left as they are. Errors: the database's, delivery.Emit's.
func (s *Store) ForgetUser(ctx context.Context, tx pgx.Tx, userID uuid.UUID, actorID string, followers []string, now time.Time) error {
	rows, err := tx.Query(ctx, `
SELECT o.uri, o.type, o.visibility,
       coalesce((SELECT array_agg(m->>'href') FROM jsonb_array_elements(CASE jsonb_typeof(o.tags) WHEN 'array' THEN o.tags ELSE '[]' END) m
                 WHERE m->>'type' = 'Mention' AND m->>'href' IS NOT NULL), '{}')
FROM ap_objects o WHERE o.user_id = $1 AND o.deleted_at IS NULL
ORDER BY o.published`, userID)
	if err != nil {
		return fmt.Errorf("social: posts of a deleted user: %w", err)
	}
	type post struct {
		uri, typ, visibility string
		mentions             []string
	}
	posts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (post, error) {
		var p post
		err := r.Scan(&p.uri, &p.typ, &p.visibility, &p.mentions)
		return p, err
	})
	if err != nil {
		return fmt.Errorf("social: posts of a deleted user: %w", err)
	}
	for _, p := range posts {
		to, cc := addressing(actorID, p.visibility, p.mentions)
		id := delivery.NewID(actorID)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: id, Actor: actorID, Type: "Delete", ObjectURI: p.uri,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": id, "type": "Delete", "actor": actorID,
				"to": to, "cc": cc,
				"object": map[string]any{"id": p.uri, "type": "Tombstone", "formerType": p.typ,
					"deleted": now.UTC().Format(time.RFC3339)}},
			Listed:     p.visibility != Followers && p.visibility != Direct,
			Recipients: s.remote(append(append([]string{}, followers...), p.mentions...)),
		}); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `
UPDATE ap_objects SET deleted_at = coalesce(deleted_at, $2), name = '', summary = '', content = '', url = '',
       attachments = '[]', tags = '[]', sensitive = false
WHERE user_id = $1`, userID, now); err != nil {
		return fmt.Errorf("social: tombstone the posts of a deleted user: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ap_notifications WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("social: notifications of a deleted user: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM ap_likes WHERE actor = $1`,
		`DELETE FROM ap_announces WHERE actor = $1`,
		`DELETE FROM ap_following WHERE local_actor = $1`,
	} {
		if _, err := tx.Exec(ctx, q, actorID); err != nil {
			return fmt.Errorf("social: forget a deleted user: %w", err)
		}
	}
	return nil
}
