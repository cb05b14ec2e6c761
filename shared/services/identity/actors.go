package identity

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// setActorLockedQuery sets whether a user's fediverse actor approves its
// followers by hand.
const setActorLockedQuery = `UPDATE users SET fediverse_locked = $2 WHERE id = $1`

// SetActorLocked records, in tx, whether the actor of user userID approves
// its followers by hand (manuallyApprovesFollowers). It takes the caller's
// transaction because the change goes out with the actor's Update and,
// when unlocking, with the Accepts of the waiting requests
// (activitypub.Service.SetLocked), all or none. Errors: ENotFound when
// there is no such user, EInternal.
func SetActorLocked(ctx context.Context, tx pgx.Tx, userID uuid.UUID, locked bool) error {
	tag, err := tx.Exec(ctx, setActorLockedQuery, userID, locked)
	if err != nil {
		return internal("set actor locked", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "No such account.")
	}
	return nil
}
