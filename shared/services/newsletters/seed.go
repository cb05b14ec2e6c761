package newsletters

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file writes lists, subscribers and subscriptions in bulk for tests
// and benchmarks (COPY), without the consent log a real subscription
// leaves. Features never call it.

// SeedList creates a list for a test or benchmark and returns its id.
func SeedList(ctx context.Context, db *pgxpool.Pool, slug, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.QueryRow(ctx, `INSERT INTO newsletter_lists (slug, name, double_opt_in) VALUES ($1, $2, false) RETURNING id`, slug, name).Scan(&id)
	if err != nil {
		return id, fmt.Errorf("newsletters: seed list: %w", err)
	}
	return id, nil
}

// SeedSubscribers creates one subscriber per address (lower-case, not
// yet present) with COPY and returns their ids in the same order.
func SeedSubscribers(ctx context.Context, db *pgxpool.Pool, emails []string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, len(emails))
	rows := make([][]any, len(emails))
	for i, e := range emails {
		ids[i] = uuid.New()
		rows[i] = []any{ids[i], e}
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"newsletter_subscribers"}, []string{"id", "email"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("newsletters: seed subscribers: %w", err)
	}
	return ids, nil
}

// SeedSubscriptions subscribes each of subscribers to list with status
// ("confirmed", "unconfirmed" or "unsubscribed") with COPY.
func SeedSubscriptions(ctx context.Context, db *pgxpool.Pool, list uuid.UUID, subscribers []uuid.UUID, status string) error {
	now := time.Now()
	rows := make([][]any, len(subscribers))
	for i, s := range subscribers {
		var confirmed *time.Time
		if status == "confirmed" {
			confirmed = &now
		}
		rows[i] = []any{s, list, status, confirmed}
	}
	_, err := db.CopyFrom(ctx, pgx.Identifier{"newsletter_subscriptions"}, []string{"subscriber_id", "list_id", "status", "confirmed_at"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("newsletters: seed subscriptions: %w", err)
	}
	return nil
}

// SeedUnsubscribe ends subscriber's subscription to list and logs the
// consent, as an unsubscribe link would (for tests of what senders do
// with it).
func SeedUnsubscribe(ctx context.Context, db *pgxpool.Pool, subscriber, list uuid.UUID) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE newsletter_subscriptions SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now()
WHERE subscriber_id = $1 AND list_id = $2`, subscriber, list); err != nil {
			return fmt.Errorf("newsletters: seed unsubscribe: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO newsletter_consents (subscriber_id, list_id, action, source) VALUES ($1, $2, 'unsubscribe', 'seed')`, subscriber, list); err != nil {
			return fmt.Errorf("newsletters: seed unsubscribe: %w", err)
		}
		return nil
	})
}

// SeedSuppression suppresses email (reason "manual").
func SeedSuppression(ctx context.Context, db *pgxpool.Pool, email string) error {
	if _, err := db.Exec(ctx, `INSERT INTO newsletter_suppressions (email, reason) VALUES ($1, 'manual') ON CONFLICT DO NOTHING`, email); err != nil {
		return fmt.Errorf("newsletters: seed suppression: %w", err)
	}
	return nil
}
