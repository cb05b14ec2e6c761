package activitypub

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/postgres"
)

// MaxBackfill bounds how many outbox items Backfill looks at: the first
// page of a Mastodon or GoToSocial outbox holds 20.
const MaxBackfill = 20

// Backfill fetches the first page of actor a's outbox (signed GETs through
// the SSRF-safe client, on a's own host only) and stores the public and
// unlisted posts a wrote among its first limit items (at most MaxBackfill),
// as if they had been delivered, so that a newcomer who follows a sees
// what a has said. Posts already held are left as they are; a post the
// same page deletes is skipped; boosts and objects given by reference are
// skipped (each would cost another fetch); nobody is notified of posts
// that old. It returns how many posts it stored. Errors: those of Fetch
// (ErrNotFound, ErrGone, ErrUnreachable), and database errors.
func (s *Service) Backfill(ctx context.Context, a RemoteActor, limit int) (int, error) {
	if limit <= 0 || limit > MaxBackfill {
		limit = MaxBackfill
	}
	if a.Outbox == "" || !sameHost(a.Outbox, a.URI) {
		return 0, nil
	}
	outbox, err := s.Resolver.Fetch(ctx, a.Outbox)
	if err != nil {
		return 0, fmt.Errorf("activitypub: the outbox of %s: %w", a.URI, err)
	}
	items := asList(outbox["orderedItems"])
	if len(items) == 0 {
		items = asList(outbox["items"])
	}
	if len(items) == 0 {
		switch first := outbox["first"].(type) {
		case map[string]any: // the first page embedded
			items = append(asList(first["orderedItems"]), asList(first["items"])...)
		case string:
			if !sameHost(first, a.URI) {
				return 0, nil
			}
			page, err := s.Resolver.Fetch(ctx, first)
			if err != nil {
				return 0, fmt.Errorf("activitypub: the outbox of %s: %w", a.URI, err)
			}
			items = append(asList(page["orderedItems"]), asList(page["items"])...)
		}
	}
	if len(items) > limit {
		items = items[:limit]
	}
	// Newest first: the first word on an object is its latest.
	seen := map[string]bool{}
	var posts []map[string]any
	var activities []map[string]any
	for _, it := range items {
		act, ok := it.(map[string]any)
		if !ok || idOf(act["actor"]) != a.URI {
			continue
		}
		typ := str(act["type"])
		objID := idOf(act["object"])
		if objID == "" || seen[objID] {
			continue
		}
		seen[objID] = true
		obj, embedded := act["object"].(map[string]any)
		if (typ != "Create" && typ != "Update") || !embedded || !objectTypes[str(obj["type"])] {
			continue // a Delete hides what came before it; the rest costs fetches
		}
		if author := idOf(firstOf(obj["attributedTo"])); author != a.URI || !sameHost(objID, a.URI) {
			continue
		}
		if audience := append(asStrings(obj["to"]), asStrings(obj["cc"])...); len(audience) == 0 {
			audience = append(asStrings(act["to"]), asStrings(act["cc"])...)
			if !contains(audience, Public, "as:Public", "Public") {
				continue
			}
		} else if !contains(audience, Public, "as:Public", "Public") {
			continue // followers-only and direct posts are not for everyone who follows
		}
		posts = append(posts, obj)
		activities = append(activities, act)
	}
	stored := 0
	err = postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		stored = 0
		for i, obj := range posts {
			added, err := s.storeObject(ctx, tx, "Create", a.URI, obj, activities[i], false)
			if err != nil {
				return err
			}
			if added {
				stored++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("activitypub: store the posts of %s: %w", a.URI, err)
	}
	return stored, nil
}
