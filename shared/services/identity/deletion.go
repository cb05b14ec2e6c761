package identity

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/schedule"
)

// A member's account deletion: asked for on the account dashboard, it
// waits DeletionGrace (config account.deletion_grace) during which the
// account works as before and can be kept; then the deletion job
// (DeletionArgs, worked by the account service) erases it. The users row
// is scrubbed, not deleted (ScrubUser): see docs/DECISIONS.md.

// Deletion is a deletion the user asked for and may still undo.
type Deletion struct {
	RequestedAt, DueAt time.Time
}

// RequestDeletion records that userID asked for their account to be
// deleted at now+grace; asking again keeps the first request's dates.
// It returns the deletion. Errors: ENotFound (no such user, or deleted
// already), EInternal.
func (s *Store) RequestDeletion(ctx context.Context, userID uuid.UUID, now time.Time, grace time.Duration) (Deletion, error) {
	var d Deletion
	err := s.db.QueryRow(ctx, `
		UPDATE users SET deletion_requested_at = coalesce(deletion_requested_at, $2),
		       deletion_due_at = coalesce(deletion_due_at, $3), updated_at = now()
		WHERE id = $1 AND deleted_at IS NULL
		RETURNING deletion_requested_at, deletion_due_at`, userID, now, now.Add(grace)).Scan(&d.RequestedAt, &d.DueAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, models.Errorf(models.ENotFound, "No such account.")
	}
	if err != nil {
		return d, internal("request deletion", err)
	}
	return d, nil
}

// CancelDeletion undoes userID's deletion request; it reports whether
// there was one to undo (undoing twice is not an error). Errors:
// EInternal.
func (s *Store) CancelDeletion(ctx context.Context, userID uuid.UUID) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		UPDATE users SET deletion_requested_at = NULL, deletion_due_at = NULL, updated_at = now()
		WHERE id = $1 AND deletion_due_at IS NOT NULL AND deleted_at IS NULL`, userID)
	if err != nil {
		return false, internal("cancel deletion", err)
	}
	return tag.RowsAffected() > 0, nil
}

// PendingDeletion returns userID's deletion request and whether there is
// one. Errors: EInternal.
func (s *Store) PendingDeletion(ctx context.Context, userID uuid.UUID) (Deletion, bool, error) {
	var requested, due *time.Time
	err := s.db.QueryRow(ctx, `SELECT deletion_requested_at, deletion_due_at FROM users WHERE id = $1`, userID).
		Scan(&requested, &due)
	if errors.Is(err, pgx.ErrNoRows) {
		return Deletion{}, false, nil
	}
	if err != nil {
		return Deletion{}, false, internal("pending deletion", err)
	}
	if requested == nil || due == nil {
		return Deletion{}, false, nil
	}
	return Deletion{RequestedAt: *requested, DueAt: *due}, true, nil
}

// DueDeletions returns up to limit users whose deletion is due at now,
// the longest due first. Errors: EInternal.
func (s *Store) DueDeletions(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `
		SELECT id FROM users WHERE deletion_due_at <= $1 AND deleted_at IS NULL
		ORDER BY deletion_due_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, internal("due deletions", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, internal("due deletions", err)
	}
	return ids, nil
}

// DeletingUser is what the deletion job reads of a user before erasing
// them: who to tell the other packages about.
type DeletingUser struct {
	ID       uuid.UUID
	Email    string
	Username string // "" when they never chose one (no fediverse actor)
}

// LockDueDeletion locks, in tx, the user userID when their deletion is
// due at now, and returns them; ok is false when it is not due (undone
// meanwhile, or done already). Errors: the database's.
func LockDueDeletion(ctx context.Context, tx pgx.Tx, userID uuid.UUID, now time.Time) (DeletingUser, bool, error) {
	u := DeletingUser{ID: userID}
	err := tx.QueryRow(ctx, `
		SELECT email, coalesce(username, '') FROM users
		WHERE id = $1 AND deletion_due_at <= $2 AND deleted_at IS NULL FOR UPDATE`, userID, now).Scan(&u.Email, &u.Username)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil, err
}

// ScrubUser erases user u's personal data from identity's tables in tx:
// every sign-on session and grant is revoked (their rows go), every
// sign-in link of their address is deleted, and the users row keeps only
// its id, username (the fediverse actor's id is never given to someone
// else) and dates: its email becomes deleted-<id>@deleted.invalid (no
// sign-in link can reach it), its names, biography, avatar, Ghost link and
// admin flag are cleared, and deleted_at is set. Errors: the database's.
func ScrubUser(ctx context.Context, tx pgx.Tx, u DeletingUser, now time.Time) error {
	if _, err := signOutEverywhere(ctx, tx, u.ID); err != nil {
		return err
	}
	// Grants and sessions carry no personal data beyond the user agent,
	// but nothing of the user's sign-ins need stay.
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_grants WHERE user_id = $1`, u.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM sso_sessions WHERE user_id = $1`, u.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM magic_links WHERE lower(email) = lower($1)`, u.Email); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		UPDATE users SET email = 'deleted-' || id::text || '@deleted.invalid', display_name = '', bio = '',
		       avatar_url = '', ghost_author_id = NULL, ghost_author_synced = NULL, is_admin = false,
		       fediverse_locked = false, deletion_requested_at = NULL, deletion_due_at = NULL,
		       deleted_at = $2, updated_at = $2
		WHERE id = $1`, u.ID, now)
	return err
}

// DeletionQueue is the River queue the deletion job runs on: the account
// service's, worked only by account replicas.
const DeletionQueue = "account"

// DeletionEvery is how often due deletions are carried out.
const DeletionEvery = 10 * time.Minute

// DeletionArgs asks for the accounts whose deletion is due to be erased.
type DeletionArgs struct{}

// Kind names the job in River.
func (DeletionArgs) Kind() string { return "account_delete_due" }

// InsertOpts puts the job on the account queue, tried once (the next
// period's job picks up what is left), at most one waiting or running.
func (DeletionArgs) InsertOpts() river.InsertOpts { return schedule.Once(DeletionQueue) }

// DeletionPeriodic returns the periodic job that queues a DeletionArgs
// every interval: every service declares it (boot.PeriodicJobs), the
// account service works it.
func DeletionPeriodic(interval time.Duration) *river.PeriodicJob {
	return schedule.Every("account_delete_due", interval, DeletionArgs{}, true)
}
