package newsletters

// This file is what the admins' pages of lists and subscribers need: the
// lists with their counts, a list's subscribers a page at a time (and all
// of them for the CSV export), adding and removing an address by hand,
// and deleting a list only when no campaign is going out to it.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// ListCounts is a list with how many subscriptions it has in each state.
type ListCounts struct {
	List
	Confirmed    int
	Unconfirmed  int
	Unsubscribed int
}

const listCountsSQL = `SELECT l.id, l.slug, l.name, l.description, l.public, l.double_opt_in, l.created_at, l.updated_at,
  count(n.list_id) FILTER (WHERE n.status = 'confirmed'),
  count(n.list_id) FILTER (WHERE n.status = 'unconfirmed'),
  count(n.list_id) FILTER (WHERE n.status = 'unsubscribed')
FROM newsletter_lists l LEFT JOIN newsletter_subscriptions n ON n.list_id = l.id
GROUP BY l.id ORDER BY l.created_at, lower(l.name), l.slug`

// ListsWithCounts returns every list, public and private, oldest first,
// with its confirmed, unconfirmed and unsubscribed counts (for admins).
// Errors: only the database's.
func (s *Store) ListsWithCounts(ctx context.Context) ([]ListCounts, error) {
	rows, _ := s.db.Query(ctx, listCountsSQL)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ListCounts, error) {
		var c ListCounts
		l := &c.List
		err := row.Scan(&l.ID, &l.Slug, &l.Name, &l.Description, &l.Public, &l.DoubleOptIn, &l.CreatedAt, &l.UpdatedAt,
			&c.Confirmed, &c.Unconfirmed, &c.Unsubscribed)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("newsletters: read list counts: %w", err)
	}
	return out, nil
}

// ListCampaign is a campaign that names a list.
type ListCampaign struct {
	ID      uuid.UUID
	Subject string
	Status  string
}

// InFlight reports whether the campaign is going out (scheduled, sending
// or paused): its list cannot be deleted under it.
func (c ListCampaign) InFlight() bool {
	return c.Status == "scheduled" || c.Status == "sending" || c.Status == "paused"
}

const listCampaignsSQL = `SELECT c.id, c.subject, c.status FROM newsletter_campaign_lists cl
JOIN newsletter_campaigns c ON c.id = cl.campaign_id WHERE cl.list_id = $1 ORDER BY c.created_at DESC`

// ListCampaigns returns the campaigns that name the list, newest first:
// what deleting it would touch (the migration cascades: a draft loses the
// list, a sent campaign loses its recipient rows through it). Errors: only
// the database's.
func (s *Store) ListCampaigns(ctx context.Context, listID uuid.UUID) ([]ListCampaign, error) {
	rows, _ := s.db.Query(ctx, listCampaignsSQL, listID)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ListCampaign])
	if err != nil {
		return nil, fmt.Errorf("newsletters: read list's campaigns: %w", err)
	}
	return out, nil
}

const (
	lockListSQL          = `SELECT name FROM newsletter_lists WHERE id = $1 FOR UPDATE`
	inFlightCampaignsSQL = `SELECT c.subject FROM newsletter_campaign_lists cl
JOIN newsletter_campaigns c ON c.id = cl.campaign_id
WHERE cl.list_id = $1 AND c.status IN ('scheduled', 'sending', 'paused') ORDER BY c.created_at LIMIT 1`
)

// DeleteListUnlessSending deletes the list with its subscriptions and
// their consent log, as DeleteList does, but refuses while a campaign is
// scheduled, sending or paused to it: the foreign keys would cascade and
// silently take its recipients out of the sending. Drafts lose the list;
// sent and cancelled campaigns lose their recipient rows through it.
// Errors: ENotFound, EConflict naming the campaign.
func (s *Store) DeleteListUnlessSending(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, "delete list", func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, lockListSQL, id).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "There is no such newsletter.")
		}
		if err != nil {
			return err
		}
		var subject string
		err = tx.QueryRow(ctx, inFlightCampaignsSQL, id).Scan(&subject)
		if err == nil {
			return models.Errorf(models.EConflict, "The campaign %q is going out to %s: cancel it, or wait until it has been sent, before deleting the list.", subject, name)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, deleteListSQL, id)
		return err
	})
}

// SubscriberQuery picks a page of a list's subscribers.
type SubscriberQuery struct {
	// Search keeps the addresses that contain it (case-insensitive).
	Search string
	// Status keeps one state (StatusConfirmed...); "" keeps all.
	Status string
	// Page counts from 1; PerPage is 50 when 0 or less.
	Page    int
	PerPage int
}

func (q *SubscriberQuery) normalize() error {
	q.Search = strings.ToLower(strings.TrimSpace(q.Search))
	if len(q.Search) > 254 {
		q.Search = q.Search[:254]
	}
	switch q.Status {
	case "", StatusConfirmed, StatusUnconfirmed, StatusUnsubscribed:
	default:
		return models.Errorf(models.EInvalid, "Choose confirmed, unconfirmed or unsubscribed, or any state.")
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	return nil
}

// likePattern is s as a LIKE pattern matching any text that contains it.
func likePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// SubscriberRow is one subscription of a list, for the admins' table and
// export.
type SubscriberRow struct {
	SubscriberID uuid.UUID
	Email        string
	Status       string
	// Since is when the subscription took its state (confirmed,
	// unsubscribed, or asked for when unconfirmed).
	Since          time.Time
	CreatedAt      time.Time
	ConfirmedAt    *time.Time
	UnsubscribedAt *time.Time
	// LastAction, LastSource and LastAt are the subscription's latest
	// consent log row ("" and nil when it has none, e.g. imported).
	LastAction string
	LastSource string
	LastAt     *time.Time
	// Bounces counts the address's bounces and complaints; Suppressed says
	// it is on the suppression list.
	Bounces    int
	Suppressed bool
}

// SubscriberPage is one page of a list's subscribers and how many match.
type SubscriberPage struct {
	Rows    []SubscriberRow
	Total   int
	Page    int
	PerPage int
}

// Pages returns how many pages the matching subscribers fill (at least 1).
func (p SubscriberPage) Pages() int {
	if p.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.PerPage - 1) / p.PerPage
}

const (
	countSubscribersSQL = `SELECT count(*) FROM newsletter_subscriptions n
JOIN newsletter_subscribers s ON s.id = n.subscriber_id
WHERE n.list_id = $1 AND ($2 = '' OR n.status = $2) AND ($3 = '' OR s.email LIKE $3)`
	// subscriberRowsSQL: each subscription with the latest row of its
	// consent log, the address's bounces and whether it is suppressed.
	subscriberRowsSQL = `SELECT s.id, s.email, n.status,
  COALESCE(CASE n.status WHEN 'confirmed' THEN n.confirmed_at WHEN 'unsubscribed' THEN n.unsubscribed_at
    ELSE n.confirm_sent_at END, n.updated_at) AS since,
  n.created_at, n.confirmed_at, n.unsubscribed_at,
  COALESCE(c.action, ''), COALESCE(c.source, ''), c.at,
  (SELECT count(*) FROM newsletter_bounces b WHERE b.email = s.email)::int,
  EXISTS (SELECT 1 FROM newsletter_suppressions x WHERE x.email = s.email)
FROM newsletter_subscriptions n JOIN newsletter_subscribers s ON s.id = n.subscriber_id
LEFT JOIN LATERAL (SELECT action, source, at FROM newsletter_consents c
  WHERE c.subscriber_id = n.subscriber_id AND c.list_id = n.list_id ORDER BY at DESC, id DESC LIMIT 1) c ON true
WHERE n.list_id = $1 AND ($2 = '' OR n.status = $2) AND ($3 = '' OR s.email LIKE $3)`
	subscriberPageSQL   = subscriberRowsSQL + ` ORDER BY since DESC, s.email LIMIT $4 OFFSET $5`
	subscriberExportSQL = subscriberRowsSQL + ` ORDER BY s.email`
)

func scanSubscriberRow(row pgx.CollectableRow) (SubscriberRow, error) {
	var r SubscriberRow
	err := row.Scan(&r.SubscriberID, &r.Email, &r.Status, &r.Since, &r.CreatedAt, &r.ConfirmedAt, &r.UnsubscribedAt,
		&r.LastAction, &r.LastSource, &r.LastAt, &r.Bounces, &r.Suppressed)
	return r, err
}

func (q SubscriberQuery) pattern() string {
	if q.Search == "" {
		return ""
	}
	return likePattern(q.Search)
}

// Subscribers returns a page of the list's subscriptions matching q, the
// most recent change first. Errors: EInvalid for an unknown state.
func (s *Store) Subscribers(ctx context.Context, listID uuid.UUID, q SubscriberQuery) (SubscriberPage, error) {
	if err := q.normalize(); err != nil {
		return SubscriberPage{}, err
	}
	p := SubscriberPage{Page: q.Page, PerPage: q.PerPage, Rows: []SubscriberRow{}}
	if err := s.db.QueryRow(ctx, countSubscribersSQL, listID, q.Status, q.pattern()).Scan(&p.Total); err != nil {
		return SubscriberPage{}, fmt.Errorf("newsletters: count subscribers: %w", err)
	}
	rows, _ := s.db.Query(ctx, subscriberPageSQL, listID, q.Status, q.pattern(), q.PerPage, (q.Page-1)*q.PerPage)
	got, err := pgx.CollectRows(rows, scanSubscriberRow)
	if err != nil {
		return SubscriberPage{}, fmt.Errorf("newsletters: read subscribers: %w", err)
	}
	p.Rows = append(p.Rows, got...)
	return p, nil
}

// EachSubscriber calls fn with every subscription of the list matching q
// (its page ignored), by address, reading them as it goes (an export of a
// large list is not held in memory). It stops at fn's first error and
// returns it. Errors: EInvalid for an unknown state.
func (s *Store) EachSubscriber(ctx context.Context, listID uuid.UUID, q SubscriberQuery, fn func(SubscriberRow) error) error {
	if err := q.normalize(); err != nil {
		return err
	}
	rows, err := s.db.Query(ctx, subscriberExportSQL, listID, q.Status, q.pattern())
	if err != nil {
		return fmt.Errorf("newsletters: export subscribers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanSubscriberRow(rows)
		if err != nil {
			return fmt.Errorf("newsletters: export subscribers: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("newsletters: export subscribers: %w", err)
	}
	return nil
}

// Consent log actions of an admin's changes.
const (
	ActionAdminAdd    = "admin_add"
	ActionAdminRemove = "admin_remove"
)

const lastConsentSQL = `SELECT action FROM newsletter_consents WHERE subscriber_id = $1 AND list_id = $2
ORDER BY at DESC, id DESC LIMIT 1`

// AddSubscriber is an admin adding email to a list by hand, public or
// private, logged as admin_add with c. As listmonk does by default (its
// "preconfirm" left off): on a single opt-in list the subscription is
// confirmed at once and the welcome message queued; on a double opt-in
// list it waits for the address to confirm, and the confirmation mail is
// queued (at most one per ConfirmResendInterval). An address that is
// subscribed already is left as it is. An address that unsubscribed
// itself is refused: only its owner may subscribe again (one an admin
// removed may be added back). The result's Outcome says which happened.
// Errors: EInvalid (the address, with a sentence), ENotFound (no such
// list), EConflict wrapping ErrSuppressed, EConflict (unsubscribed).
func (s *Store) AddSubscriber(ctx context.Context, listID uuid.UUID, email string, c Consent) (SubscribeResult, error) {
	if strings.TrimSpace(email) == "" {
		return SubscribeResult{}, models.Errorf(models.EInvalid, "Please enter the email address to add.")
	}
	email, err := NormalizeAddress(email)
	if err != nil {
		return SubscribeResult{}, err
	}
	list, err := s.ListByID(ctx, listID)
	if err != nil {
		return SubscribeResult{}, err
	}
	if s.jobs == nil {
		return SubscribeResult{}, errors.New("newsletters: add subscriber: the store has no job queue")
	}
	res := SubscribeResult{List: list, Email: email}
	err = s.inTx(ctx, "add subscriber", func(tx pgx.Tx) error {
		var suppressed bool
		if err := tx.QueryRow(ctx, suppressedSQL, email).Scan(&suppressed); err != nil {
			return err
		}
		if suppressed {
			return models.Wrap(models.EConflict, "This address is on the suppression list: newsletters are not sent to it. Remove it from the suppression list first if that was a mistake.", ErrSuppressed)
		}
		if err := tx.QueryRow(ctx, upsertSubscriberSQL, email, nil).Scan(&res.SubscriberID); err != nil {
			return err
		}
		var (
			status      string
			confirmSent *time.Time
			welcomeSent *time.Time
			exists      = true
		)
		err := tx.QueryRow(ctx, lockSubscriptionSQL, res.SubscriberID, list.ID).Scan(&status, &confirmSent, &welcomeSent)
		if errors.Is(err, pgx.ErrNoRows) {
			exists = false
		} else if err != nil {
			return err
		}
		if exists && status == StatusConfirmed {
			res.Outcome = AlreadySubscribed
			return nil
		}
		if exists && status == StatusUnsubscribed {
			var last string
			if err := tx.QueryRow(ctx, lastConsentSQL, res.SubscriberID, list.ID).Scan(&last); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if last != ActionAdminRemove {
				return models.Errorf(models.EConflict, "%s unsubscribed from %s: only they can subscribe again.", email, list.Name)
			}
		}
		if list.DoubleOptIn {
			if exists && status == StatusUnconfirmed && confirmSent != nil && s.now().Sub(*confirmSent) < ConfirmResendInterval {
				res.Outcome = ConfirmationPending
				return nil
			}
			var at time.Time
			if err := tx.QueryRow(ctx, setUnconfirmedSQL, res.SubscriberID, list.ID).Scan(&at); err != nil {
				return err
			}
			if err := s.logConsent(ctx, tx, res.SubscriberID, list.ID, ActionAdminAdd, c); err != nil {
				return err
			}
			res.Outcome = ConfirmationSent
			return s.queueMail(ctx, tx, MailArgs{Mail: MailConfirm, SubscriberID: res.SubscriberID, ListID: list.ID, RequestedAt: at})
		}
		var welcome bool
		if err := tx.QueryRow(ctx, setConfirmedSQL, res.SubscriberID, list.ID).Scan(&welcome); err != nil {
			return err
		}
		if err := s.logConsent(ctx, tx, res.SubscriberID, list.ID, ActionAdminAdd, c); err != nil {
			return err
		}
		res.Outcome = Subscribed
		if !welcome {
			return nil
		}
		return s.queueMail(ctx, tx, MailArgs{Mail: MailWelcome, SubscriberID: res.SubscriberID, ListID: list.ID})
	})
	if err != nil {
		return SubscribeResult{}, err
	}
	return res, nil
}

const adminRemoveSQL = `UPDATE newsletter_subscriptions SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now()
WHERE subscriber_id = $1 AND list_id = $2 AND status <> 'unsubscribed'
RETURNING (SELECT email FROM newsletter_subscribers WHERE id = $1)`

// RemoveSubscriber is an admin taking a subscriber off a list: the
// subscription ends (kept as unsubscribed, with its history), logged as
// admin_remove with c, and nothing more is sent to it from the list. It
// returns the address, or "" when the subscription had ended already
// (nothing changes). Errors: ENotFound (no such subscription).
func (s *Store) RemoveSubscriber(ctx context.Context, listID, subscriberID uuid.UUID, c Consent) (string, error) {
	var email string
	err := s.inTx(ctx, "remove subscriber", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, adminRemoveSQL, subscriberID, listID).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			var status string
			err = tx.QueryRow(ctx, lockSubscriptionSQL, subscriberID, listID).Scan(&status, new(*time.Time), new(*time.Time))
			if errors.Is(err, pgx.ErrNoRows) {
				return models.Errorf(models.ENotFound, "That address is not on this list.")
			}
			return err
		}
		if err != nil {
			return err
		}
		return s.logConsent(ctx, tx, subscriberID, listID, ActionAdminRemove, c)
	})
	return email, err
}
