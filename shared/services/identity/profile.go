package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// Profile is a member's profile as their account dashboard shows and edits
// it: the user and their picture.
type Profile struct {
	models.User
	// AvatarURL is the member's picture, an http(s) URL ("" for none).
	AvatarURL string
}

const profileQuery = `SELECT ` + userColumns + `, u.avatar_url FROM users u WHERE u.id = $1`

// Profile returns the profile of user id, read now (a signed-in viewer may
// be a few seconds old). Errors: ENotFound, EInternal.
func (s *Store) Profile(ctx context.Context, id uuid.UUID) (Profile, error) {
	var p Profile
	err := s.db.QueryRow(ctx, profileQuery, id).Scan(&p.ID, &p.Email, &p.Username, &p.DisplayName, &p.IsAdmin, &p.CreatedAt, &p.AvatarURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, models.Errorf(models.ENotFound, "No such user.")
	}
	if err != nil {
		return p, internal("profile", err)
	}
	return p, nil
}

// validateProfile checks a username and display name as SetProfile and
// EditProfile take them.
func validateProfile(username, displayName string) error {
	if err := models.ValidateUsername(username); err != nil {
		return err
	}
	return models.ValidateDisplayName(displayName)
}

const setProfileQuery = `
UPDATE users u SET username = $2, display_name = $3, updated_at = now()
WHERE u.id = $1 RETURNING ` + userColumns

// setProfile writes a validated username and display name in q.
func setProfile(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id uuid.UUID, username, displayName string) (models.User, error) {
	u, err := scanUser(q.QueryRow(ctx, setProfileQuery, id, username, displayName))
	switch {
	case isUniqueViolation(err):
		return u, errUsernameTaken(username)
	case errors.Is(err, pgx.ErrNoRows):
		return u, models.Errorf(models.ENotFound, "No such user.")
	case err != nil:
		return u, internal("set profile", err)
	}
	return u, nil
}

func errUsernameTaken(username string) error {
	return models.Errorf(models.EConflict, "The username %q is taken; choose another.", username)
}

// ErrUsernameKnown is the refusal to rename a member whose username the
// fediverse already knows.
var ErrUsernameKnown = models.Errorf(models.EConflict,
	"Your username is also your fediverse address, and people there already know it (you have followers, follows or posts), so it can no longer be changed.")

// usernameKnownQuery reports whether a local actor has done anything that
// remote servers remember: every post, follow, accept, like or boost is
// one of its activities, and followers hold its id.
const usernameKnownQuery = `
SELECT EXISTS (SELECT 1 FROM ap_activities WHERE actor = $1)
    OR EXISTS (SELECT 1 FROM ap_followers WHERE local_actor = $1)
    OR EXISTS (SELECT 1 FROM ap_following WHERE local_actor = $1)`

// EditProfile sets a member's own username and display name (validated as
// SetProfile validates them: surrounding spaces are trimmed first). A
// username is the member's fediverse actor at federation (its id is
// federationURL/users/<username>), so one the fediverse already knows is
// not renamed: remote followers and posts would point at nobody. Errors:
// EInvalid, EConflict (the username is taken, or known: ErrUsernameKnown),
// ENotFound, EInternal.
func (s *Store) EditProfile(ctx context.Context, id uuid.UUID, username, displayName, federationURL string) (models.User, error) {
	username, displayName = strings.TrimSpace(username), strings.TrimSpace(displayName)
	if err := validateProfile(username, displayName); err != nil {
		return models.User{}, err
	}
	var u models.User
	err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `SELECT coalesce(username, '') FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return models.Errorf(models.ENotFound, "No such user.")
		}
		if err != nil {
			return internal("edit profile", err)
		}
		if old != "" && old != username {
			var known bool
			if err := tx.QueryRow(ctx, usernameKnownQuery, actorID(federationURL, old)).Scan(&known); err != nil {
				return internal("edit profile", err)
			}
			if known {
				return ErrUsernameKnown
			}
		}
		u, err = setProfile(ctx, tx, id, username, displayName)
		return err
	})
	if err != nil {
		return models.User{}, err
	}
	return u, nil
}

// actorID is a local user's actor id at federation, as
// activitypub.UserActorID makes it (activitypub imports this package, so
// it cannot be called from here).
func actorID(federationURL, username string) string {
	return strings.TrimRight(federationURL, "/") + "/users/" + username
}

// MaxAvatarURL is the longest avatar URL users.avatar_url holds.
const MaxAvatarURL = 2000

// SetAvatar sets (or with "" removes) a member's picture: an absolute
// http(s) URL, such as the media store's URL of an image they uploaded.
// Errors: EInvalid (not such a URL), ENotFound, EInternal.
func (s *Store) SetAvatar(ctx context.Context, id uuid.UUID, avatarURL string) error {
	if avatarURL != "" {
		p, err := url.Parse(avatarURL)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || len(avatarURL) > MaxAvatarURL {
			return models.Errorf(models.EInvalid, "A picture is an http(s) address of at most %d characters.", MaxAvatarURL)
		}
	}
	tag, err := s.db.Exec(ctx, `UPDATE users SET avatar_url = $2, updated_at = now() WHERE id = $1`, id, avatarURL)
	if err != nil {
		return internal("set avatar", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "No such user.")
	}
	return nil
}
