package newsletters

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Subscription states (newsletter_subscriptions.status).
const (
	StatusUnconfirmed  = "unconfirmed"
	StatusConfirmed    = "confirmed"
	StatusUnsubscribed = "unsubscribed"
)

// Consent is where a subscribe, confirm or unsubscribe came from, kept in
// the consent log.
type Consent struct {
	// Source is the page the form was on, or how it happened ("one-click",
	// "preferences", "dashboard", "confirmation link").
	Source string
	// IP is the client's address (invalid: unknown).
	IP        netip.Addr
	UserAgent string
}

func (c Consent) ip() any {
	if !c.IP.IsValid() {
		return nil
	}
	return c.IP.Unmap().String()
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// SubscribeRequest asks for Email to be subscribed to ListID.
type SubscribeRequest struct {
	Email  string
	ListID uuid.UUID
	// UserID links the subscriber to a member; give it only when Email is
	// that member's own (verified) address.
	UserID *uuid.UUID
	// Verified says the requester proved they own Email (a member's
	// account address, or a preferences link): a double opt-in list then
	// needs no confirmation mail.
	Verified bool
	Consent  Consent
}

// Outcome says what Subscribe did, for the page to say it.
type Outcome string

// Subscribe's outcomes.
const (
	// ConfirmationSent: a confirmation mail is on its way ("Check your inbox").
	ConfirmationSent Outcome = "confirmation_sent"
	// ConfirmationPending: one was sent less than ConfirmResendInterval
	// ago; none is sent again.
	ConfirmationPending Outcome = "confirmation_pending"
	// Subscribed: confirmed at once (single opt-in or a verified address);
	// the welcome message is on its way.
	Subscribed Outcome = "subscribed"
	// AlreadySubscribed: the subscription was confirmed already; nothing is sent.
	AlreadySubscribed Outcome = "already_subscribed"
)

// SubscribeResult is what Subscribe did.
type SubscribeResult struct {
	Outcome      Outcome
	SubscriberID uuid.UUID
	List         List
	Email        string
}

// ErrSuppressed is in the chain of Subscribe's error for an address on the
// suppression list.
var ErrSuppressed = errors.New("newsletters: address suppressed")

const (
	upsertSubscriberSQL = `INSERT INTO newsletter_subscribers (email, user_id) VALUES ($1, $2)
ON CONFLICT (email) DO UPDATE SET user_id = COALESCE(EXCLUDED.user_id, newsletter_subscribers.user_id)
RETURNING id`
	lockSubscriptionSQL = `SELECT status, confirm_sent_at, welcome_sent_at FROM newsletter_subscriptions
WHERE subscriber_id = $1 AND list_id = $2 FOR UPDATE`
	insertConsentSQL = `INSERT INTO newsletter_consents (subscriber_id, list_id, action, source, ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $6)`
	setUnconfirmedSQL = `INSERT INTO newsletter_subscriptions (subscriber_id, list_id, status, confirm_sent_at)
VALUES ($1, $2, 'unconfirmed', clock_timestamp())
ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status = 'unconfirmed', confirm_sent_at = clock_timestamp(),
  unsubscribed_at = NULL, updated_at = now()
RETURNING confirm_sent_at`
	setConfirmedSQL = `INSERT INTO newsletter_subscriptions (subscriber_id, list_id, status, confirmed_at)
VALUES ($1, $2, 'confirmed', now())
ON CONFLICT (subscriber_id, list_id) DO UPDATE SET status = 'confirmed', confirmed_at = now(),
  unsubscribed_at = NULL, updated_at = now()
RETURNING welcome_sent_at IS NULL`
	setUnsubscribedSQL = `UPDATE newsletter_subscriptions SET status = 'unsubscribed', unsubscribed_at = now(), updated_at = now()
WHERE subscriber_id = $1 AND list_id = $2 AND status <> 'unsubscribed'`
)

// Subscribe subscribes req.Email to req.ListID, a public list: on a double
// opt-in list (unless req.Verified) it queues a confirmation mail, at most
// one per ConfirmResendInterval; otherwise it confirms at once and queues
// the welcome message (sent once per subscription). An address subscribed
// already gets nothing more. Every change is logged with req.Consent.
// Errors: EInvalid (the address, with the sentence to show), ENotFound (no
// such public list), EConflict wrapping ErrSuppressed (the address is on
// the suppression list).
func (s *Store) Subscribe(ctx context.Context, req SubscribeRequest) (SubscribeResult, error) {
	email, err := NormalizeAddress(req.Email)
	if err != nil {
		return SubscribeResult{}, err
	}
	list, err := s.ListByID(ctx, req.ListID)
	if err != nil {
		return SubscribeResult{}, err
	}
	if !list.Public {
		return SubscribeResult{}, models.Errorf(models.ENotFound, "There is no such newsletter.")
	}
	return s.subscribe(ctx, email, list, req)
}

func (s *Store) subscribe(ctx context.Context, email string, list List, req SubscribeRequest) (SubscribeResult, error) {
	if s.jobs == nil {
		return SubscribeResult{}, errors.New("newsletters: subscribe: the store has no job queue")
	}
	res := SubscribeResult{List: list, Email: email}
	err := s.inTx(ctx, "subscribe", func(tx pgx.Tx) error {
		var suppressed bool
		if err := tx.QueryRow(ctx, suppressedSQL, email).Scan(&suppressed); err != nil {
			return err
		}
		if suppressed {
			return models.Wrap(models.EConflict, "We cannot send newsletters to this address: mail to it bounced or was reported as unwanted. Please use another address.", ErrSuppressed)
		}
		if err := tx.QueryRow(ctx, upsertSubscriberSQL, email, req.UserID).Scan(&res.SubscriberID); err != nil {
			return err
		}
		var (
			status           string
			confirmSent, _ws *time.Time
			exists           = true
		)
		err := tx.QueryRow(ctx, lockSubscriptionSQL, res.SubscriberID, list.ID).Scan(&status, &confirmSent, &_ws)
		if errors.Is(err, pgx.ErrNoRows) {
			exists = false
		} else if err != nil {
			return err
		}
		switch {
		case exists && status == StatusConfirmed:
			res.Outcome = AlreadySubscribed
			return nil
		case list.DoubleOptIn && !req.Verified:
			if exists && status == StatusUnconfirmed && confirmSent != nil && s.now().Sub(*confirmSent) < ConfirmResendInterval {
				res.Outcome = ConfirmationPending
				return nil
			}
			var at time.Time
			if err := tx.QueryRow(ctx, setUnconfirmedSQL, res.SubscriberID, list.ID).Scan(&at); err != nil {
				return err
			}
			if err := s.logConsent(ctx, tx, res.SubscriberID, list.ID, "subscribe", req.Consent); err != nil {
				return err
			}
			res.Outcome = ConfirmationSent
			return s.queueMail(ctx, tx, MailArgs{Mail: MailConfirm, SubscriberID: res.SubscriberID, ListID: list.ID, RequestedAt: at})
		default:
			if err := s.logConsent(ctx, tx, res.SubscriberID, list.ID, "subscribe", req.Consent); err != nil {
				return err
			}
			res.Outcome = Subscribed
			return s.confirm(ctx, tx, res.SubscriberID, list.ID, req.Consent)
		}
	})
	if err != nil {
		return SubscribeResult{}, err
	}
	return res, nil
}

// confirm marks the subscription confirmed, logs it, and queues the
// welcome message unless it went before.
func (s *Store) confirm(ctx context.Context, tx pgx.Tx, subscriberID, listID uuid.UUID, c Consent) error {
	var welcome bool
	if err := tx.QueryRow(ctx, setConfirmedSQL, subscriberID, listID).Scan(&welcome); err != nil {
		return err
	}
	if err := s.logConsent(ctx, tx, subscriberID, listID, "confirm", c); err != nil {
		return err
	}
	if !welcome {
		return nil
	}
	return s.queueMail(ctx, tx, MailArgs{Mail: MailWelcome, SubscriberID: subscriberID, ListID: listID})
}

func (s *Store) logConsent(ctx context.Context, tx pgx.Tx, subscriberID, listID uuid.UUID, action string, c Consent) error {
	_, err := tx.Exec(ctx, insertConsentSQL, subscriberID, listID, action, clip(strings.TrimSpace(c.Source), 2000), c.ip(), clip(c.UserAgent, 500))
	return err
}

// LinkResult is what a confirm or unsubscribe link did.
type LinkResult struct {
	List         List
	SubscriberID uuid.UUID
	Email        string
	// Status is the subscription's state afterwards.
	Status string
	// Changed is false when the link had been followed already (or the
	// subscription was ended since, for a confirmation).
	Changed bool
}

// linkError turns Links.Parse's errors into domain errors; errors.Is still
// finds ErrLinkExpired or ErrLinkInvalid in them, which pages tell apart.
func linkError(err error) error {
	if errors.Is(err, ErrLinkExpired) {
		return models.Wrap(models.EInvalid, "This link has expired.", err)
	}
	return models.Wrap(models.EInvalid, "This link is not valid: it may have been cut short or changed.", ErrLinkInvalid)
}

const subscriptionOfSQL = `SELECT s.email, n.status FROM newsletter_subscriptions n
JOIN newsletter_subscribers s ON s.id = n.subscriber_id
WHERE n.subscriber_id = $1 AND n.list_id = $2 FOR UPDATE OF n`

// Confirm follows a confirmation link's token: the subscription becomes
// confirmed (logged with c) and the welcome message is queued, once. A
// link followed twice changes nothing the second time; one whose
// subscription was ended since does not restart it. Errors: EInvalid
// wrapping ErrLinkExpired or ErrLinkInvalid, ENotFound (the subscription or
// list no longer exists).
func (s *Store) Confirm(ctx context.Context, token string, c Consent) (LinkResult, error) {
	t, err := s.Links.Parse(PurposeConfirm, token, s.now())
	if err != nil {
		return LinkResult{}, linkError(err)
	}
	if s.jobs == nil {
		return LinkResult{}, errors.New("newsletters: confirm: the store has no job queue")
	}
	return s.followLink(ctx, t, func(tx pgx.Tx, r *LinkResult) error {
		if r.Status != StatusUnconfirmed {
			return nil
		}
		r.Status, r.Changed = StatusConfirmed, true
		return s.confirm(ctx, tx, t.SubscriberID, t.ListID, c)
	})
}

// Unsubscribe follows an unsubscribe link's token (the page's button or an
// RFC 8058 one-click POST): the subscription ends at once, logged with c.
// It is idempotent: a second call changes nothing and succeeds. Errors:
// EInvalid wrapping ErrLinkInvalid, ENotFound (the subscription or list no
// longer exists: nothing will be sent to it).
func (s *Store) Unsubscribe(ctx context.Context, token string, c Consent) (LinkResult, error) {
	t, err := s.Links.Parse(PurposeUnsubscribe, token, s.now())
	if err != nil {
		return LinkResult{}, linkError(err)
	}
	return s.followLink(ctx, t, func(tx pgx.Tx, r *LinkResult) error {
		return s.unsubscribe(ctx, tx, t.SubscriberID, t.ListID, c, r)
	})
}

func (s *Store) unsubscribe(ctx context.Context, tx pgx.Tx, subscriberID, listID uuid.UUID, c Consent, r *LinkResult) error {
	tag, err := tx.Exec(ctx, setUnsubscribedSQL, subscriberID, listID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	if r != nil {
		r.Status, r.Changed = StatusUnsubscribed, true
	}
	return s.logConsent(ctx, tx, subscriberID, listID, "unsubscribe", c)
}

func (s *Store) followLink(ctx context.Context, t Token, fn func(pgx.Tx, *LinkResult) error) (LinkResult, error) {
	r := LinkResult{SubscriberID: t.SubscriberID}
	err := s.inTx(ctx, "follow link", func(tx pgx.Tx) error {
		var err error
		if r.List, err = s.oneList(ctx, tx, listByIDSQL, t.ListID); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, subscriptionOfSQL, t.SubscriberID, t.ListID).Scan(&r.Email, &r.Status)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "This subscription no longer exists: nothing more will be sent to you from %s.", r.List.Name)
		}
		if err != nil {
			return err
		}
		return fn(tx, &r)
	})
	return r, err
}

// ResendConfirmation sends a new confirmation mail for the subscription a
// confirmation link names, expired or not (the page of an expired link
// offers it): Subscribe's rules apply (nothing when confirmed already, at
// most one mail per ConfirmResendInterval). Errors: EInvalid wrapping
// ErrLinkInvalid, ENotFound (subscriber or list gone, or a private list),
// EConflict wrapping ErrSuppressed.
func (s *Store) ResendConfirmation(ctx context.Context, token string, c Consent) (SubscribeResult, error) {
	t, err := s.Links.Parse(PurposeConfirm, token, s.now())
	if err != nil && !errors.Is(err, ErrLinkExpired) {
		return SubscribeResult{}, linkError(err)
	}
	list, err := s.ListByID(ctx, t.ListID)
	if err != nil {
		return SubscribeResult{}, err
	}
	var email string
	if err := s.db.QueryRow(ctx, subscriberEmailSQL, t.SubscriberID).Scan(&email); errors.Is(err, pgx.ErrNoRows) {
		return SubscribeResult{}, models.Errorf(models.ENotFound, "This subscription no longer exists: please subscribe again.")
	} else if err != nil {
		return SubscribeResult{}, err
	}
	if !list.Public {
		return SubscribeResult{}, models.Errorf(models.ENotFound, "There is no such newsletter.")
	}
	return s.subscribe(ctx, email, list, SubscribeRequest{Consent: c})
}

// UnsubscribePreview returns what an unsubscribe link names (list, address,
// state) without changing anything: the page a GET of the link shows.
// Errors: Unsubscribe's.
func (s *Store) UnsubscribePreview(ctx context.Context, token string) (LinkResult, error) {
	t, err := s.Links.Parse(PurposeUnsubscribe, token, s.now())
	if err != nil {
		return LinkResult{}, linkError(err)
	}
	return s.followLink(ctx, t, func(pgx.Tx, *LinkResult) error { return nil })
}
