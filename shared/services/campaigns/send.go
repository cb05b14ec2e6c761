package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	gomail "github.com/wneessen/go-mail"
	"golang.org/x/time/rate"

	"rose-ash.com/platform/shared/mail"
)

// Options tune sending. Zero values take the defaults noted.
type Options struct {
	// Rate is messages per second across this worker's goroutines; 0 is
	// no limit.
	Rate float64
	// WindowCap is how many messages may go out in any Window, counted
	// over every campaign from sent_at; 0 is no cap.
	WindowCap int
	Window    time.Duration // default 1h
	// Concurrency is how many messages are handed to the relay at once
	// (default 4).
	Concurrency int
	// BatchSize is how many recipients are claimed at a time (default
	// 200; with a rate, no more than about a second's worth).
	BatchSize int
	// MaxAttempts is how many 4xx replies a recipient gets before it is
	// failed (default 5); RetryAfter the first wait, doubling (default 1m).
	MaxAttempts int
	RetryAfter  time.Duration
	// RelayDownAfter is how many network failures in a row mean the relay
	// is unreachable (default 3); RelayRetry how long the campaign then
	// stays paused before it is tried again (default 1m).
	RelayDownAfter int
	RelayRetry     time.Duration
	// SendTimeout bounds one delivery, which runs to its end even while
	// the worker stops (default 30s).
	SendTimeout time.Duration
	// MaxRun is how long one job run sends before it hands over to a new
	// run of the same job (default 5m), so River never takes a long
	// campaign's job for a stuck one.
	MaxRun time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Window, time.Hour)
	defInt(&o.Concurrency, 4)
	defInt(&o.BatchSize, 200)
	defInt(&o.MaxAttempts, 5)
	def(&o.RetryAfter, time.Minute)
	defInt(&o.RelayDownAfter, 3)
	def(&o.RelayRetry, time.Minute)
	def(&o.SendTimeout, 30*time.Second)
	def(&o.MaxRun, 5*time.Minute)
	return o
}

// SendWorker runs SendArgs jobs: it sends a campaign's messages until none
// is left, the campaign is paused or cancelled, or the worker stops.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	DB       *pgxpool.Pool
	Mail     mail.Sender
	Renderer Renderer
	Options  Options
	Logger   *slog.Logger

	once    sync.Once
	opts    Options
	limiter *rate.Limiter
}

func (w *SendWorker) init() {
	w.once.Do(func() {
		w.opts = w.Options.withDefaults()
		limit := rate.Inf
		if w.opts.Rate > 0 {
			limit = rate.Limit(w.opts.Rate)
		}
		w.limiter = rate.NewLimiter(limit, max(1, min(w.opts.Concurrency, int(w.opts.Rate))))
		if w.Logger == nil {
			w.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Timeout lets a run last its MaxRun plus the time to finish in-flight
// deliveries.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration {
	w.init()
	return w.opts.MaxRun + 2*w.opts.SendTimeout
}

// Recipient states (newsletter_campaign_recipients.state).
const (
	StatePending   = "pending"
	StateSending   = "sending"
	StateSent      = "sent"
	StateFailed    = "failed"
	StateUncertain = "uncertain"
	StateSkipped   = "skipped"
)

const sqlResumeRelay = `
UPDATE newsletter_campaigns SET status = 'sending', status_note = '', updated_at = now()
WHERE id = $1 AND status = 'paused' AND status_note = $2`

// sqlStale marks what a dead run left claimed: it may have reached the
// relay, so it is never sent again.
const sqlStale = `
UPDATE newsletter_campaign_recipients SET state = 'uncertain',
    error = 'the worker sending it stopped without recording whether the relay took it'
WHERE campaign_id = $1 AND state = 'sending' AND claimed_by <> $2`

const sqlWindow = `
SELECT count(*), min(sent_at) FROM newsletter_campaign_recipients WHERE sent_at > now() - $1::interval`

// sqlClaim claims up to $2 due recipients for run $3 as 'sending'; the
// claim is committed before any of them goes to the relay.
const sqlClaim = `
UPDATE newsletter_campaign_recipients r SET state = 'sending', claimed_by = $3, claimed_at = now()
WHERE r.campaign_id = $1 AND r.subscriber_id IN (
    SELECT q.subscriber_id FROM newsletter_campaign_recipients q
    WHERE q.campaign_id = $1 AND q.state = 'pending' AND (q.next_try_at IS NULL OR q.next_try_at <= now())
    LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING r.subscriber_id, r.list_id, r.attempts`

// sqlClaimed gives the addresses of claimed recipients and whether each
// was suppressed or left its list since the campaign started.
const sqlClaimed = `
SELECT s.id, s.email,
    EXISTS (SELECT 1 FROM newsletter_suppressions x WHERE x.email = s.email)
    OR NOT EXISTS (SELECT 1 FROM newsletter_subscriptions u WHERE u.subscriber_id = s.id AND u.list_id = v.list AND u.status = 'confirmed')
FROM unnest($1::uuid[], $2::uuid[]) AS v(sid, list)
JOIN newsletter_subscribers s ON s.id = v.sid`

const sqlSkip = `
UPDATE newsletter_campaign_recipients SET state = 'skipped', error = 'unsubscribed or suppressed before it was sent'
WHERE campaign_id = $1 AND subscriber_id = ANY($2) AND state = 'sending'`

// sqlRecord writes the outcome of a claimed batch.
const sqlRecord = `
UPDATE newsletter_campaign_recipients r
SET state = v.state,
    sent_at = CASE WHEN v.state = 'sent' THEN now() ELSE r.sent_at END,
    attempts = r.attempts + v.tried,
    next_try_at = v.next_try,
    error = left(v.error, 1000),
    claimed_by = CASE WHEN v.state = 'pending' THEN '' ELSE r.claimed_by END
FROM unnest($2::uuid[], $3::text[], $4::int[], $5::timestamptz[], $6::text[]) AS v(sid, state, tried, next_try, error)
WHERE r.campaign_id = $1 AND r.subscriber_id = v.sid AND r.state = 'sending' AND r.claimed_by = $7`

const sqlRemaining = `
SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')), min(next_try_at) FILTER (WHERE state = 'pending')
FROM newsletter_campaign_recipients WHERE campaign_id = $1`

const sqlFinish = `
UPDATE newsletter_campaigns SET status = 'sent', status_note = '', finished_at = now(), updated_at = now()
WHERE id = $1 AND status = 'sending'`

const sqlRelayDown = `
UPDATE newsletter_campaigns SET status = 'paused', status_note = $2, updated_at = now()
WHERE id = $1 AND status = 'sending'`

// claimed is one recipient of a batch and what became of it.
type claimed struct {
	Recipient
	attempts int
	state    string
	tried    int
	nextTry  *time.Time
	err      string
}

// Work sends campaign job.Args.CampaignID. It returns nil when the campaign
// is finished, paused or cancelled, and snoozes the job when the window
// cap is reached, when only retries later are left, when the relay is
// unreachable, when its MaxRun is up, and when the worker stops.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	w.init()
	id := job.Args.CampaignID
	db := context.WithoutCancel(ctx)
	run := fmt.Sprintf("job-%d-%s", job.ID, uuid.NewString()[:8])
	if _, err := w.DB.Exec(db, sqlResumeRelay, id, NoteRelayUnreachable); err != nil {
		return fmt.Errorf("campaigns: send: %w", err)
	}
	if tag, err := w.DB.Exec(db, sqlStale, id, run); err != nil {
		return fmt.Errorf("campaigns: send: %w", err)
	} else if n := tag.RowsAffected(); n > 0 {
		w.Logger.Warn("campaign recipients left mid-send by a stopped worker marked uncertain", "campaign", id, "count", n)
	}
	c, lists, err := w.load(db, id)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(w.opts.MaxRun)
	for {
		if ctx.Err() != nil {
			return river.JobSnooze(time.Second)
		}
		var status string
		if err := w.DB.QueryRow(db, `SELECT status FROM newsletter_campaigns WHERE id = $1`, id).Scan(&status); err != nil {
			return fmt.Errorf("campaigns: send: %w", err)
		}
		if status != StatusSending {
			return nil
		}
		if time.Now().After(deadline) {
			return river.JobSnooze(0)
		}
		n := w.opts.BatchSize
		if w.opts.Rate > 0 {
			n = min(n, max(int(w.opts.Rate), w.opts.Concurrency))
		}
		if w.opts.WindowCap > 0 {
			var used int
			var oldest *time.Time
			if err := w.DB.QueryRow(db, sqlWindow, w.opts.Window).Scan(&used, &oldest); err != nil {
				return fmt.Errorf("campaigns: send: %w", err)
			}
			if used >= w.opts.WindowCap {
				wait := time.Second
				if oldest != nil {
					wait = max(time.Until(oldest.Add(w.opts.Window)), time.Second)
				}
				return river.JobSnooze(wait)
			}
			n = min(n, w.opts.WindowCap-used)
		}
		batch, err := w.claim(db, id, n, run, lists)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			var left int
			var next *time.Time
			if err := w.DB.QueryRow(db, sqlRemaining, id).Scan(&left, &next); err != nil {
				return fmt.Errorf("campaigns: send: %w", err)
			}
			if left == 0 {
				_, err := w.DB.Exec(db, sqlFinish, id)
				return err
			}
			wait := time.Second
			if next != nil {
				wait = max(time.Until(*next), 100*time.Millisecond)
			}
			return river.JobSnooze(wait)
		}
		down := w.send(ctx, c, batch)
		if err := w.record(db, id, run, batch); err != nil {
			return err
		}
		if down {
			if _, err := w.DB.Exec(db, sqlRelayDown, id, NoteRelayUnreachable); err != nil {
				return fmt.Errorf("campaigns: send: %w", err)
			}
			w.Logger.Warn("campaign paused: the mail relay is unreachable", "campaign", id, "retry_in", w.opts.RelayRetry)
			return river.JobSnooze(w.opts.RelayRetry)
		}
	}
}

type listInfo struct{ slug, name string }

func (w *SendWorker) load(ctx context.Context, id uuid.UUID) (Campaign, map[uuid.UUID]listInfo, error) {
	c, err := scanCampaign(w.DB.QueryRow(ctx, `SELECT `+campaignColumns+` FROM newsletter_campaigns c WHERE c.id = $1`, id))
	if err != nil {
		return c, nil, fmt.Errorf("campaigns: send: load %s: %w", id, err)
	}
	rows, err := w.DB.Query(ctx, `SELECT id, slug, name FROM newsletter_lists`)
	if err != nil {
		return c, nil, fmt.Errorf("campaigns: send: %w", err)
	}
	defer rows.Close()
	lists := map[uuid.UUID]listInfo{}
	for rows.Next() {
		var id uuid.UUID
		var l listInfo
		if err := rows.Scan(&id, &l.slug, &l.name); err != nil {
			return c, nil, fmt.Errorf("campaigns: send: %w", err)
		}
		lists[id] = l
	}
	return c, lists, rows.Err()
}

// claim claims up to n recipients (committed before anything is sent) and
// returns those to send to now.
func (w *SendWorker) claim(ctx context.Context, id uuid.UUID, n int, run string, lists map[uuid.UUID]listInfo) ([]*claimed, error) {
	var out []*claimed
	err := pgx.BeginFunc(ctx, w.DB, func(tx pgx.Tx) error {
		out = out[:0]
		// A batch is a few hundred rows found through the index of what is
		// left to send and looked up by primary key; the planner otherwise
		// scans and hashes whole tables for them, a cost per batch that
		// grows with the campaign.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sqlClaim, id, n, run)
		if err != nil {
			return err
		}
		byID := map[uuid.UUID]*claimed{}
		var sids, lids []uuid.UUID
		for rows.Next() {
			var r claimed
			if err := rows.Scan(&r.SubscriberID, &r.ListID, &r.attempts); err != nil {
				return err
			}
			byID[r.SubscriberID] = &r
			sids, lids = append(sids, r.SubscriberID), append(lids, r.ListID)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(sids) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, sqlClaimed, sids, lids)
		if err != nil {
			return err
		}
		var skipped []uuid.UUID
		for rows.Next() {
			var sid uuid.UUID
			var email string
			var skip bool
			if err := rows.Scan(&sid, &email, &skip); err != nil {
				return err
			}
			r := byID[sid]
			if skip {
				skipped = append(skipped, sid)
				continue
			}
			l := lists[r.ListID]
			r.Email, r.ListSlug, r.ListName = email, l.slug, l.name
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(skipped) > 0 {
			if _, err := tx.Exec(ctx, sqlSkip, id, skipped); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns: send: claim: %w", err)
	}
	return out, nil
}

// send hands the batch to the relay with Concurrency goroutines at the
// rate limit, setting each recipient's outcome. A recipient not yet handed
// over when ctx ends or the relay is found unreachable goes back to
// pending; one handed over finishes (WithoutCancel, SendTimeout). It
// reports whether the relay was unreachable.
func (w *SendWorker) send(ctx context.Context, c Campaign, batch []*claimed) bool {
	work := make(chan *claimed)
	var netFails atomic.Int32
	var down, halted atomic.Bool
	// A pause or cancel from the admin page stops the batch too, not only
	// the next one.
	watching := make(chan struct{})
	defer close(watching)
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-watching:
				return
			case <-t.C:
				var status string
				err := w.DB.QueryRow(context.WithoutCancel(ctx), `SELECT status FROM newsletter_campaigns WHERE id = $1`, c.ID).Scan(&status)
				if err == nil && status != StatusSending {
					halted.Store(true)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range w.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if down.Load() || halted.Load() || ctx.Err() != nil || w.limiter.Wait(ctx) != nil || halted.Load() {
					r.state = StatePending
					continue
				}
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.SendTimeout)
				err := w.Mail.Send(sctx, w.Renderer.Message(c, r.Recipient))
				cancel()
				w.outcome(r, err)
				if r.state == StatePending { // the relay could not be reached
					if netFails.Add(1) >= int32(w.opts.RelayDownAfter) {
						down.Store(true)
					}
				} else {
					netFails.Store(0)
				}
			}
		}()
	}
	for _, r := range batch {
		work <- r
	}
	close(work)
	wg.Wait()
	return down.Load()
}

// outcome sets r's state from the relay's answer: sent; 4xx: retried with
// backoff until MaxAttempts, then failed; 5xx or an invalid message:
// failed; the relay not reached (connection refused, no route, dial
// timeout), or the connection lost before the whole message was written:
// pending, nothing went (mail.PossiblyDelivered); the connection lost
// after the message was written and before the relay answered:
// uncertain, as the relay may have taken it.
func (w *SendWorker) outcome(r *claimed, err error) {
	if err == nil {
		r.state = StateSent
		return
	}
	r.err = err.Error()
	code := replyCode(err)
	switch {
	case code >= 400 && code < 500:
		r.tried = 1
		if r.attempts+1 >= w.opts.MaxAttempts {
			r.state = StateFailed
			return
		}
		next := time.Now().Add(w.opts.RetryAfter << min(r.attempts, 10))
		r.state, r.nextTry = StatePending, &next
	case code >= 500 || errors.Is(err, mail.ErrInvalidMessage):
		r.state = StateFailed
	case unreachable(err), mail.IsTemporary(err) && !mail.PossiblyDelivered(err):
		r.state = StatePending
	case mail.IsTemporary(err):
		r.state = StateUncertain
	default:
		r.state = StateFailed
	}
}

// replyCode is the SMTP reply code in err, 0 when there is none.
func replyCode(err error) int {
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		if c := sendErr.ErrorCode(); c > 0 {
			return c
		}
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code
	}
	return 0
}

// unreachable reports whether err says no connection to the relay was
// made, so the message certainly did not go.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

func (w *SendWorker) record(ctx context.Context, id uuid.UUID, run string, batch []*claimed) error {
	n := len(batch)
	sids, states, errs := make([]uuid.UUID, n), make([]string, n), make([]string, n)
	tried, next := make([]int32, n), make([]*time.Time, n)
	for i, r := range batch {
		sids[i], states[i], tried[i], next[i], errs[i] = r.SubscriberID, r.state, int32(r.tried), r.nextTry, r.err
		if r.state == StateSent {
			errs[i] = ""
		}
	}
	if _, err := w.DB.Exec(ctx, sqlRecord, id, sids, states, tried, next, errs, run); err != nil {
		return fmt.Errorf("campaigns: send: record: %w", err)
	}
	return nil
}
