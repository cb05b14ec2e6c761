package internal

import (
	"context"
	"net/http"

	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/web"
)

// memberNewsletters is the dashboard's Newsletters section of a member:
// the lists with their state, and the address they go to.
type memberNewsletters struct {
	Lists []newsletters.ListState
	Email string
}

type newslettersKey struct{}

// loadNewsletters puts the signed-in member's memberNewsletters in the
// request's context (newslettersFrom) for the dashboard; visitors pass
// through, and so does everyone when store is nil.
func loadNewsletters(site *web.Site, store *newsletters.Store) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := web.Viewer(r.Context())
			if !ok || store == nil {
				next.ServeHTTP(w, r)
				return
			}
			lists, err := store.MemberLists(r.Context(), u.ID, u.Email)
			if err != nil {
				site.Error(w, r, err)
				return
			}
			v := &memberNewsletters{Lists: lists, Email: u.Email}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), newslettersKey{}, v)))
		})
	}
}

// newslettersFrom returns what loadNewsletters put in ctx (nil for none).
func newslettersFrom(ctx context.Context) *memberNewsletters {
	v, _ := ctx.Value(newslettersKey{}).(*memberNewsletters)
	return v
}

// stateText is a subscription's state in words.
func stateText(status string) string {
	switch status {
	case newsletters.StatusConfirmed:
		return "subscribed"
	case newsletters.StatusUnconfirmed:
		return "waiting for you to confirm by the mailed link"
	case newsletters.StatusUnsubscribed:
		return "unsubscribed"
	}
	return "not subscribed"
}

type newsletterStoreKey struct{}

// withNewsletterStore puts store in the request's context
// (newsletterStoreFrom) for the data export; nil puts nothing.
func withNewsletterStore(store *newsletters.Store) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if store != nil {
				r = r.WithContext(context.WithValue(r.Context(), newsletterStoreKey{}, store))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// newsletterStoreFrom returns what withNewsletterStore put in ctx (nil for none).
func newsletterStoreFrom(ctx context.Context) *newsletters.Store {
	s, _ := ctx.Value(newsletterStoreKey{}).(*newsletters.Store)
	return s
}
