package newsletters

// This file is what the admins' suppression page needs: the suppressed
// addresses with their bounce counts, the addresses that bounced without
// being suppressed yet, adding one by hand and taking one off.

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Reasons an address is suppressed (newsletter_suppressions.reason).
const (
	ReasonHardBounce  = "hard_bounce"
	ReasonComplaint   = "complaint"
	ReasonSoftBounces = "soft_bounces"
	ReasonManual      = "manual"
)

// BounceCounts are an address's bounces and complaints by kind, and the
// latest of them.
type BounceCounts struct {
	Hard       int
	Soft       int
	Complaints int
	LastAt     *time.Time
}

// Suppression is an address no newsletter goes to, and why.
type Suppression struct {
	Email     string
	Reason    string
	Detail    string
	CreatedAt time.Time
	Bounces   BounceCounts
}

// SuppressionPage is a page of the suppression list and how many match.
type SuppressionPage struct {
	Rows    []Suppression
	Total   int
	Page    int
	PerPage int
}

// Pages returns how many pages the matching addresses fill (at least 1).
func (p SuppressionPage) Pages() int {
	if p.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

const bounceCountsSQL = `(SELECT count(*) FILTER (WHERE kind = 'hard')::int AS hard,
  count(*) FILTER (WHERE kind = 'soft')::int AS soft,
  count(*) FILTER (WHERE kind = 'complaint')::int AS complaints, max(received_at) AS last_at
  FROM newsletter_bounces b WHERE b.email = x.email)`

const (
	countSuppressionsSQL = `SELECT count(*) FROM newsletter_suppressions x WHERE $1 = '' OR x.email LIKE $1`
	suppressionsSQL      = `SELECT x.email, x.reason, x.detail, x.created_at, bc.hard, bc.soft, bc.complaints, bc.last_at
FROM newsletter_suppressions x CROSS JOIN LATERAL ` + bounceCountsSQL + ` bc
WHERE $1 = '' OR x.email LIKE $1 ORDER BY x.created_at DESC, x.email LIMIT $2 OFFSET $3`
)

func scanSuppression(row pgx.CollectableRow) (Suppression, error) {
	var x Suppression
	err := row.Scan(&x.Email, &x.Reason, &x.Detail, &x.CreatedAt, &x.Bounces.Hard, &x.Bounces.Soft, &x.Bounces.Complaints, &x.Bounces.LastAt)
	return x, err
}

// Suppressions returns a page (from 1, perPage 50 when 0 or less) of the
// suppressed addresses containing search (all when empty), the latest
// first, each with its bounce counts. Errors: only the database's.
func (s *Store) Suppressions(ctx context.Context, search string, page, perPage int) (SuppressionPage, error) {
	if page < 1 {
		page = 1
	}
	if perPage <= 0 {
		perPage = 50
	}
	pattern := ""
	if search = strings.ToLower(strings.TrimSpace(search)); search != "" {
		pattern = likePattern(clip(search, 254))
	}
	p := SuppressionPage{Page: page, PerPage: perPage, Rows: []Suppression{}}
	if err := s.db.QueryRow(ctx, countSuppressionsSQL, pattern).Scan(&p.Total); err != nil {
		return SuppressionPage{}, fmt.Errorf("newsletters: count suppressions: %w", err)
	}
	rows, _ := s.db.Query(ctx, suppressionsSQL, pattern, perPage, (page-1)*perPage)
	got, err := pgx.CollectRows(rows, scanSuppression)
	if err != nil {
		return SuppressionPage{}, fmt.Errorf("newsletters: read suppressions: %w", err)
	}
	p.Rows = append(p.Rows, got...)
	return p, nil
}

// Bounced is an address that bounced but is not suppressed (soft bounces
// under the limit).
type Bounced struct {
	Email   string
	Bounces BounceCounts
}

const bouncedSQL = `SELECT email, count(*) FILTER (WHERE kind = 'hard')::int, count(*) FILTER (WHERE kind = 'soft')::int,
  count(*) FILTER (WHERE kind = 'complaint')::int, max(received_at)
FROM newsletter_bounces b
WHERE NOT EXISTS (SELECT 1 FROM newsletter_suppressions x WHERE x.email = b.email)
GROUP BY email ORDER BY max(received_at) DESC, email LIMIT $1`

// BouncedNotSuppressed returns up to limit addresses that bounced and are
// still mailed, the latest bounce first. Errors: only the database's.
func (s *Store) BouncedNotSuppressed(ctx context.Context, limit int) ([]Bounced, error) {
	rows, _ := s.db.Query(ctx, bouncedSQL, limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Bounced, error) {
		var b Bounced
		err := row.Scan(&b.Email, &b.Bounces.Hard, &b.Bounces.Soft, &b.Bounces.Complaints, &b.Bounces.LastAt)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("newsletters: read bounced addresses: %w", err)
	}
	return out, nil
}

// suppressionAddress checks an address an admin typed: one plain address,
// lower-cased. Unlike NormalizeAddress it accepts disposable mailboxes:
// suppressing one is no harm.
func suppressionAddress(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", models.Errorf(models.EInvalid, "Please enter the email address to suppress.")
	}
	a, err := netmail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || len(email) > 254 || strings.ContainsAny(email, " \t\r\n,;<>\"") {
		return "", models.Errorf(models.EInvalid, "Please enter one email address, like name@example.org.")
	}
	return email, nil
}

const (
	addSuppressionSQL = `INSERT INTO newsletter_suppressions (email, reason, detail) VALUES ($1, 'manual', $2)
ON CONFLICT (email) DO NOTHING RETURNING created_at`
	suppressionSQL = `SELECT x.email, x.reason, x.detail, x.created_at, bc.hard, bc.soft, bc.complaints, bc.last_at
FROM newsletter_suppressions x CROSS JOIN LATERAL ` + bounceCountsSQL + ` bc WHERE x.email = $1`
)

// AddSuppression is an admin putting email on the suppression list
// (reason manual, with their note as detail): no newsletter goes to it
// from now on, its subscriptions are kept, and Subscribe refuses it. It
// returns the suppression and whether it is new; an address suppressed
// already keeps its reason. Errors: EInvalid (with a sentence).
func (s *Store) AddSuppression(ctx context.Context, email, detail string) (Suppression, bool, error) {
	email, err := suppressionAddress(email)
	if err != nil {
		return Suppression{}, false, err
	}
	detail = strings.TrimSpace(detail)
	if utf8.RuneCountInString(detail) > 2000 {
		return Suppression{}, false, models.Errorf(models.EInvalid, "The note is too long: at most 2000 characters.")
	}
	var added bool
	var x Suppression
	err = s.inTx(ctx, "add suppression", func(tx pgx.Tx) error {
		var at time.Time
		err := tx.QueryRow(ctx, addSuppressionSQL, email, detail).Scan(&at)
		added = err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, _ := tx.Query(ctx, suppressionSQL, email)
		x, err = pgx.CollectExactlyOneRow(rows, scanSuppression)
		return err
	})
	if err != nil {
		return Suppression{}, false, err
	}
	return x, added, nil
}

// SuppressionOf returns the suppression of email. Errors: ENotFound.
func (s *Store) SuppressionOf(ctx context.Context, email string) (Suppression, error) {
	rows, _ := s.db.Query(ctx, suppressionSQL, strings.ToLower(strings.TrimSpace(email)))
	x, err := pgx.CollectExactlyOneRow(rows, scanSuppression)
	if errors.Is(err, pgx.ErrNoRows) {
		return Suppression{}, models.Errorf(models.ENotFound, "That address is not on the suppression list.")
	}
	if err != nil {
		return Suppression{}, fmt.Errorf("newsletters: read suppression: %w", err)
	}
	return x, nil
}

const removeSuppressionSQL = `DELETE FROM newsletter_suppressions WHERE email = $1`

// RemoveSuppression takes email off the suppression list: newsletters go
// to it again, to each list it is still subscribed to (its confirmed
// subscriptions get the next campaign), and it may subscribe again. Its
// bounces are kept, so soft bounces already at the limit suppress it
// again at the next one. Errors: ENotFound.
func (s *Store) RemoveSuppression(ctx context.Context, email string) error {
	tag, err := s.db.Exec(ctx, removeSuppressionSQL, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return fmt.Errorf("newsletters: remove suppression: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "That address is not on the suppression list.")
	}
	return nil
}
