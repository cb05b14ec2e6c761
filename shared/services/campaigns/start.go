package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/models"
)

const sqlMarkSending = `
UPDATE newsletter_campaigns SET status = 'sending', status_note = '', started_at = now(),
    version = version + 1, updated_at = now()
WHERE id = $1 AND status IN ('draft', 'scheduled') AND ($2 = 0 OR version = $2)
RETURNING id`

// sqlSnapshot makes one recipient row per confirmed, unsuppressed
// subscriber of the campaign's lists, each address once, reached through
// the first of its lists by name.
const sqlSnapshot = `
INSERT INTO newsletter_campaign_recipients (campaign_id, subscriber_id, list_id)
SELECT DISTINCT ON (s.subscriber_id) $1::uuid, s.subscriber_id, s.list_id
FROM newsletter_subscriptions s
JOIN newsletter_lists l ON l.id = s.list_id
JOIN newsletter_subscribers sub ON sub.id = s.subscriber_id
WHERE s.list_id IN (SELECT list_id FROM newsletter_campaign_lists WHERE campaign_id = $1)
  AND s.status = 'confirmed'
  AND NOT EXISTS (SELECT 1 FROM newsletter_suppressions x WHERE x.email = sub.email)
ORDER BY s.subscriber_id, l.name, l.slug, l.id`

// Start starts sending campaign id now: in one transaction it snapshots
// its recipients, marks it sending and queues its SendArgs job on jobs.
// version, when not 0, must be the campaign's (the form's). Errors:
// ENotFound; EConflict when it has already started or version is stale;
// EInvalid when its lists have nobody to send to.
func (s *Store) Start(ctx context.Context, jobs *river.Client[pgx.Tx], id uuid.UUID, version int) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error { return startTx(ctx, tx, jobs, id, version) })
}

func startTx(ctx context.Context, tx pgx.Tx, jobs *river.Client[pgx.Tx], id uuid.UUID, version int) error {
	err := tx.QueryRow(ctx, sqlMarkSending, id, version).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return stateError(ctx, tx, id, "It has already started.")
	}
	if err != nil {
		return fmt.Errorf("campaigns: start: %w", err)
	}
	tag, err := tx.Exec(ctx, sqlSnapshot, id)
	if err != nil {
		return fmt.Errorf("campaigns: start: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.EInvalid, "Nobody would receive it: its lists have no confirmed subscribers.")
	}
	if _, err := jobs.InsertTx(ctx, tx, SendArgs{CampaignID: id}, nil); err != nil {
		return fmt.Errorf("campaigns: start: queue the sending: %w", err)
	}
	return nil
}

// stateError explains why a state change did not apply to campaign id.
func stateError(ctx context.Context, tx pgx.Tx, id uuid.UUID, started string) error {
	var status string
	var v int
	err := tx.QueryRow(ctx, sqlState, id).Scan(&status, &v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return models.Errorf(models.ENotFound, "There is no such campaign.")
	case err != nil:
		return fmt.Errorf("campaigns: %w", err)
	case status == StatusDraft || status == StatusScheduled:
		return models.Wrap(models.EConflict, "Someone else changed this campaign after you opened it: reload it and try again.", ErrStale)
	}
	return models.Errorf(models.EConflict, "%s", started)
}

// Schedule sets campaign id to start at at (which must be in the future).
// Errors: EInvalid for a time past, ENotFound, EConflict (started, or a
// stale version).
func (s *Store) Schedule(ctx context.Context, id uuid.UUID, at time.Time, version int) error {
	if !at.After(time.Now()) {
		return models.Errorf(models.EInvalid, "Choose a time in the future to send it.")
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE newsletter_campaigns SET status = 'scheduled', scheduled_at = $2, version = version + 1, updated_at = now()
WHERE id = $1 AND status IN ('draft', 'scheduled') AND version = $3`, id, at, version)
		if err != nil {
			return fmt.Errorf("campaigns: schedule: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return stateError(ctx, tx, id, "It has already started.")
		}
		return nil
	})
}

// Unschedule takes a scheduled campaign back to draft. Errors as Schedule's.
func (s *Store) Unschedule(ctx context.Context, id uuid.UUID, version int) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE newsletter_campaigns SET status = 'draft', scheduled_at = NULL, version = version + 1, updated_at = now()
WHERE id = $1 AND status = 'scheduled' AND version = $2`, id, version)
		if err != nil {
			return fmt.Errorf("campaigns: unschedule: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return stateError(ctx, tx, id, "It has already started.")
		}
		return nil
	})
}

// StartDue starts every scheduled campaign whose time has come, each in
// its own transaction, and returns how many started. A campaign that
// cannot start (nobody to send to) goes back to draft with a note.
func (s *Store) StartDue(ctx context.Context, jobs *river.Client[pgx.Tx], now time.Time) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM newsletter_campaigns WHERE status = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at`, now)
	if err != nil {
		return 0, fmt.Errorf("campaigns: due: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("campaigns: due: %w", err)
	}
	started := 0
	var errs []error
	for _, id := range ids {
		err := s.Start(ctx, jobs, id, 0)
		switch models.Code(err) {
		case "":
			started++
		case models.EInvalid:
			_, err = s.db.Exec(ctx, `
UPDATE newsletter_campaigns SET status = 'draft', status_note = 'not sent at its time: its lists had no confirmed subscribers',
    version = version + 1, updated_at = now() WHERE id = $1 AND status = 'scheduled'`, id)
			errs = append(errs, err)
		case models.EConflict:
		default:
			errs = append(errs, err)
		}
	}
	return started, errors.Join(errs...)
}

// Pause stops sending campaign id after the messages in flight, until
// Resume. Errors: ENotFound, EConflict when it is not sending.
func (s *Store) Pause(ctx context.Context, id uuid.UUID) error {
	return s.transition(ctx, id, `
UPDATE newsletter_campaigns SET status = 'paused', status_note = $2, version = version + 1, updated_at = now()
WHERE id = $1 AND status = 'sending'`, "It is not sending.", NotePausedByAdmin)
}

// Cancel ends campaign id for good: what has not gone yet never goes.
// Errors: ENotFound, EConflict when it is a draft, sent or cancelled.
func (s *Store) Cancel(ctx context.Context, id uuid.UUID) error {
	return s.transition(ctx, id, `
UPDATE newsletter_campaigns SET status = 'cancelled', status_note = '', finished_at = now(), version = version + 1, updated_at = now()
WHERE id = $1 AND status IN ('scheduled', 'sending', 'paused')`, "Only a scheduled, sending or paused campaign can be cancelled.")
}

// Resume carries on sending a paused campaign (queuing its job on jobs).
// Errors: ENotFound, EConflict when it is not paused.
func (s *Store) Resume(ctx context.Context, jobs *river.Client[pgx.Tx], id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
UPDATE newsletter_campaigns SET status = 'sending', status_note = '', version = version + 1, updated_at = now()
WHERE id = $1 AND status = 'paused'`, id)
		if err != nil {
			return fmt.Errorf("campaigns: resume: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return stateError(ctx, tx, id, "It is not paused.")
		}
		if _, err := jobs.InsertTx(ctx, tx, SendArgs{CampaignID: id}, nil); err != nil {
			return fmt.Errorf("campaigns: resume: %w", err)
		}
		return nil
	})
}

func (s *Store) transition(ctx context.Context, id uuid.UUID, sql, refused string, args ...any) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, append([]any{id}, args...)...)
		if err != nil {
			return fmt.Errorf("campaigns: %w", err)
		}
		if tag.RowsAffected() == 0 {
			if err := stateError(ctx, tx, id, refused); models.Code(err) == models.EConflict {
				return models.Errorf(models.EConflict, "%s", refused)
			} else {
				return err
			}
		}
		return nil
	})
}
