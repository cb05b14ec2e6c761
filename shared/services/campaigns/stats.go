package campaigns

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Stats are a campaign's figures.
type Stats struct {
	Total     int // recipients snapshotted
	Sent      int
	Failed    int
	Skipped   int
	Uncertain int
	Waiting   int // pending or in flight
	// Bounced counts addresses the relay reported bouncing this campaign.
	Bounced int
	// Unsubscribed counts its recipients who left one of its lists since
	// it started.
	Unsubscribed int
}

// Done is how many recipients have an outcome.
func (s Stats) Done() int { return s.Total - s.Waiting }

const sqlStats = `
SELECT count(*),
       count(*) FILTER (WHERE r.state = 'sent'),
       count(*) FILTER (WHERE r.state = 'failed'),
       count(*) FILTER (WHERE r.state = 'skipped'),
       count(*) FILTER (WHERE r.state = 'uncertain'),
       count(*) FILTER (WHERE r.state IN ('pending', 'sending')),
       (SELECT count(DISTINCT b.email) FROM newsletter_bounces b WHERE b.campaign_id = $1),
       (SELECT count(DISTINCT k.subscriber_id) FROM newsletter_consents k
        JOIN newsletter_campaigns c ON c.id = $1
        WHERE k.action = 'unsubscribe' AND c.started_at IS NOT NULL AND k.at >= c.started_at
          AND k.list_id IN (SELECT list_id FROM newsletter_campaign_lists WHERE campaign_id = $1)
          AND k.subscriber_id IN (SELECT subscriber_id FROM newsletter_campaign_recipients WHERE campaign_id = $1))
FROM newsletter_campaign_recipients r WHERE r.campaign_id = $1`

// Stats returns campaign id's figures (zero before it starts).
func (s *Store) Stats(ctx context.Context, id uuid.UUID) (Stats, error) {
	var st Stats
	err := s.db.QueryRow(ctx, sqlStats, id).Scan(&st.Total, &st.Sent, &st.Failed, &st.Skipped, &st.Uncertain,
		&st.Waiting, &st.Bounced, &st.Unsubscribed)
	if err != nil {
		return st, fmt.Errorf("campaigns: stats: %w", err)
	}
	return st, nil
}

// Summary is a campaign with its figures, for the campaign list.
type Summary struct {
	Campaign
	Stats
}

// All returns the newest 200 campaigns with their figures.
func (s *Store) All(ctx context.Context) ([]Summary, error) {
	rows, err := s.db.Query(ctx, `SELECT `+campaignColumns+` FROM newsletter_campaigns c ORDER BY c.created_at DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("campaigns: all: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("campaigns: all: %w", err)
	}
	out := make([]Summary, len(cs))
	for i, c := range cs {
		out[i].Campaign = c
		if c.StartedAt != nil {
			if out[i].Stats, err = s.Stats(ctx, c.ID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Archived returns the sent campaigns shown on the public archive, newest
// first.
func (s *Store) Archived(ctx context.Context) ([]Campaign, error) {
	rows, err := s.db.Query(ctx, `SELECT `+campaignColumns+` FROM newsletter_campaigns c
WHERE c.status = 'sent' AND c.archived ORDER BY c.finished_at DESC LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("campaigns: archive: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("campaigns: archive: %w", err)
	}
	return out, nil
}

// ArchivedBySlug returns the archived, sent campaign at slug. Errors:
// ENotFound (also for one not archived or not sent).
func (s *Store) ArchivedBySlug(ctx context.Context, slug string) (Campaign, error) {
	c, err := scanCampaign(s.db.QueryRow(ctx, `SELECT `+campaignColumns+` FROM newsletter_campaigns c
WHERE c.slug = $1 AND c.status = 'sent' AND c.archived`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, models.Errorf(models.ENotFound, "There is no such newsletter in the archive.")
	}
	if err != nil {
		return c, fmt.Errorf("campaigns: archive: %w", err)
	}
	return c, nil
}
