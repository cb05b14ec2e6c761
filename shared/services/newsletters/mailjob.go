package newsletters

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/mail"
)

// MailQueue is the River queue of the subscription mails (confirmation,
// welcome), worked by the account service's replicas (MailWorker).
const MailQueue = "newsletter_mail"

// The mails MailArgs asks for.
const (
	MailConfirm = "confirm"
	MailWelcome = "welcome"
)

// MailArgs asks for one subscription mail: the confirmation of a double
// opt-in subscription (RequestedAt is the confirm_sent_at the request
// wrote) or the welcome message of a confirmed one.
type MailArgs struct {
	Mail         string    `json:"mail"`
	SubscriberID uuid.UUID `json:"subscriber_id"`
	ListID       uuid.UUID `json:"list_id"`
	RequestedAt  time.Time `json:"requested_at,omitzero"`
}

// Kind names the job in River.
func (MailArgs) Kind() string { return "newsletter_subscription_mail" }

// InsertOpts puts the job on MailQueue, retried with River's backoff while
// the relay is unreachable.
func (MailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: MailQueue, MaxAttempts: 12}
}

func (s *Store) queueMail(ctx context.Context, tx pgx.Tx, args MailArgs) error {
	_, err := s.jobs.InsertTx(ctx, tx, args, nil)
	return err
}

// MailWorker sends the subscription mails with Sender.
type MailWorker struct {
	river.WorkerDefaults[MailArgs]
	Store  *Store
	Sender mail.Sender
}

// Work sends the mail job.Args asks for, once: an invalid message is not
// retried (river.JobCancel). Errors: the database's, or the sender's
// temporary ones (retried).
func (w *MailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	err := w.Store.SendMail(ctx, w.Sender, job.Args)
	if errors.Is(err, mail.ErrInvalidMessage) {
		return river.JobCancel(err)
	}
	return err
}

const (
	mailStateSQL = `SELECT s.email, n.status, n.confirm_sent_at, n.welcome_sent_at,
  EXISTS (SELECT 1 FROM newsletter_suppressions x WHERE x.email = s.email)
FROM newsletter_subscriptions n JOIN newsletter_subscribers s ON s.id = n.subscriber_id
WHERE n.subscriber_id = $1 AND n.list_id = $2 FOR UPDATE OF n`
	confirmSentSQL = `UPDATE newsletter_subscriptions SET confirm_sent_at = clock_timestamp() WHERE subscriber_id = $1 AND list_id = $2`
	welcomeSentSQL = `UPDATE newsletter_subscriptions SET welcome_sent_at = now() WHERE subscriber_id = $1 AND list_id = $2`
)

// SendMail sends the mail args asks for through sender, unless it is no
// longer due: the subscription is gone or changed state, the address is
// suppressed, or the mail went already. The subscription's row stays
// locked while sending, and what was sent is recorded in that transaction
// (welcome_sent_at; a confirmation rewrites confirm_sent_at, which then no
// longer equals the request's), so a job retried after it sent sends
// nothing. Errors: the database's and the sender's.
func (s *Store) SendMail(ctx context.Context, sender mail.Sender, args MailArgs) error {
	return s.inTx(ctx, "send "+args.Mail+" mail", func(tx pgx.Tx) error {
		list, err := s.oneList(ctx, tx, listByIDSQL, args.ListID)
		if err != nil {
			return nil // the list is gone: nothing to send
		}
		var (
			email, status    string
			confirmAt, welAt *time.Time
			suppressed       bool
		)
		err = tx.QueryRow(ctx, mailStateSQL, args.SubscriberID, args.ListID).Scan(&email, &status, &confirmAt, &welAt, &suppressed)
		if errors.Is(err, pgx.ErrNoRows) || suppressed {
			return nil
		}
		if err != nil {
			return err
		}
		var m mail.Message
		switch args.Mail {
		case MailConfirm:
			if status != StatusUnconfirmed || confirmAt == nil || !confirmAt.Equal(args.RequestedAt) {
				return nil
			}
			m = s.confirmMessage(list, args.SubscriberID, email)
			if _, err := tx.Exec(ctx, confirmSentSQL, args.SubscriberID, args.ListID); err != nil {
				return err
			}
		case MailWelcome:
			if status != StatusConfirmed || welAt != nil {
				return nil
			}
			m = s.WelcomeMessage(list, args.SubscriberID, email)
			if _, err := tx.Exec(ctx, welcomeSentSQL, args.SubscriberID, args.ListID); err != nil {
				return err
			}
		default:
			return river.JobCancel(fmt.Errorf("newsletters: unknown mail %q", args.Mail))
		}
		return sender.Send(ctx, m)
	})
}

func (s *Store) confirmMessage(list List, subscriberID uuid.UUID, email string) mail.Message {
	link := s.Links.ConfirmURL(subscriberID, list.ID, s.now())
	text := "Hello,\n\nPlease confirm that you want to receive " + list.Name + " from " + s.siteName() + " by opening this link:\n\n" +
		link + "\n\nThe link works for " + fmt.Sprint(int(ConfirmLinkTTL.Hours())) + " hours. If you did not ask for this, ignore this message: " +
		"you will not be subscribed and we will not write again.\n\n" + s.siteName() + "\n"
	h := "<p>Hello,</p><p>Please confirm that you want to receive <strong>" + html.EscapeString(list.Name) + "</strong> from " +
		html.EscapeString(s.siteName()) + ".</p><p><a href=\"" + html.EscapeString(link) + "\">Confirm my subscription</a></p>" +
		"<p>If you did not ask for this, ignore this message: you will not be subscribed and we will not write again.</p>"
	return mail.Message{To: email, Subject: "Confirm your subscription to " + oneLine(list.Name), Text: text, HTML: h}
}

// WelcomeMessage is the first message of list to a confirmed subscriber: a
// list message (List-Id, one-click List-Unsubscribe) whose footer links to
// unsubscribing and to the subscriber's preferences.
func (s *Store) WelcomeMessage(list List, subscriberID uuid.UUID, email string) mail.Message {
	var about string
	if d := strings.TrimSpace(list.Description); d != "" {
		about = d + "\n\n"
	}
	text := "Welcome to " + list.Name + "!\n\nYour subscription is confirmed: you will receive " + list.Name + " from " + s.siteName() + ".\n\n" +
		about + s.siteName() + s.Links.Footer(list, subscriberID)
	var h strings.Builder
	h.WriteString("<p>Welcome to <strong>" + html.EscapeString(list.Name) + "</strong>!</p><p>Your subscription is confirmed: you will receive " +
		html.EscapeString(list.Name) + " from " + html.EscapeString(s.siteName()) + ".</p>")
	if about != "" {
		h.WriteString("<p>" + html.EscapeString(strings.TrimSpace(about)) + "</p>")
	}
	h.WriteString(s.Links.FooterHTML(list, subscriberID, ""))
	return mail.Message{To: email, Subject: "Welcome to " + oneLine(list.Name), Text: text, HTML: h.String(),
		List: s.Links.ListMessage(list, subscriberID)}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
