package newsletters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"rose-ash.com/platform/shared/models"
)

// DefaultSoftBounceLimit is how many soft bounces suppress an address when
// the store is not told otherwise (Store.SoftBounceLimit).
const DefaultSoftBounceLimit = 3

// ConfirmResendInterval is the least time between two confirmation mails
// for one subscription: asking again sooner sends nothing.
const ConfirmResendInterval = 10 * time.Minute

// JobInserter queues background jobs in a transaction; *river.Client[pgx.Tx]
// is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Store is the newsletters' PostgreSQL home: lists, subscribers,
// subscriptions, the consent log, suppressions and bounces.
type Store struct {
	db   *pgxpool.Pool
	jobs JobInserter
	// Links signs the links of the mails the store sends (confirm,
	// unsubscribe, preferences) and checks the tokens it is given.
	Links Links
	// SoftBounceLimit is how many soft bounces of an address suppress it
	// (DefaultSoftBounceLimit when 0 or less).
	SoftBounceLimit int
	// SiteName signs the mails ("Rose Ash" when empty).
	SiteName string
	now      func() time.Time
}

// New returns a store on db. jobs queues the confirmation and welcome
// mails in the transaction of the change that causes them; it may be nil
// for a store that only reads lists, decorates messages and records
// bounces (Subscribe and Confirm then fail with an internal error).
func New(db *pgxpool.Pool, jobs JobInserter, links Links) *Store {
	return &Store{db: db, jobs: jobs, Links: links, SoftBounceLimit: DefaultSoftBounceLimit, now: time.Now}
}

func (s *Store) softLimit() int {
	if s.SoftBounceLimit <= 0 {
		return DefaultSoftBounceLimit
	}
	return s.SoftBounceLimit
}

func (s *Store) siteName() string {
	if s.SiteName == "" {
		return "Rose Ash"
	}
	return s.SiteName
}

// inTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("newsletters: %s: begin: %w", what, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		var me *models.Error
		if errors.As(err, &me) {
			return err
		}
		return fmt.Errorf("newsletters: %s: %w", what, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("newsletters: %s: commit: %w", what, err)
	}
	return nil
}
