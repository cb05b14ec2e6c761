package newsletters

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

// ListState is a list with one person's state on it: StatusConfirmed,
// StatusUnconfirmed, StatusUnsubscribed, or "" for never subscribed.
type ListState struct {
	List   List
	Status string
}

// Subscribed reports whether the person receives the list's messages.
func (ls ListState) Subscribed() bool { return ls.Status == StatusConfirmed }

// listStatesSQL: the public lists and the private ones the person is on,
// each with the person's best state there. $1 a subscriber id, $2 a user
// id, $3 an address (each may match nothing).
const listStatesSQL = `WITH mine AS (
  SELECT n.list_id, n.status FROM newsletter_subscriptions n
  JOIN newsletter_subscribers s ON s.id = n.subscriber_id
  WHERE s.id = $1 OR s.user_id = $2 OR s.email = $3
), best AS (
  SELECT DISTINCT ON (list_id) list_id, status FROM mine
  ORDER BY list_id, CASE status WHEN 'confirmed' THEN 0 WHEN 'unconfirmed' THEN 1 ELSE 2 END
)
SELECT l.id, l.slug, l.name, l.description, l.public, l.double_opt_in, l.created_at, l.updated_at,
  COALESCE(b.status, '') AS status
FROM newsletter_lists l LEFT JOIN best b ON b.list_id = l.id
WHERE l.public OR b.status IN ('confirmed', 'unconfirmed')
ORDER BY l.created_at, lower(l.name), l.slug`

func (s *Store) listStates(ctx context.Context, q querier, subscriberID, userID uuid.UUID, email string) ([]ListState, error) {
	rows, err := q.Query(ctx, listStatesSQL, subscriberID, userID, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("newsletters: read list states: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ListState, error) {
		var ls ListState
		l := &ls.List
		err := row.Scan(&l.ID, &l.Slug, &l.Name, &l.Description, &l.Public, &l.DoubleOptIn, &l.CreatedAt, &l.UpdatedAt, &ls.Status)
		return ls, err
	})
	if err != nil {
		return nil, fmt.Errorf("newsletters: read list states: %w", err)
	}
	return out, nil
}

// MemberLists returns, for the member's dashboard, the public lists and the
// private ones the member is on, each with the member's state, found by
// their user id or their account address.
func (s *Store) MemberLists(ctx context.Context, userID uuid.UUID, email string) ([]ListState, error) {
	return s.listStates(ctx, s.db, uuid.Nil, userID, email)
}

// SubscribeMember subscribes a signed-in member with their account address
// (verified by signing in, so a double opt-in list needs no confirmation
// mail) to a public list, linking the subscriber to the member. Errors:
// Subscribe's.
func (s *Store) SubscribeMember(ctx context.Context, userID uuid.UUID, email string, listID uuid.UUID, c Consent) (SubscribeResult, error) {
	return s.Subscribe(ctx, SubscribeRequest{Email: email, ListID: listID, UserID: &userID, Verified: true, Consent: c})
}

const memberSubscribersSQL = `SELECT id FROM newsletter_subscribers WHERE user_id = $1 OR email = $2`

// UnsubscribeMember ends the member's subscriptions to listID (by user id
// or account address), logged with c; nothing happens when there is none.
func (s *Store) UnsubscribeMember(ctx context.Context, userID uuid.UUID, email string, listID uuid.UUID, c Consent) error {
	return s.inTx(ctx, "unsubscribe member", func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, memberSubscribersSQL, userID, strings.ToLower(strings.TrimSpace(email)))
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.unsubscribe(ctx, tx, id, listID, c, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Preferences is what a preferences link shows: the subscriber's address
// and the lists they may manage.
type Preferences struct {
	SubscriberID uuid.UUID
	Email        string
	Lists        []ListState
}

const subscriberEmailSQL = `SELECT email FROM newsletter_subscribers WHERE id = $1`

// Preferences returns the preferences of the subscriber a preferences
// link's token names. Errors: EInvalid wrapping ErrLinkInvalid, ENotFound
// (the subscriber no longer exists).
func (s *Store) Preferences(ctx context.Context, token string) (Preferences, error) {
	t, err := s.Links.Parse(PurposePreferences, token, s.now())
	if err != nil {
		return Preferences{}, linkError(err)
	}
	return s.preferences(ctx, s.db, t.SubscriberID)
}

type rowQuerier interface {
	querier
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) preferences(ctx context.Context, q rowQuerier, id uuid.UUID) (Preferences, error) {
	p := Preferences{SubscriberID: id}
	err := q.QueryRow(ctx, subscriberEmailSQL, id).Scan(&p.Email)
	if errors.Is(err, pgx.ErrNoRows) {
		return Preferences{}, models.Errorf(models.ENotFound, "We have no newsletters for you any more: nothing will be sent to you.")
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("newsletters: read subscriber: %w", err)
	}
	p.Lists, err = s.listStates(ctx, q, id, uuid.Nil, "")
	return p, err
}

// SetPreference subscribes (subscribe true) or unsubscribes the subscriber
// a preferences link names to or from listID, logged with c, and returns
// the preferences afterwards. The link reached the subscriber's mailbox,
// so subscribing needs no confirmation; only public lists can be joined
// (a private one can only be left). Errors: EInvalid wrapping
// ErrLinkInvalid, ENotFound (subscriber or list), EConflict wrapping
// ErrSuppressed.
func (s *Store) SetPreference(ctx context.Context, token string, listID uuid.UUID, subscribe bool, c Consent) (Preferences, error) {
	t, err := s.Links.Parse(PurposePreferences, token, s.now())
	if err != nil {
		return Preferences{}, linkError(err)
	}
	p, err := s.preferences(ctx, s.db, t.SubscriberID)
	if err != nil {
		return Preferences{}, err
	}
	if subscribe {
		list, err := s.ListByID(ctx, listID)
		if err != nil {
			return Preferences{}, err
		}
		if !list.Public {
			return Preferences{}, models.Errorf(models.ENotFound, "There is no such newsletter.")
		}
		if _, err := s.subscribe(ctx, p.Email, list, SubscribeRequest{Verified: true, Consent: c}); err != nil {
			return Preferences{}, err
		}
	} else if err := s.inTx(ctx, "unsubscribe", func(tx pgx.Tx) error {
		return s.unsubscribe(ctx, tx, t.SubscriberID, listID, c, nil)
	}); err != nil {
		return Preferences{}, err
	}
	return s.preferences(ctx, s.db, t.SubscriberID)
}

// ExportSubscription is one subscription in a member's data export.
type ExportSubscription struct {
	List           string     `json:"list"`
	ListName       string     `json:"list_name"`
	Email          string     `json:"email"`
	Status         string     `json:"status"`
	CreatedAt      time.Time  `json:"created_at"`
	ConfirmedAt    *time.Time `json:"confirmed_at,omitempty"`
	UnsubscribedAt *time.Time `json:"unsubscribed_at,omitempty"`
}

// ExportConsent is one consent log row in a member's data export.
type ExportConsent struct {
	List      string    `json:"list"`
	Email     string    `json:"email"`
	Action    string    `json:"action"`
	Source    string    `json:"source"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	At        time.Time `json:"at"`
}

// Export is a member's newsletter data: their subscriptions and the
// consent log behind them.
type Export struct {
	Subscriptions []ExportSubscription `json:"subscriptions"`
	ConsentLog    []ExportConsent      `json:"consent_log"`
}

const (
	exportSubscriptionsSQL = `SELECT l.slug, l.name, s.email, n.status, n.created_at, n.confirmed_at, n.unsubscribed_at
FROM newsletter_subscriptions n JOIN newsletter_subscribers s ON s.id = n.subscriber_id
JOIN newsletter_lists l ON l.id = n.list_id
WHERE s.user_id = $1 OR s.email = $2 ORDER BY n.created_at, l.slug`
	exportConsentsSQL = `SELECT l.slug, s.email, c.action, c.source, COALESCE(host(c.ip), ''), c.user_agent, c.at
FROM newsletter_consents c JOIN newsletter_subscribers s ON s.id = c.subscriber_id
JOIN newsletter_lists l ON l.id = c.list_id
WHERE s.user_id = $1 OR s.email = $2 ORDER BY c.at, c.id`
)

// SubscriptionsExport returns the member's subscriptions and consent log,
// found by user id or account address, for their data export (empty
// slices, never nil, when there are none).
func (s *Store) SubscriptionsExport(ctx context.Context, userID uuid.UUID, email string) (Export, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	ex := Export{Subscriptions: []ExportSubscription{}, ConsentLog: []ExportConsent{}}
	rows, _ := s.db.Query(ctx, exportSubscriptionsSQL, userID, email)
	subs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ExportSubscription, error) {
		var e ExportSubscription
		err := row.Scan(&e.List, &e.ListName, &e.Email, &e.Status, &e.CreatedAt, &e.ConfirmedAt, &e.UnsubscribedAt)
		return e, err
	})
	if err != nil {
		return Export{}, fmt.Errorf("newsletters: export subscriptions: %w", err)
	}
	rows, _ = s.db.Query(ctx, exportConsentsSQL, userID, email)
	cons, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ExportConsent, error) {
		var e ExportConsent
		err := row.Scan(&e.List, &e.Email, &e.Action, &e.Source, &e.IP, &e.UserAgent, &e.At)
		return e, err
	})
	if err != nil {
		return Export{}, fmt.Errorf("newsletters: export consents: %w", err)
	}
	ex.Subscriptions = append(ex.Subscriptions, subs...)
	ex.ConsentLog = append(ex.ConsentLog, cons...)
	return ex, nil
}

const (
	subscriberByUserSQL = `SELECT id FROM newsletter_subscribers WHERE user_id = $1 OR email = $2
ORDER BY (user_id = $1) DESC NULLS LAST LIMIT 1 FOR UPDATE`
	subscriberByEmailSQL = `SELECT id FROM newsletter_subscribers WHERE email = $1 FOR UPDATE`
	moveEmailSQL         = `UPDATE newsletter_subscribers SET email = $2, user_id = $3 WHERE id = $1`
	linkUserSQL          = `UPDATE newsletter_subscribers SET user_id = $2 WHERE id = $1`
	// A subscription of the old address moves to the new one unless the
	// new one has it already in a better state.
	mergeSubscriptionsSQL = `INSERT INTO newsletter_subscriptions (subscriber_id, list_id, status, created_at, updated_at,
  confirmed_at, unsubscribed_at, confirm_sent_at, welcome_sent_at)
SELECT $2, list_id, status, created_at, now(), confirmed_at, unsubscribed_at, confirm_sent_at, welcome_sent_at
FROM newsletter_subscriptions WHERE subscriber_id = $1
ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status = EXCLUDED.status, confirmed_at = EXCLUDED.confirmed_at,
  unsubscribed_at = EXCLUDED.unsubscribed_at, updated_at = now(),
  welcome_sent_at = COALESCE(newsletter_subscriptions.welcome_sent_at, EXCLUDED.welcome_sent_at)
WHERE newsletter_subscriptions.status <> 'confirmed' AND EXCLUDED.status = 'confirmed'`
	moveConsentsSQL     = `UPDATE newsletter_consents SET subscriber_id = $2 WHERE subscriber_id = $1`
	deleteSubscriberSQL = `DELETE FROM newsletter_subscribers WHERE id = $1`
)

// MoveUserEmail moves the member's newsletter subscriptions (and their
// consent log) from oldEmail to newEmail after the member changed their
// account address, so that their newsletters follow them. When newEmail
// was subscribed already, the two are merged (a confirmed subscription
// wins). Nothing happens when the member has no subscriber. Errors:
// EInvalid when newEmail is not an address.
func (s *Store) MoveUserEmail(ctx context.Context, userID uuid.UUID, oldEmail, newEmail string) error {
	newEmail = strings.ToLower(strings.TrimSpace(newEmail))
	if newEmail == "" || len(newEmail) > 254 || !strings.Contains(newEmail, "@") {
		return models.Errorf(models.EInvalid, "The new email address is not valid.")
	}
	oldEmail = strings.ToLower(strings.TrimSpace(oldEmail))
	return s.inTx(ctx, "move user email", func(tx pgx.Tx) error {
		var from, to uuid.UUID
		err := tx.QueryRow(ctx, subscriberByUserSQL, userID, oldEmail).Scan(&from)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		err = tx.QueryRow(ctx, subscriberByEmailSQL, newEmail).Scan(&to)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		switch {
		case from == uuid.Nil && to == uuid.Nil:
			return nil
		case from == uuid.Nil || from == to:
			_, err = tx.Exec(ctx, linkUserSQL, to, userID)
			return err
		case to == uuid.Nil:
			_, err = tx.Exec(ctx, moveEmailSQL, from, newEmail, userID)
			return err
		}
		for _, q := range []string{mergeSubscriptionsSQL, moveConsentsSQL} {
			if _, err := tx.Exec(ctx, q, from, to); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, deleteSubscriberSQL, from); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, linkUserSQL, to, userID)
		return err
	})
}

const (
	forgetSubscribersSQL = `DELETE FROM newsletter_subscribers WHERE user_id = $1 OR email = $2 RETURNING email`
	forgetBouncesSQL     = `DELETE FROM newsletter_bounces WHERE email = ANY($1)`
)

// ForgetUser deletes the member's newsletter data when their account is
// deleted: their subscriber rows (by user id or address), subscriptions,
// consent log and bounces. An address on the suppression list stays there
// (so that it is never mailed again); no other trace is kept. See
// ForgetUserTx to do it in the deletion's own transaction.
func (s *Store) ForgetUser(ctx context.Context, userID uuid.UUID, email string) error {
	return s.inTx(ctx, "forget user", func(tx pgx.Tx) error { return ForgetUserTx(ctx, tx, userID, email) })
}

// ForgetUserTx is ForgetUser in tx (the account deletion's transaction).
// Errors: the database's.
func ForgetUserTx(ctx context.Context, tx pgx.Tx, userID uuid.UUID, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	rows, _ := tx.Query(ctx, forgetSubscribersSQL, userID, email)
	emails, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("newsletters: forget user: %w", err)
	}
	if email != "" {
		emails = append(emails, email)
	}
	if _, err := tx.Exec(ctx, forgetBouncesSQL, emails); err != nil {
		return fmt.Errorf("newsletters: forget user's bounces: %w", err)
	}
	return nil
}
