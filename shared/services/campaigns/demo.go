package campaigns

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DemoCampaign is a campaign of the demo seed: Sent (at that time, and on
// the public archive) or, when Sent is zero, a draft an admin can send.
type DemoCampaign struct {
	Slug    string
	Subject string
	HTML    string
	ListIDs []uuid.UUID
	Sent    time.Time
}

// AddDemoCampaignIfMissing adds c in tx unless a campaign has its slug.
// Its HTML goes through the campaigns' policy and its text is derived
// from it, as a saved campaign's are. A sent one has no recipient rows:
// it was sent before the platform kept them. Errors: the database's.
func AddDemoCampaignIfMissing(ctx context.Context, tx pgx.Tx, c DemoCampaign) error {
	html := Policy().Sanitize(c.HTML)
	status, archived := StatusDraft, false
	var started, finished *time.Time
	if !c.Sent.IsZero() {
		status, archived = StatusSent, true
		started, finished = &c.Sent, &c.Sent
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, `
INSERT INTO newsletter_campaigns (subject, body_html, body_text, status, archived, slug, started_at, finished_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($7, now()), coalesce($8, now()))
ON CONFLICT (slug) DO NOTHING
RETURNING id`, c.Subject, html, HTMLToText(html), status, archived, c.Slug, started, finished).Scan(&id)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("campaigns: demo campaign %s: %w", c.Slug, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO newsletter_campaign_lists (campaign_id, list_id) SELECT $1, unnest($2::uuid[])`, id, c.ListIDs); err != nil {
		return fmt.Errorf("campaigns: demo campaign %s: %w", c.Slug, err)
	}
	return nil
}
