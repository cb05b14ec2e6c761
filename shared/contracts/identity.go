// Package contracts holds the interfaces one part of the platform offers the
// others, with the error codes each method returns. An interface is here
// only when a second service, or a test double, needs it (Grants: every
// service signs in through it; Carts: the cart and account services);
// a store with one calling service is called as its concrete type (see
// docs/DECISIONS.md). It also keeps the value types the blog's pages and
// the posts store exchange (PostQuery, PostPage, TagCount, AuthorSummary).
package contracts

import (
	"context"
	"errors"

	"rose-ash.com/platform/shared/models"
)

// ErrTokenExpired is returned by Grants.CheckAccessToken for an access token
// that is otherwise valid but past its lifetime: the caller should refresh.
var ErrTokenExpired = models.Errorf(models.EUnauthenticated, "Your sign-in has expired.")

// IsTokenExpired reports whether err is ErrTokenExpired.
func IsTokenExpired(err error) bool { return errors.Is(err, ErrTokenExpired) }

// Grants is what the services signed in through federation ask of the
// authorization server's data, directly in the shared database.
type Grants interface {
	// CheckAccessToken returns the user an access token was issued to, when
	// the token, its grant and the single-sign-on session behind it are all
	// live. Errors: ErrTokenExpired; EUnauthenticated for any other dead or
	// unknown token; EInternal on database failure.
	CheckAccessToken(ctx context.Context, accessToken string) (models.User, error)
	// SignOut revokes the single-sign-on session behind an access token and
	// every grant issued under it, signing the browser out of every service.
	// An unknown token is not an error. Errors: EInternal.
	SignOut(ctx context.Context, accessToken string) error
}
