package newsletters

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Kinds of bounce the relay reports (Bounce.Kind).
const (
	// BounceHard: the address does not exist; suppressed at once.
	BounceHard = "hard"
	// BounceSoft: a full mailbox, a server down; suppressed after
	// Store.SoftBounceLimit of them.
	BounceSoft = "soft"
	// BounceComplaint: the recipient marked a message as spam;
	// suppressed at once.
	BounceComplaint = "complaint"
)

// Bounce is one bounce or complaint the relay reported.
type Bounce struct {
	Email string
	Kind  string
	// CampaignID is the campaign whose message bounced, when known; an id
	// that names no campaign is recorded as unknown.
	CampaignID *uuid.UUID
	Detail     string
}

const suppressedSQL = `SELECT EXISTS (SELECT 1 FROM newsletter_suppressions WHERE email = lower(btrim($1)))`

// Suppressed reports whether email is on the suppression list (a hard
// bounce, a complaint, too many soft bounces, or an admin's decision): no
// newsletter goes to it. Errors: only the database's.
func (s *Store) Suppressed(ctx context.Context, email string) (bool, error) {
	var yes bool
	if err := s.db.QueryRow(ctx, suppressedSQL, email).Scan(&yes); err != nil {
		return false, fmt.Errorf("newsletters: read suppression: %w", err)
	}
	return yes, nil
}

const (
	insertBounceSQL = `INSERT INTO newsletter_bounces (email, kind, campaign_id, detail)
VALUES ($1, $2, (SELECT id FROM newsletter_campaigns WHERE id = $3), $4)`
	softBouncesSQL = `SELECT count(*) FROM newsletter_bounces WHERE email = $1 AND kind = 'soft'`
	suppressSQL    = `INSERT INTO newsletter_suppressions (email, reason, detail) VALUES ($1, $2, $3)
ON CONFLICT (email) DO NOTHING`
)

// RecordBounce records b and suppresses its address when it should be: at
// once for a hard bounce or a complaint, at the Store.SoftBounceLimit-th
// soft bounce. It returns whether the address is suppressed afterwards.
// Errors: EInvalid for an address that is not one, or an unknown kind.
func (s *Store) RecordBounce(ctx context.Context, b Bounce) (bool, error) {
	email := strings.ToLower(strings.TrimSpace(b.Email))
	if email == "" || len(email) > 254 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \r\n<>,") {
		return false, models.Errorf(models.EInvalid, "The bounce has no valid email address.")
	}
	kind := strings.ToLower(strings.TrimSpace(b.Kind))
	if kind != BounceHard && kind != BounceSoft && kind != BounceComplaint {
		return false, models.Errorf(models.EInvalid, "The bounce's type must be hard, soft or complaint.")
	}
	detail := b.Detail
	for utf8.RuneCountInString(detail) > 2000 {
		detail = string([]rune(detail)[:2000])
	}
	var suppressed bool
	err := s.inTx(ctx, "record bounce", func(tx pgx.Tx) error {
		// One address's bounces are counted one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('newsletter_bounce:' || $1))`, email); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insertBounceSQL, email, kind, b.CampaignID, detail); err != nil {
			return err
		}
		reason := ""
		switch kind {
		case BounceHard:
			reason = "hard_bounce"
		case BounceComplaint:
			reason = "complaint"
		default:
			var n int
			if err := tx.QueryRow(ctx, softBouncesSQL, email).Scan(&n); err != nil {
				return err
			}
			if n >= s.softLimit() {
				reason = "soft_bounces"
			}
		}
		if reason != "" {
			if _, err := tx.Exec(ctx, suppressSQL, email, reason, detail); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, suppressedSQL, email).Scan(&suppressed)
	})
	return suppressed, err
}

// Suppress puts email on the suppression list by an admin's decision
// (reason manual). Errors: EInvalid for an empty address.
func (s *Store) Suppress(ctx context.Context, email, detail string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return models.Errorf(models.EInvalid, "Please give an email address.")
	}
	if _, err := s.db.Exec(ctx, suppressSQL, email, "manual", detail); err != nil {
		return fmt.Errorf("newsletters: suppress: %w", err)
	}
	return nil
}
