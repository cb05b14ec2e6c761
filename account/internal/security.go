package internal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/web"
)

// securityView is the dashboard's "Security" and "Your data" sections:
// the member's live sign-ins, and their account deletion if one is asked
// for (the banner with "Keep my account").
type securityView struct {
	sessions []sessionRow
	deletion *identity.Deletion
	// graceDays is how many days a deletion waits (account.deletion_grace).
	graceDays int
}

// sessionRow is one live sign-in in the Security section.
type sessionRow struct {
	ID         uuid.UUID
	Device     string
	SignedIn   string
	LastSeen   string
	ThisDevice bool
}

type securityKey struct{}

// loadSecurity puts the dashboard's securityView of the signed-in member
// in the request's context (securityFrom); visitors pass through.
func loadSecurity(site *web.Site, auth *oauth.Client, ids *identity.Store) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := web.Viewer(r.Context())
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			v, err := securityOf(r.Context(), site, auth, ids, u.ID, time.Now())
			if err != nil {
				site.Error(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), securityKey{}, v)))
		})
	}
}

// securityFrom returns what loadSecurity put in ctx (nil for none).
func securityFrom(ctx context.Context) *securityView {
	v, _ := ctx.Value(securityKey{}).(*securityView)
	return v
}

func securityOf(ctx context.Context, site *web.Site, auth *oauth.Client, ids *identity.Store, userID uuid.UUID, now time.Time) (*securityView, error) {
	list, err := ids.SSOSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	here, err := ids.SSOSessionOfToken(ctx, auth.AccessToken(ctx))
	if err != nil {
		return nil, err
	}
	v := &securityView{graceDays: int(site.Config.Account.Grace().Hours() / 24)}
	for _, s := range list {
		v.sessions = append(v.sessions, sessionRow{ID: s.ID, Device: describeDevice(s.UserAgent),
			SignedIn: s.CreatedAt.UTC().Format("2 Jan 2006, 15:04 MST"), LastSeen: ago(s.LastSeenAt, now),
			ThisDevice: s.ID == here})
	}
	d, pending, err := ids.PendingDeletion(ctx, userID)
	if err != nil {
		return nil, err
	}
	if pending {
		v.deletion = &d
	}
	return v, nil
}

// signOutEverywhere ends every sign-in of the member, on every device and
// service (each forgets them within auth.grant_check_cache), forgets this
// service's session and says so.
func signOutEverywhere(site *web.Site, auth *oauth.Client, ids *identity.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _ := web.Viewer(r.Context())
		if _, err := ids.SignOutEverywhere(r.Context(), u.ID); err != nil {
			site.Error(w, r, err)
			return
		}
		if err := auth.Forget(r.Context()); err != nil {
			site.Logger.WarnContext(r.Context(), "account session not forgotten after sign out everywhere", "error", err)
		}
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
	}
}

// showSignedOut is the page after a sign out everywhere (a visitor's page
// by then).
func showSignedOut(site *web.Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site.Render(w, r, http.StatusOK, SignedOutEverywherePage(site.Page(r, "Signed out everywhere")))
	}
}

// revokeSession ends one of the member's sign-ins (a device); one that is
// not theirs, or over already, is 404. Revoking this device's own sign-in
// signs this browser out too.
func revokeSession(site *web.Site, auth *oauth.Client, ids *identity.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _ := web.Viewer(r.Context())
		id, err := uuid.Parse(chi.URLParam(r, "id"))
		if err != nil {
			site.Error(w, r, models.Errorf(models.ENotFound, "That sign-in is not one of yours, or has ended already."))
			return
		}
		here, err := ids.SSOSessionOfToken(r.Context(), auth.AccessToken(r.Context()))
		if err != nil {
			site.Error(w, r, err)
			return
		}
		if err := ids.RevokeUserSSOSession(r.Context(), u.ID, id); err != nil {
			site.Error(w, r, err)
			return
		}
		if id == here {
			if err := auth.Forget(r.Context()); err != nil {
				site.Logger.WarnContext(r.Context(), "account session not forgotten after revoking it", "error", err)
			}
		}
		http.Redirect(w, r, "/#security", http.StatusSeeOther)
	}
}

// describeDevice names a browser and its system in a few words from its
// User-Agent ("Firefox on Linux"); "Unknown device" when it says nothing
// we know.
func describeDevice(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return "Unknown device"
}

// ago says how long before now t was, in rough words.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 2*time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " minutes ago"
	case d < 2*time.Hour:
		return "an hour ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " hours ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}
