package delivery

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/sony/gobreaker/v2"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// mediaType is what activities are POSTed as.
const mediaType = "application/activity+json"

// Deliverer fans activities out and delivers them: the work behind the
// FanoutArgs and DeliverArgs jobs. Set the exported fields, then call
// Register once.
type Deliverer struct {
	// DB holds ap_activities, ap_deliveries and the actors (read only).
	DB *pgxpool.Pool
	// Client sends the POSTs; it must be the SSRF-safe client (safefetch).
	Client *http.Client
	// Key is the site's private key; every actor signs with it under key
	// id <actor>#main-key.
	Key *rsa.PrivateKey
	// Config holds the numbers; zero fields take their defaults.
	Config Config
	// Logger receives one line per notable outcome (nil: discarded). Keys
	// and payloads are never logged.
	Logger *slog.Logger
	// InboxGone records, in tx, that inbox answered 410 Gone: the actors
	// whose own inbox it is are gone, those whose shared inbox it was lose
	// it; it returns how many of each. The actors are activitypub's
	// (activitypub.InboxGone), which this package cannot import; nil
	// records only the delivery.
	InboxGone func(ctx context.Context, tx pgx.Tx, inbox string) (gone, lostShared int64, err error)

	cfg   Config // Config with the defaults filled in
	hosts *hosts
	// retryAt carries a 429's Retry-After from Work to NextRetry, which
	// River calls right after Work returns, in the same process.
	retryAt sync.Map // job id (int64) -> time.Time
}

// Register adds the fan-out and delivery workers to workers. Run them on
// Queue (QueueWorkers workers is a good start). It fails when a required
// field is missing or the workers are already registered.
func (d *Deliverer) Register(workers *river.Workers) error {
	if d.DB == nil || d.Client == nil || d.Key == nil {
		return errors.New("delivery: Deliverer needs DB, Client and Key")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.cfg = d.Config.withDefaults()
	d.hosts = newHosts(d.cfg, d.Logger)
	if err := river.AddWorkerSafely(workers, &fanoutWorker{d: d}); err != nil {
		return err
	}
	return river.AddWorkerSafely(workers, &deliverWorker{d: d})
}

type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	d *Deliverer
}

// Work inserts the activity's deliveries and their jobs.
func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	return w.d.fanout(ctx, job.Args.ActivityID)
}

// Timeout leaves room for a fan-out to tens of thousands of inboxes.
func (w *fanoutWorker) Timeout(*river.Job[FanoutArgs]) time.Duration { return 5 * time.Minute }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	d *Deliverer
}

// Work makes one delivery attempt.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.d.deliver(ctx, job)
}

// NextRetry is Config.Backoff, or a 429's Retry-After.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	if t, ok := w.d.retryAt.LoadAndDelete(job.ID); ok {
		return t.(time.Time)
	}
	return time.Now().Add(w.d.cfg.Backoff(job.Attempt))
}

// Timeout bounds one attempt.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.d.cfg.Timeout }

// insertDeliveries computes the activity's distinct target inboxes (a
// shared inbox stands for every actor that has it) and inserts a pending
// delivery for each one that has none yet, returning those. Gone actors
// are skipped; recipients must be known actors.
const insertDeliveries = `
WITH targets AS (
    SELECT a.inbox, a.shared_inbox
      FROM ap_followers f
      JOIN ap_actors a ON a.uri = f.actor_uri
     WHERE $3 AND f.local_actor = $2 AND f.state = 'accepted' AND a.gone_at IS NULL
    UNION ALL
    SELECT a.inbox, a.shared_inbox
      FROM ap_actors a
     WHERE a.uri = ANY($4::text[]) AND a.uri <> $2 AND a.gone_at IS NULL
)
INSERT INTO ap_deliveries (activity_id, inbox)
SELECT DISTINCT $1::uuid, CASE WHEN shared_inbox <> '' THEN shared_inbox ELSE inbox END
  FROM targets
 WHERE inbox <> '' OR shared_inbox <> ''
ON CONFLICT (activity_id, inbox) DO NOTHING
RETURNING inbox`

// fanout inserts the deliveries of activity id and their jobs in one
// transaction. Running it again only adds deliveries to inboxes that have
// none (new followers, or actors whose shared inbox went away).
func (d *Deliverer) fanout(ctx context.Context, id uuid.UUID) error {
	jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	tx, err := d.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("delivery: fan out %s: %w", id, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var (
		actor, uri  string
		toFollowers bool
		recipients  []string
	)
	err = tx.QueryRow(ctx, `SELECT uri, actor, to_followers, recipients FROM ap_activities WHERE id = $1`, id).
		Scan(&uri, &actor, &toFollowers, &recipients)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // deleted since: nothing to deliver
	}
	if err != nil {
		return fmt.Errorf("delivery: fan out %s: %w", id, err)
	}
	rows, err := tx.Query(ctx, insertDeliveries, id, actor, toFollowers, recipients)
	if err != nil {
		return fmt.Errorf("delivery: fan out %s: %w", uri, err)
	}
	inboxes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("delivery: fan out %s: %w", uri, err)
	}
	opts := &river.InsertOpts{Queue: Queue, MaxAttempts: d.cfg.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	for start := 0; start < len(inboxes); start += d.cfg.BatchSize {
		batch := inboxes[start:min(start+d.cfg.BatchSize, len(inboxes))]
		params := make([]river.InsertManyParams, len(batch))
		for i, inbox := range batch {
			params[i] = river.InsertManyParams{Args: DeliverArgs{ActivityID: id, Inbox: inbox}, InsertOpts: opts}
		}
		if _, err := jobs.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("delivery: queue the deliveries of %s: %w", uri, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("delivery: fan out %s: %w", uri, err)
	}
	d.Logger.Debug("delivery: fanned out", "activity", uri, "inboxes", len(inboxes))
	return nil
}

// attempt is the outcome of one POST.
type attempt struct {
	status int   // 0 when no response came
	err    error // transport error, or a description of the failure
	header http.Header
	// local marks a failure on our side (building or signing the
	// request), which says nothing about the host.
	local bool
}

// deliver makes one attempt at job's delivery and says what River should
// do next: nil when delivered (or nothing is left to do), an error to
// retry, JobCancel when retrying cannot help, JobSnooze when the host is
// held back (which spends no attempt).
func (d *Deliverer) deliver(ctx context.Context, job *river.Job[DeliverArgs]) error {
	args := job.Args
	var (
		actor, state string
		payload      []byte
	)
	err := d.DB.QueryRow(ctx, `
		SELECT a.actor, a.payload, d.state
		  FROM ap_deliveries d JOIN ap_activities a ON a.id = d.activity_id
		 WHERE d.activity_id = $1 AND d.inbox = $2`, args.ActivityID, args.Inbox).Scan(&actor, &payload, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the activity was deleted
	}
	if err != nil {
		return fmt.Errorf("delivery: load %s for %s: %w", args.ActivityID, args.Inbox, err)
	}
	if state != "pending" {
		return nil // settled by an earlier run of this job
	}
	body, err := deliverable(payload)
	if err != nil {
		d.record(ctx, args, "failed", attempt{err: err})
		return river.JobCancel(err)
	}
	u, err := url.Parse(args.Inbox)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.record(ctx, args, "failed", attempt{err: errors.New("the inbox is not an http(s) URL")})
		return river.JobCancel(fmt.Errorf("delivery: inbox %q is not an http(s) URL", args.Inbox))
	}
	h := d.hosts.get(strings.ToLower(u.Host))
	if !h.acquire(ctx, d.cfg.HostWait) {
		return river.JobSnooze(jitter(d.cfg.HostWait))
	}
	defer h.release()
	allow, err := h.breaker.Allow()
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		if age := time.Since(job.CreatedAt); age > d.cfg.GiveUpAfter {
			d.record(ctx, args, "failed", attempt{err: fmt.Errorf("host unreachable; given up after %s", age.Round(time.Minute))})
			return river.JobCancel(fmt.Errorf("delivery: %s unreachable for %s", u.Host, age.Round(time.Minute)))
		}
		return river.JobSnooze(jitter(max(h.reopensIn(), d.cfg.HostWait)))
	case err != nil: // half-open: another delivery is the probe
		return river.JobSnooze(jitter(d.cfg.HostWait))
	}
	// The breaker must hear back from every request it allowed, or a
	// half-open one would wait forever for its probe.
	reported := false
	done := func(outcome error) { reported = true; allow(outcome) }
	defer func() {
		if !reported {
			allow(errNotCounted)
		}
	}()
	a := d.post(ctx, actor, args.Inbox, body)
	final := job.Attempt >= job.MaxAttempts
	switch {
	case a.status >= 200 && a.status < 300:
		done(nil)
		d.record(ctx, args, "delivered", a)
		return nil
	case a.status == http.StatusGone:
		done(nil)
		return d.gone(ctx, args, a)
	case a.status == http.StatusTooManyRequests:
		done(errNotCounted)
		if wait, ok := retryAfter(a.header.Get("Retry-After"), time.Now()); ok && !final {
			wait = min(max(wait, time.Second), d.cfg.BackoffMax)
			d.retryAt.Store(job.ID, time.Now().Add(wait))
		}
		return d.retry(ctx, args, a, final)
	case a.status >= 500 || a.status == 0:
		if a.local || errors.Is(a.err, context.Canceled) {
			done(errNotCounted) // our failure, or we are stopping: the host did nothing wrong
		} else {
			done(errHostFailed)
		}
		return d.retry(ctx, args, a, final)
	default: // other 4xx (and the odd 1xx or 3xx): the peer refuses it, retrying cannot help
		done(nil)
		d.record(ctx, args, "failed", a)
		d.Logger.Warn("delivery: refused", "inbox", args.Inbox, "activity", args.ActivityID, "status", a.status)
		return river.JobCancel(fmt.Errorf("delivery: %s answered %d", args.Inbox, a.status))
	}
}

// post sends body to inbox, signed as actor's key with a fresh Date (the
// request is built anew on every attempt).
func (d *Deliverer) post(ctx context.Context, actor, inbox string, body []byte) attempt {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return attempt{err: err, local: true}
	}
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	if err := (signature.Signer{KeyID: actor + "#main-key", Key: d.Key}).Sign(req, body); err != nil {
		return attempt{err: fmt.Errorf("sign: %w", err), local: true}
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return attempt{err: err}
	}
	defer resp.Body.Close()
	a := attempt{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		a.err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return a
}

// retry records a failed attempt that may be tried again and returns the
// error that makes River schedule it (NextRetry), or, on the last attempt,
// marks the delivery failed.
func (d *Deliverer) retry(ctx context.Context, args DeliverArgs, a attempt, final bool) error {
	state := "pending"
	if final {
		state = "failed"
		d.Logger.Warn("delivery: giving up", "inbox", args.Inbox, "activity", args.ActivityID, "status", a.status, "error", a.err)
	}
	d.record(ctx, args, state, a)
	if a.err == nil {
		a.err = fmt.Errorf("HTTP %d", a.status)
	}
	return fmt.Errorf("delivery to %s: %w", args.Inbox, a.err)
}

// gone handles a 410 from inbox. From an actor's own inbox it means the
// actor is gone: it is marked so and no longer delivered to. From a shared
// inbox it means the server stopped offering that endpoint, not that every
// actor behind it left: those actors lose their shared inbox and the
// activity is fanned out again, reaching them at their own inboxes (where a
// 410 then marks each one that is really gone).
func (d *Deliverer) gone(ctx context.Context, args DeliverArgs, a attempt) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := pgx.BeginFunc(ctx, d.DB, func(tx pgx.Tx) error {
		var gone, lostShared int64
		if d.InboxGone != nil {
			var err error
			if gone, lostShared, err = d.InboxGone(ctx, tx, args.Inbox); err != nil {
				return err
			}
		}
		if err := recordTx(ctx, tx, args, "gone", a); err != nil {
			return err
		}
		d.Logger.Warn("delivery: inbox gone", "inbox", args.Inbox, "actors_gone", gone,
			"shared_inbox_users", lostShared)
		if lostShared == 0 {
			return nil
		}
		jobs, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return err
		}
		_, err = jobs.InsertTx(ctx, tx, FanoutArgs{ActivityID: args.ActivityID}, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("delivery: record that %s is gone: %w", args.Inbox, err)
	}
	return river.JobCancel(fmt.Errorf("delivery: %s is gone (410)", args.Inbox))
}

const updateDelivery = `
UPDATE ap_deliveries
   SET state = $3, attempts = attempts + 1, last_status = $4, last_error = $5, updated_at = now()
 WHERE activity_id = $1 AND inbox = $2`

// record stores an attempt's outcome. It runs even when the job's context
// has ended (a timed-out request is still an attempt); a failure to record
// is logged, since the outcome itself stands.
func (d *Deliverer) record(ctx context.Context, args DeliverArgs, state string, a attempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := recordTx(ctx, d.DB, args, state, a); err != nil {
		d.Logger.Error("delivery: record an attempt", "inbox", args.Inbox, "activity", args.ActivityID, "error", err)
	}
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// recordTx runs updateDelivery on db.
func recordTx(ctx context.Context, db execer, args DeliverArgs, state string, a attempt) error {
	var status *int
	if a.status != 0 {
		status = &a.status
	}
	msg := ""
	if a.err != nil {
		msg = cleanText(a.err.Error(), 500)
	}
	_, err := db.Exec(ctx, updateDelivery, args.ActivityID, args.Inbox, state, status, msg)
	return err
}

// cleanText makes s storable as text and at most n bytes: remote servers
// answer with anything.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// deliverable is the stored payload as it goes on the wire: bto and bcc
// are for us only and are removed (ActivityPub 6.1).
func deliverable(payload []byte) ([]byte, error) {
	if !bytes.Contains(payload, []byte(`"bto"`)) && !bytes.Contains(payload, []byte(`"bcc"`)) {
		return payload, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, fmt.Errorf("delivery: stored payload: %w", err)
	}
	delete(doc, "bto")
	delete(doc, "bcc")
	return json.Marshal(doc)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(365*24*3600))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
