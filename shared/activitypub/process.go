package activitypub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/postgres"
)

// The processor handles what the inbox stored, per service and in order
// of arrival. It claims a batch by leasing it (so two replicas never
// handle the same activity, and a replica that dies mid-batch leaves it to
// the next after the lease), fetches the objects given by reference, and
// handles the batch in one transaction that also marks it processed; if
// that fails, each activity is handled alone. An activity that cannot be
// handled (malformed, its object unreachable) is marked processed with the
// reason; one that failed for a passing reason (the database) is tried
// again, at most maxAttempts times.
const (
	// claimSize is how many activities one transaction handles.
	claimSize = 128
	// processors is how many batches a service handles at once (each a
	// partition of the actors, so an actor's activities stay in order):
	// handling waits mostly on the database.
	processors = 2
	// leaseFor is how long a claimed batch is left to its processor.
	leaseFor = 2 * time.Minute
	// maxAttempts bounds how often an activity is tried.
	maxAttempts = 5
	// sweepEvery is how often the processor looks for work it was not
	// told of (leases that ran out, another replica's leftovers).
	sweepEvery = 15 * time.Second
	// keepInbox is how long handled activities are kept for deduplication
	// (peers retry deliveries for a few days).
	keepInbox = 30 * 24 * time.Hour
)

// Run handles stored activities as they arrive until ctx ends; every
// service runs it once (boot starts it). Its processors share the work by
// actor (partitions), so one actor's activities are handled in order by
// one of them. It also forgets handled activities older than keepInbox.
// Errors are logged, never returned: the sweep tries again.
func (s *Service) Run(ctx context.Context) {
	b := s.inboxBatches()
	var wg sync.WaitGroup
	for k := range processors {
		wg.Go(func() { s.runPartition(ctx, k, b.wake[k]) })
	}
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	for {
		if _, err := s.DB.Exec(ctx, `DELETE FROM ap_inbox WHERE service = $1 AND processed_at < $2`, s.Name, time.Now().Add(-keepInbox)); err != nil && ctx.Err() == nil {
			s.Logger.Error("inbox: pruning", "error", err)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-sweep.C:
		}
	}
}

// runPartition is processor k: it handles its partition's batches while
// there are full ones, then waits to be woken (or for the sweep).
func (s *Service) runPartition(ctx context.Context, k int, wake <-chan struct{}) {
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		for {
			n, err := s.processBatch(ctx, k, processors)
			if err != nil && ctx.Err() == nil {
				s.Logger.Error("inbox: processing", "error", err)
			}
			if err != nil || n < claimSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-sweep.C:
		}
	}
}

// Drain handles everything this service's inbox holds, with every
// processor, waiting for batches other processes have leased, until
// nothing is left or ctx ends. Errors: ctx's, and the database's (an
// activity that cannot be handled is not an error: it is marked processed
// with its reason).
func (s *Service) Drain(ctx context.Context) error {
	for {
		var wg sync.WaitGroup
		errs := make([]error, processors)
		for k := range processors {
			wg.Go(func() {
				for {
					n, err := s.processBatch(ctx, k, processors)
					if err != nil || n == 0 {
						errs[k] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		var pending bool
		if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ap_inbox WHERE service = $1 AND processed_at IS NULL)`,
			s.Name).Scan(&pending); err != nil {
			return err
		}
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// claimed is one stored activity taken for handling.
type claimed struct {
	uri      string
	act      map[string]any
	attempts int
	// fromOrigin says the object was fetched from its own server.
	fromOrigin bool
	err        error // why it is dropped, when it is
}

// ProcessInbox claims and handles one batch of stored activities, of any
// partition; it returns how many it claimed. Errors: ctx's, and the
// database's (the activities that failed are tried again after their
// lease).
func (s *Service) ProcessInbox(ctx context.Context) (int, error) {
	return s.processBatch(ctx, 0, 1)
}

// processBatch claims and handles one batch of partition k of n (the
// activities whose actor hashes to k), returning how many it claimed.
func (s *Service) processBatch(ctx context.Context, k, n int) (int, error) {
	rows, err := s.DB.Query(ctx, `
		UPDATE ap_inbox SET lease_until = now() + $3 * interval '1 second', attempts = attempts + 1
		WHERE activity_uri IN (
			SELECT activity_uri FROM ap_inbox
			WHERE service = $1 AND processed_at IS NULL AND (lease_until IS NULL OR lease_until < now())
			  AND mod(hashtext(actor)::bigint & 2147483647, $4) = $5
			ORDER BY seq LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING activity_uri, type, actor, payload::text, attempts, seq`, s.Name, claimSize, int(leaseFor.Seconds()), n, k)
	if err != nil {
		return 0, err
	}
	type row struct {
		claimed
		seq int64
	}
	var got []row
	for rows.Next() {
		var r row
		var typ, actor, payload string
		if err := rows.Scan(&r.uri, &typ, &actor, &payload, &r.attempts, &r.seq); err != nil {
			rows.Close()
			return 0, err
		}
		if err := json.Unmarshal([]byte(payload), &r.act); err != nil || r.act == nil {
			r.err = fmt.Errorf("%w: the body is not a JSON object", errBadActivity)
		} else {
			// What the inbox verified, whatever else the body says.
			r.act["id"], r.act["type"], r.act["actor"] = r.uri, typ, actor
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(got) == 0 {
		return 0, nil
	}
	// In order of arrival: a Create before its Delete, a Follow before its
	// Undo.
	slices.SortFunc(got, func(a, b row) int { return cmp.Compare(a.seq, b.seq) })
	batch := make([]*claimed, len(got))
	for i := range got {
		batch[i] = &got[i].claimed
	}
	// Objects given by reference are fetched before the transaction.
	for _, c := range batch {
		if c.err == nil {
			c.fromOrigin, c.err = s.embed(ctx, c.act)
		}
	}
	defer s.tellNotified(ctx, batch)
	err = postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error { return s.handleBatch(ctx, tx, batch) })
	if err == nil {
		return len(batch), nil
	}
	if ctx.Err() != nil {
		return len(batch), ctx.Err()
	}
	// Each alone: the one that failed the batch fails by itself.
	var lastErr error
	for _, c := range batch {
		err := postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error { return s.handleBatch(ctx, tx, []*claimed{c}) })
		if err == nil {
			continue
		}
		if errors.Is(err, errBadActivity) || c.attempts >= maxAttempts {
			c.err = err
			err = postgres.InTx(ctx, s.DB, func(tx pgx.Tx) error { return markProcessed(ctx, tx, []*claimed{c}) })
		}
		if err != nil {
			lastErr = err // left for the lease to run out, and tried again
		}
	}
	return len(batch), lastErr
}

// handleBatch handles the batch's activities and marks them processed.
func (s *Service) handleBatch(ctx context.Context, tx pgx.Tx, batch []*claimed) error {
	for _, c := range batch {
		if c.err != nil {
			continue
		}
		if err := s.handle(ctx, tx, c.act, c.fromOrigin); err != nil {
			return err
		}
	}
	return markProcessed(ctx, tx, batch)
}

func markProcessed(ctx context.Context, tx pgx.Tx, batch []*claimed) error {
	uris := make([]string, len(batch))
	reasons := make([]string, len(batch))
	for i, c := range batch {
		uris[i] = c.uri
		if c.err != nil {
			reasons[i] = c.err.Error()
		}
	}
	_, err := tx.Exec(ctx, `UPDATE ap_inbox SET processed_at = now(), lease_until = NULL, error = r.reason
		FROM unnest($1::text[], $2::text[]) AS r(uri, reason) WHERE activity_uri = r.uri`, uris, reasons)
	return err
}

// tellNotified calls Notified for each user the batch's activities
// notified.
func (s *Service) tellNotified(ctx context.Context, batch []*claimed) {
	if s.Notified == nil {
		return
	}
	uris := make([]string, len(batch))
	for i, c := range batch {
		uris[i] = c.uri
	}
	rows, err := s.DB.Query(ctx, `SELECT DISTINCT user_id FROM ap_notifications WHERE activity_uri = ANY($1)`, uris)
	if err != nil {
		s.Logger.WarnContext(ctx, "inbox: notified users", "error", err)
		return
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		s.Logger.WarnContext(ctx, "inbox: notified users", "error", err)
		return
	}
	for _, u := range users {
		s.Notified(ctx, u)
	}
}
