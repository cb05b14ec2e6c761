package internal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/social"
)

// deletionBatch is how many due accounts one run of the deletion job
// erases at most; the next run takes the rest.
const deletionBatch = 50

// Eraser carries out account deletions that are due: each account in
// one transaction, through the packages that own each table.
type Eraser struct {
	DB       *pgxpool.Pool
	Identity *identity.Store
	Bookings *bookings.Store
	// FederationURL is federation's public base URL, under which the
	// users' fediverse actors live.
	FederationURL string
	Logger        *slog.Logger
}

// EraseDue erases every account whose deletion is due at now (at most
// deletionBatch), queueing their fediverse Deletes on jobs, and returns
// how many it erased. An account that fails is logged and left for the
// next run; the others go on. Errors: the first failure, after trying all.
func (e *Eraser) EraseDue(ctx context.Context, jobs *river.Client[pgx.Tx], now time.Time) (int, error) {
	ids, err := e.Identity.DueDeletions(ctx, now, deletionBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, id := range ids {
		done, err := e.Erase(ctx, jobs, id, now)
		if err != nil {
			e.Logger.ErrorContext(ctx, "account deletion failed; tried again on the next run", "user", id, "error", err)
			first = cmpErr(first, err)
			continue
		}
		if done {
			n++
			e.Logger.InfoContext(ctx, "account deleted", "user", id)
		}
	}
	return n, first
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Erase erases the account userID, when its deletion is due at now, in
// one transaction, and reports whether it did (false: undone meanwhile,
// or erased already): the fediverse hears of it first (a Delete of each
// of the user's hub posts and of their actor, to its followers, while
// the follows are still known), then the hub forgets the user, their
// orders are anonymised (kept for the accounts), their newsletter
// subscriptions forgotten, their bookings of
// events to come cancelled (places freed) and the others emptied of their
// name and email, their basket emptied, and last their sign-ins revoked,
// sign-in links deleted and users row scrubbed. Errors: any step's, and
// then nothing changed.
func (e *Eraser) Erase(ctx context.Context, jobs *river.Client[pgx.Tx], userID uuid.UUID, now time.Time) (bool, error) {
	if jobs == nil {
		return false, errors.New("account: erasing an account needs a job client (its fediverse Deletes)")
	}
	hub := social.New(e.DB, jobs, social.Options{FederationURL: e.FederationURL})
	done := false
	err := postgres.InTx(ctx, e.DB, func(tx pgx.Tx) error {
		u, due, err := identity.LockDueDeletion(ctx, tx, userID, now)
		if err != nil || !due {
			return err
		}
		if u.Username != "" {
			actor := activitypub.UserActorID(e.FederationURL, u.Username)
			followers, err := activitypub.LocalFollowers(ctx, tx, actor)
			if err != nil {
				return err
			}
			if err := hub.ForgetUser(ctx, tx, userID, actor, followers, now); err != nil {
				return err
			}
			if err := activitypub.DeleteLocalActor(ctx, tx, jobs, actor, followers); err != nil {
				return err
			}
		}
		if _, err := orders.AnonymiseUserOrders(ctx, tx, userID); err != nil {
			return err
		}
		if err := e.Bookings.ForgetUser(ctx, tx, userID, now); err != nil {
			return err
		}
		if err := carts.ForgetUser(ctx, tx, userID); err != nil {
			return err
		}
		if err := forgetNewsletters(ctx, tx, u); err != nil {
			return err
		}
		if err := identity.ScrubUser(ctx, tx, u, now); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("account: erase %s: %w", userID, err)
	}
	return done, nil
}

// DeletionWorker works identity.DeletionArgs: the periodic run of the
// account deletions that are due.
type DeletionWorker struct {
	river.WorkerDefaults[identity.DeletionArgs]
	Eraser *Eraser
}

// Work erases the accounts due now. Errors: EraseDue's.
func (w *DeletionWorker) Work(ctx context.Context, _ *river.Job[identity.DeletionArgs]) error {
	_, err := w.Eraser.EraseDue(ctx, river.ClientFromContext[pgx.Tx](ctx), time.Now())
	return err
}

// forgetNewsletters forgets the user's newsletter subscriber rows,
// subscriptions, consents and bounces (a suppressed address stays
// suppressed).
func forgetNewsletters(ctx context.Context, tx pgx.Tx, u identity.DeletingUser) error {
	return newsletters.ForgetUserTx(ctx, tx, u.ID, u.Email)
}
