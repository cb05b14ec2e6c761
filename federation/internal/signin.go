package internal

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/ratelimit"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

const keySSO = "sso_session_id"

// viewer puts the user of the browser's live single-sign-on session in the
// request context. As on every service, a session that is over (revoked,
// expired, unknown) is cleared, and one that cannot be checked for the
// moment (PostgreSQL or Redis unreachable) means not signed in for this
// request (web.SignInUnavailable), with the session kept.
func (as *authServer) viewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if sessions.Unreadable(ctx) {
			next.ServeHTTP(w, r.WithContext(web.WithSignInUnavailable(ctx)))
			return
		}
		raw := as.Sessions.GetString(ctx, keySSO)
		if raw == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, err := as.ssoUser(ctx, raw)
		if err != nil && ctx.Err() != nil {
			return // the client went away mid-check
		}
		if err != nil && models.Code(err) != models.EUnauthenticated {
			as.Site.Logger.WarnContext(ctx, "federation session not checked; serving the request as a visitor's, session kept", "error", err)
			next.ServeHTTP(w, r.WithContext(web.WithSignInUnavailable(ctx)))
			return
		}
		if err != nil {
			as.Site.Logger.InfoContext(ctx, "federation session dropped", "reason", err)
			_ = as.Sessions.Destroy(ctx)
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(web.WithViewer(ctx, user)))
	})
}

func (as *authServer) ssoUser(ctx context.Context, raw string) (models.User, error) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return models.User{}, identity.ErrSignedOut
	}
	if as.ssoChecked != nil {
		if u, ok := as.ssoChecked.Get(raw); ok {
			return u, nil
		}
	}
	user, err := as.Identity.SSOSessionUser(ctx, id)
	if err != nil {
		return models.User{}, err
	}
	if as.ssoChecked != nil {
		as.ssoChecked.Add(raw, user)
	}
	return user, nil
}

// forgetSSO drops a remembered session check after a change to it.
func (as *authServer) forgetSSO(id string) {
	if as.ssoChecked != nil {
		as.ssoChecked.Remove(id)
	}
}

func (as *authServer) ssoSessionID(r *http.Request) uuid.UUID {
	id, _ := uuid.Parse(as.Sessions.GetString(r.Context(), keySSO))
	return id
}

func (as *authServer) showHome(w http.ResponseWriter, r *http.Request) {
	var user *models.User
	if u, ok := web.Viewer(r.Context()); ok {
		user = &u
	}
	as.Site.Render(w, r, http.StatusOK, FederationHome(as.Site.Page(r, ""), user, as.Site.OtherServices()))
}

// next returns where a sign-in should finish: a local path here, or a page
// on one of the platform's services.
func (as *authServer) next(raw string) string {
	return oauth.SafeNextOrOrigin(raw, as.origins)
}

func (as *authServer) showSignIn(w http.ResponseWriter, r *http.Request) {
	next := as.next(r.URL.Query().Get("next"))
	if _, ok := web.Viewer(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	page := as.Site.Page(r, "Sign in")
	page.SignInURL = "" // this is the sign-in page
	as.Site.Render(w, r, http.StatusOK, SignInPage(page, "", next, ""))
}

// sendSignInLink emails a single-use sign-in link. The page that follows is
// the same whether or not the address has an account.
func (as *authServer) sendSignInLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw := r.PostFormValue("email")
	next := as.next(r.PostFormValue("next"))
	email, err := models.NormalizeEmail(raw)
	if err != nil {
		as.Site.Render(w, r, http.StatusUnprocessableEntity, SignInPage(as.Site.Page(r, "Sign in"), raw, next, models.Message(err)))
		return
	}
	cfg := as.Site.Config.Auth
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	for _, limit := range []struct {
		key string
		n   int
	}{{"signin:ip:" + ip, cfg.SignInPerIP}, {"signin:email:" + strings.ToLower(email), cfg.SignInPerEmail}} {
		if err := as.Limiter.Allow(ctx, limit.key, limit.n, cfg.SignInWindow.Std()); err != nil {
			var limited *ratelimit.Limited
			if errors.As(err, &limited) {
				w.Header().Set("Retry-After", strconv.Itoa(int(limited.RetryAfter.Seconds())+1))
				as.Site.Render(w, r, http.StatusTooManyRequests, SignInPage(as.Site.Page(r, "Sign in"), raw, next,
					"Too many sign-in requests. Please wait a few minutes and try again."))
				return
			}
			as.Site.Error(w, r, err)
			return
		}
	}
	token, err := as.Identity.IssueMagicLink(ctx, email, next, cfg.MagicLinkTTL.Std())
	if err != nil {
		as.Site.Error(w, r, err)
		return
	}
	link := as.issuer + "/auth/magic?token=" + url.QueryEscape(token)
	minutes := int(cfg.MagicLinkTTL.Std().Minutes())
	err = as.Mail.Send(ctx, mail.Message{
		To:      email,
		Subject: "Your Rose Ash sign-in link",
		Text: "Hello,\n\nFollow this link to sign in to Rose Ash:\n\n" + link + "\n\n" +
			"It works once, for " + strconv.Itoa(minutes) + " minutes. If you did not ask to sign in, ignore this email: nothing happens without the link.\n\n" +
			"-- Rose Ash\n",
	})
	if err != nil {
		as.Site.Error(w, r, models.Wrap(models.EUnavailable, "We could not send the sign-in email just now. Please try again in a moment.", err))
		return
	}
	as.Site.Render(w, r, http.StatusOK, CheckEmailPage(as.Site.Page(r, "Check your email"), email, minutes))
}

// showMagicLink is where an emailed sign-in link lands: a page naming the
// address with a button that posts the token. A GET never signs in (a link
// planted by someone else would sign the victim into their account, and
// mail scanners that open links would use them up).
func (as *authServer) showMagicLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.URL.Query().Get("token")
	email, err := as.Identity.MagicLinkEmail(ctx, token)
	if models.Code(err) == models.EInvalid {
		as.Site.Render(w, r, http.StatusBadRequest, SignInPage(as.Site.Page(r, "Sign in"), "", "/", models.Message(err)))
		return
	}
	if err != nil {
		as.Site.Error(w, r, err)
		return
	}
	current := ""
	if u, ok := web.Viewer(ctx); ok && !strings.EqualFold(u.Email, email) {
		current = u.Name()
	}
	// The token is in this page's URL: keep it out of Referer headers and caches.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	page := as.Site.Page(r, "Sign in")
	page.SignInURL = ""
	as.Site.Render(w, r, http.StatusOK, MagicLinkPage(page, email, token, current))
}

// useMagicLink signs the browser in with a confirmed sign-in link and
// continues to where sign-in started (or to choosing a username, the first
// time). Whoever the browser was signed in as before is signed out of every
// service first, unless it is the same person.
func (as *authServer) useMagicLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	current := as.ssoSessionID(r)
	in, err := as.Identity.SignInWithMagicLink(ctx, r.PostFormValue("token"), current, as.Site.Config.Auth.SessionTTL.Std())
	if models.Code(err) == models.EInvalid {
		as.Site.Render(w, r, http.StatusBadRequest, SignInPage(as.Site.Page(r, "Sign in"), "", "/", models.Message(err)))
		return
	}
	if err != nil {
		as.Site.Error(w, r, err)
		return
	}
	if current != uuid.Nil && in.SSOSessionID != current {
		as.forgetSSO(current.String())
	}
	if in.SSOSessionID != current {
		if err := as.Sessions.RenewToken(ctx); err != nil {
			as.Site.Error(w, r, models.Wrap(models.EUnavailable, "Sign-in is unavailable right now. Please try again in a moment.", err))
			return
		}
		as.Sessions.Put(ctx, keySSO, in.SSOSessionID.String())
		// "Active sign-ins" on the account page names the device by it.
		if err := as.Identity.RecordSSOUserAgent(ctx, in.SSOSessionID, r.UserAgent()); err != nil {
			as.Site.Logger.WarnContext(ctx, "sign-in's user agent not recorded", "error", err)
		}
	}
	next := as.next(in.Next)
	if in.User.NeedsProfile() {
		http.Redirect(w, r, "/auth/welcome?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (as *authServer) showWelcome(w http.ResponseWriter, r *http.Request) {
	u, _ := web.Viewer(r.Context())
	next := as.next(r.URL.Query().Get("next"))
	if !u.NeedsProfile() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	as.Site.Render(w, r, http.StatusOK, WelcomePage(as.Site.Page(r, "Welcome"), u.Email, suggestUsername(u.Email), "", next, ""))
}

func (as *authServer) saveWelcome(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := web.Viewer(ctx)
	username := strings.TrimSpace(r.PostFormValue("username"))
	display := strings.TrimSpace(r.PostFormValue("display_name"))
	next := as.next(r.PostFormValue("next"))
	if _, err := as.Identity.SetProfile(ctx, u.ID, username, display); err != nil {
		if c := models.Code(err); c == models.EInvalid || c == models.EConflict {
			as.Site.Render(w, r, http.StatusUnprocessableEntity,
				WelcomePage(as.Site.Page(r, "Welcome"), u.Email, username, display, next, models.Message(err)))
			return
		}
		as.Site.Error(w, r, err)
		return
	}
	as.forgetSSO(as.Sessions.GetString(ctx, keySSO))
	// The account menu shown so far named the user by their email.
	if as.Site.Fragments != nil {
		if err := as.Site.Fragments.InvalidateNamed(ctx, fragments.AccountNav, &u.ID); err != nil {
			as.Site.Logger.WarnContext(ctx, "account-nav not invalidated", "error", err)
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the browser's single-sign-on session, and so its sign-in on
// every service.
func (as *authServer) signOut(w http.ResponseWriter, r *http.Request) {
	if !as.endSSO(w, r) {
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// endSession is where a service's sign-out sends the browser (a link the
// service signed, oauth.EndSessionURL): it ends whatever single-sign-on
// session the browser holds here and returns to the service. A request
// without a valid signature (a link planted elsewhere) signs nobody out
// and asks instead.
func (as *authServer) endSession(w http.ResponseWriter, r *http.Request) {
	next, ok := oauth.VerifyEndSession(as.Site.Config, r.URL.Query(), time.Now())
	if !ok {
		name := ""
		if u, signedIn := web.Viewer(r.Context()); signedIn {
			name = u.Name()
		}
		as.Site.Render(w, r, http.StatusOK, SignOutPage(as.Site.Page(r, "Sign out"), name))
		return
	}
	if !as.endSSO(w, r) {
		return
	}
	http.Redirect(w, r, as.next(next), http.StatusSeeOther)
}

// endSSO revokes the browser's single-sign-on session (and every grant
// under it) and forgets it here; when the revocation fails it has answered
// the request and returns false.
func (as *authServer) endSSO(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	raw := as.Sessions.GetString(ctx, keySSO)
	_ = as.Sessions.Destroy(ctx)
	if id, err := uuid.Parse(raw); err == nil {
		as.forgetSSO(raw)
		if err := as.Identity.RevokeSSOSession(ctx, id); err != nil {
			as.Site.Error(w, r, models.Wrap(models.EUnavailable,
				"You are signed out here, but signing out of the other services failed. Please try again.", err))
			return false
		}
	}
	return true
}

func (as *authServer) showAdminUsers(w http.ResponseWriter, r *http.Request) {
	users, err := as.Identity.Users(r.Context(), 200)
	if err != nil {
		as.Site.Error(w, r, err)
		return
	}
	as.Site.Render(w, r, http.StatusOK, AdminUsersPage(as.Site.Page(r, "Administration"), users))
}

func (as *authServer) showDevMail(w http.ResponseWriter, r *http.Request) {
	msgs, err := as.DevMail.List(100)
	if err != nil {
		as.Site.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	as.Site.Render(w, r, http.StatusOK, DevMailPage(as.Site.Page(r, "Development mail"), msgs))
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func (as *authServer) showDevMessage(w http.ResponseWriter, r *http.Request) {
	m, err := as.DevMail.Read(chi.URLParam(r, "name"))
	if errors.Is(err, fs.ErrNotExist) {
		as.Site.Error(w, r, models.Errorf(models.ENotFound, "No such message."))
		return
	}
	if err != nil {
		as.Site.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	as.Site.Render(w, r, http.StatusOK, DevMailMessage(as.Site.Page(r, m.Subject), m, linkRE.FindAllString(m.Text, -1)))
}

// suggestUsername proposes a username from the email's local part.
func suggestUsername(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	var b strings.Builder
	for _, c := range local {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteRune(c)
		case c == '.' || c == '-' || c == '+':
			b.WriteRune('_')
		}
	}
	s := b.String()
	if len(s) > 30 {
		s = s[:30]
	}
	if len(s) < 3 {
		return ""
	}
	return s
}
