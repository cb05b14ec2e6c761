package web

import (
	"context"
	"net/http"
	"net/url"

	"rose-ash.com/platform/shared/models"
)

type viewerKey struct{}

// WithViewer returns a context carrying the signed-in user.
func WithViewer(ctx context.Context, u models.User) context.Context {
	return context.WithValue(ctx, viewerKey{}, u)
}

// Viewer returns the signed-in user of the request's context, if any.
func Viewer(ctx context.Context) (models.User, bool) {
	u, ok := ctx.Value(viewerKey{}).(models.User)
	return u, ok
}

// SignInUnavailableNotice is the notice on pages served as a visitor's to a
// browser whose sign-in cannot be checked for the moment.
const SignInUnavailableNotice = "Signing in is unavailable for a moment: you are seeing the site as a visitor. Your sign-in is kept; reload in a little while."

type signInUnavailableKey struct{}

// WithSignInUnavailable marks a request whose browser has a sign-in that
// cannot be checked just now (PostgreSQL or Redis unreachable): it is served
// as a visitor's, with a notice, while the session is kept for when the
// check works again.
func WithSignInUnavailable(ctx context.Context) context.Context {
	return context.WithValue(ctx, signInUnavailableKey{}, true)
}

// SignInUnavailable reports whether WithSignInUnavailable marked ctx.
func SignInUnavailable(ctx context.Context) bool {
	v, _ := ctx.Value(signInUnavailableKey{}).(bool)
	return v
}

// RequireUser sends visitors who are not signed in to sign in, coming back
// to the page they asked for. A browser whose sign-in cannot be checked for
// the moment gets 503 with Retry-After instead: sending it to sign in again
// would not help, and its session is still there.
func (s *Site) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := Viewer(r.Context()); !ok {
			if SignInUnavailable(r.Context()) {
				s.Error(w, r, models.Errorf(models.EUnavailable,
					"Signing in is unavailable for a moment, so this page cannot be shown. Please try again shortly."))
				return
			}
			http.Redirect(w, r, s.signInURL(r), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireAdmin lets only admins through: visitors who are not signed in are
// sent to sign in, other users get 403.
func (s *Site) RequireAdmin(next http.Handler) http.Handler {
	return s.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := Viewer(r.Context()); !u.IsAdmin {
			s.Error(w, r, models.Errorf(models.EForbidden, "This page is for administrators."))
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func (s *Site) signInURL(r *http.Request) string {
	if s.SignInPath == "" {
		return "/"
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = "/"
	}
	return s.SignInPath + "?next=" + url.QueryEscape(next)
}
