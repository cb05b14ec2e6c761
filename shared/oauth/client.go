// Package oauth is the client side of sign-in, shared by every service that
// signs users in through federation (blog, market, cart, events, account):
// the /auth/login, /auth/callback and /auth/logout handlers, and the
// middleware that checks on every request that the session's grant is live.
package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sessions"
	"rose-ash.com/platform/shared/web"
)

// Session keys.
const (
	keyUser     = "user_id"
	keyAccess   = "access_token"
	keyRefresh  = "refresh_token"
	keyExpiry   = "token_expiry"
	keyState    = "oauth_state"
	keyVerifier = "oauth_verifier"
	keyNext     = "oauth_next"
)

// grantCacheSize bounds the grant checks a process remembers (the least
// recently used go first).
const grantCacheSize = 50_000

// ClientSecret derives a first-party client's secret from the platform's
// secret key, so that federation and the client agree on it without another
// setting.
func ClientSecret(secretKey, clientID string) string {
	return base64.RawURLEncoding.EncodeToString(config.DeriveKey(secretKey, "oauth-client-secret:"+clientID))
}

// Client signs users of one service in through federation.
type Client struct {
	site     *web.Site
	sessions *scs.SessionManager
	grants   contracts.Grants
	http     *http.Client
	conf     oauth2.Config
	// checked remembers successful grant checks (token hash -> user) for
	// auth.grant_check_cache, in this process: nil when that is 0.
	checked *expirable.LRU[string, models.User]
	// refreshing makes the refreshes of one refresh token one call in this
	// process: a page's parallel requests at expiry share it (across
	// processes, federation's grace window gives them the same pair).
	refreshing singleflight.Group
}

// NewClient returns the sign-in client of site's service. httpClient reaches
// federation's token endpoint (internalnet.Client).
func NewClient(site *web.Site, sm *scs.SessionManager, grants contracts.Grants, httpClient *http.Client) *Client {
	cfg := site.Config
	fed := strings.TrimSuffix(cfg.Service("federation").PublicURL, "/")
	var checked *expirable.LRU[string, models.User]
	if ttl := cfg.Auth.GrantCheckCache.Std(); ttl > 0 {
		checked = expirable.NewLRU[string, models.User](grantCacheSize, nil, ttl)
	}
	return &Client{
		site: site, sessions: sm, grants: grants, http: httpClient, checked: checked,
		conf: oauth2.Config{
			ClientID:     site.Service,
			ClientSecret: ClientSecret(cfg.SecretKey, site.Service),
			RedirectURL:  site.URL(site.Service, CallbackPath),
			Endpoint: oauth2.Endpoint{
				AuthURL: fed + "/oauth/authorize", TokenURL: fed + "/oauth/token",
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
	}
}

// RedirectURI returns the callback URL federation must have registered.
func RedirectURI(cfg *config.Config, service string) string {
	return strings.TrimSuffix(cfg.Service(service).PublicURL, "/") + CallbackPath
}

// Login starts sign-in: it remembers where to return (a local path only),
// a random state and a PKCE verifier in the session, and sends the browser
// to federation. A user already signed in there comes straight back.
func (c *Client) Login(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if next == "" {
		next = refererPath(r)
	}
	next = SafeNext(next)
	if _, ok := web.Viewer(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	ctx := r.Context()
	c.sessions.Put(ctx, keyState, state)
	c.sessions.Put(ctx, keyVerifier, verifier)
	c.sessions.Put(ctx, keyNext, next)
	http.Redirect(w, r, c.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// Callback finishes sign-in: it checks the state, exchanges the code (with
// the PKCE verifier) for tokens, starts a fresh session (new id) for the
// user, and returns to the page sign-in started from.
func (c *Client) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	want := c.sessions.PopString(ctx, keyState)
	verifier := c.sessions.PopString(ctx, keyVerifier)
	next := SafeNext(c.sessions.PopString(ctx, keyNext))
	if e := q.Get("error"); e == "temporarily_unavailable" || e == "server_error" {
		c.site.Error(w, r, models.Errorf(models.EUnavailable, "Signing in is unavailable for a moment. Please try again shortly."))
		return
	} else if e != "" {
		c.site.Error(w, r, models.Errorf(models.EUnauthenticated, "Sign-in did not complete (%s). Please try again.", e))
		return
	}
	if want == "" || q.Get("state") == "" || !hmac.Equal([]byte(q.Get("state")), []byte(want)) || verifier == "" {
		c.site.Error(w, r, models.Errorf(models.EInvalid,
			"This sign-in could not be verified: it may have been started in another browser or tab, or taken too long. Please sign in again."))
		return
	}
	tok, err := c.conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.http), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			c.site.Error(w, r, models.Wrap(models.EUnauthenticated, "Sign-in was refused. Please try again.", err))
			return
		}
		c.site.Error(w, r, models.Wrap(models.EUnavailable, "Sign-in is unavailable right now. Please try again in a moment.", err))
		return
	}
	user, err := c.grants.CheckAccessToken(ctx, tok.AccessToken)
	if err != nil {
		c.site.Error(w, r, err)
		return
	}
	if err := c.sessions.RenewToken(ctx); err != nil {
		c.site.Error(w, r, models.Wrap(models.EUnavailable, "Sign-in is unavailable right now. Please try again in a moment.", err))
		return
	}
	c.store(ctx, user.ID, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Client) store(ctx context.Context, userID uuid.UUID, tok *oauth2.Token) {
	c.sessions.Put(ctx, keyUser, userID.String())
	c.sessions.Put(ctx, keyAccess, tok.AccessToken)
	c.sessions.Put(ctx, keyRefresh, tok.RefreshToken)
	c.sessions.Put(ctx, keyExpiry, tok.Expiry.UTC().Format(time.RFC3339))
}

// Logout signs the browser out everywhere: it revokes the single-sign-on
// session behind this session's grant (so every service drops the user
// within the grant-check cache time), forgets the session here, and sends
// the browser through federation's end-session endpoint, which ends
// whatever sign-in federation holds for this browser (it may be another
// person's than this service's, or outlive it) and comes back here.
func (c *Client) Logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok := c.sessions.GetString(ctx, keyAccess)
	_ = c.sessions.Destroy(ctx)
	if tok != "" {
		if c.checked != nil {
			c.checked.Remove(tokenHash(tok))
		}
		if err := c.grants.SignOut(ctx, tok); err != nil {
			c.site.Error(w, r, models.Wrap(models.EUnavailable,
				"You are signed out here, but signing out of the other services failed. Please try again.", err))
			return
		}
	}
	http.Redirect(w, r, EndSessionURL(c.site.Config, c.site.Service, c.site.URL(c.site.Service, "/"), time.Now()), http.StatusSeeOther)
}

// Middleware puts the signed-in user in the request context after checking
// that the session's grant is live and belongs to the session's user. A
// session whose grant is dead (revoked, unknown, another user's, refused at
// refresh) or that has a user but no token is cleared. A grant that cannot be
// checked for the moment (PostgreSQL, Redis or federation unreachable) means
// not signed in for this request, marked web.SignInUnavailable, with the
// session kept: once the check works again a live grant signs the user back
// in and a dead one clears the session. It loads and saves the service's
// session around the request itself.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return sessions.LoadAndSave(c.sessions)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if sessions.Unreadable(ctx) {
			next.ServeHTTP(w, r.WithContext(web.WithSignInUnavailable(ctx)))
			return
		}
		uid := c.sessions.GetString(ctx, keyUser)
		if uid == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, err := c.check(ctx, uid)
		if err != nil && ctx.Err() != nil {
			return // the client went away mid-check: nothing to answer, and no reason to drop the session
		}
		if err != nil && !signedOut(err) {
			c.site.Logger.WarnContext(ctx, "grant not checked; serving the request as a visitor's, session kept", "error", err)
			next.ServeHTTP(w, r.WithContext(web.WithSignInUnavailable(ctx)))
			return
		}
		if err != nil {
			c.site.Logger.InfoContext(ctx, "session dropped", "reason", err)
			_ = c.sessions.Destroy(ctx)
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(web.WithViewer(ctx, user)))
	}))
}

var (
	errNoToken      = errors.New("session has a user but no grant token")
	errForeignGrant = errors.New("grant belongs to another user")
)

// signedOut reports whether a grant check's error says the session is over
// for good, as opposed to a check that could not be made.
func signedOut(err error) bool {
	if errors.Is(err, errNoToken) || errors.Is(err, errForeignGrant) || models.Code(err) == models.EUnauthenticated {
		return true
	}
	// The token endpoint refused the refresh token (RFC 6749 5.2): 400 or
	// 401 with invalid_grant, invalid_client... A 5xx is federation's
	// trouble, not the grant's.
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
}

func (c *Client) check(ctx context.Context, uid string) (models.User, error) {
	tok := c.sessions.GetString(ctx, keyAccess)
	if tok == "" {
		return models.User{}, errNoToken
	}
	key := tokenHash(tok)
	if c.checked != nil {
		if u, ok := c.checked.Get(key); ok {
			if u.ID.String() != uid {
				return models.User{}, fmt.Errorf("cached check: %w", errForeignGrant)
			}
			return u, nil
		}
	}
	user, err := c.grants.CheckAccessToken(ctx, tok)
	if contracts.IsTokenExpired(err) {
		user, tok, err = c.refresh(ctx)
		key = tokenHash(tok)
	}
	if err != nil {
		return models.User{}, err
	}
	if user.ID.String() != uid {
		return models.User{}, errForeignGrant
	}
	if c.checked != nil {
		c.checked.Add(key, user)
	}
	return user, nil
}

// refreshed is what one refresh gives every request that waited for it.
type refreshed struct {
	user models.User
	tok  *oauth2.Token
}

// refresh trades the session's refresh token for a new pair (rotation) and
// stores it. Concurrent refreshes of the same token in this process are one
// call to federation, detached from any one request (a request that gives
// up must not fail the others).
func (c *Client) refresh(ctx context.Context) (models.User, string, error) {
	rt := c.sessions.GetString(ctx, keyRefresh)
	v, err, _ := c.refreshing.Do(tokenHash(rt), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		old := &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}
		tok, err := c.conf.TokenSource(context.WithValue(rctx, oauth2.HTTPClient, c.http), old).Token()
		if err != nil {
			return nil, err
		}
		user, err := c.grants.CheckAccessToken(rctx, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		return refreshed{user: user, tok: tok}, nil
	})
	if err != nil {
		return models.User{}, "", err
	}
	got := v.(refreshed)
	c.store(ctx, got.user.ID, got.tok)
	return got.user, got.tok.AccessToken, nil
}

// refreshTimeout bounds one refresh at federation.
const refreshTimeout = 10 * time.Second

// tokenHash keys the grant-check cache, so the cache holds no usable token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// refererPath returns the path of a same-host Referer, so that a plain
// "Sign in" link (as the shared account menu renders it) returns to the page
// it was clicked on.
func refererPath(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return ""
	}
	return ref.RequestURI()
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
