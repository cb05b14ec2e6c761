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

// Check returns b with its address and kind normalized, or an EInvalid
// error with a sentence: an address that is not one, an unknown kind.
func (b Bounce) Check() (Bounce, error) {
	b.Email = strings.ToLower(strings.TrimSpace(b.Email))
	if b.Email == "" || len(b.Email) > 254 || !strings.Contains(b.Email, "@") || strings.ContainsAny(b.Email, " \r\n<>,") {
		return b, models.Errorf(models.EInvalid, "The bounce has no valid email address.")
	}
	b.Kind = strings.ToLower(strings.TrimSpace(b.Kind))
	if b.Kind != BounceHard && b.Kind != BounceSoft && b.Kind != BounceComplaint {
		return b, models.Errorf(models.EInvalid, "The bounce's type must be hard, soft or complaint.")
	}
	for utf8.RuneCountInString(b.Detail) > 2000 {
		b.Detail = string([]rune(b.Detail)[:2000])
	}
	return b, nil
}

// RecordBounce records b and suppresses its address when it should be: at
// once for a hard bounce or a complaint, at the Store.SoftBounceLimit-th
// soft bounce. It returns whether the address is suppressed afterwards.
// Errors: EInvalid (Bounce.Check).
func (s *Store) RecordBounce(ctx context.Context, b Bounce) (bool, error) {
	got, err := s.RecordBounces(ctx, []Bounce{b})
	if err != nil {
		return false, err
	}
	return got[0], nil
}

// RecordBounces records several bounces in one transaction (all or none),
// as RecordBounce does, returning whether each address is suppressed
// afterwards. Errors: EInvalid for the first bounce that is not valid
// (nothing is recorded).
func (s *Store) RecordBounces(ctx context.Context, bs []Bounce) ([]bool, error) {
	checked := make([]Bounce, len(bs))
	for i, b := range bs {
		var err error
		if checked[i], err = b.Check(); err != nil {
			return nil, err
		}
	}
	out := make([]bool, len(bs))
	err := s.inTx(ctx, "record bounces", func(tx pgx.Tx) error {
		for i, b := range checked {
			var err error
			if out[i], err = s.recordBounce(ctx, tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) recordBounce(ctx context.Context, tx pgx.Tx, b Bounce) (bool, error) {
	// One address's bounces are counted one at a time.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('newsletter_bounce:' || $1))`, b.Email); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, insertBounceSQL, b.Email, b.Kind, b.CampaignID, b.Detail); err != nil {
		return false, err
	}
	reason := ""
	switch b.Kind {
	case BounceHard:
		reason = "hard_bounce"
	case BounceComplaint:
		reason = "complaint"
	default:
		var n int
		if err := tx.QueryRow(ctx, softBouncesSQL, b.Email).Scan(&n); err != nil {
			return false, err
		}
		if n >= s.softLimit() {
			reason = "soft_bounces"
		}
	}
	if reason != "" {
		if _, err := tx.Exec(ctx, suppressSQL, b.Email, reason, b.Detail); err != nil {
			return false, err
		}
	}
	var suppressed bool
	err := tx.QueryRow(ctx, suppressedSQL, b.Email).Scan(&suppressed)
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
