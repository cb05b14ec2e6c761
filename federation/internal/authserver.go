package internal

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/web"
)

// client is a registered OAuth client: one of the first-party services.
type client struct {
	id, secret, redirectURI string
}

// authServer holds federation's sign-in and authorization-server handlers.
type authServer struct {
	Deps
	issuer  string
	clients map[string]client
	origins []string // public origins a sign-in may finish on
	life    identity.Lifetimes
	// ssoChecked remembers live single-sign-on sessions (id -> user) for
	// auth.grant_check_cache, in this process; nil when that is 0.
	ssoChecked *expirable.LRU[string, models.User]
}

func newAuthServer(d Deps) *authServer {
	cfg := d.Site.Config
	as := &authServer{Deps: d, issuer: strings.TrimSuffix(cfg.Service("federation").PublicURL, "/"),
		clients: map[string]client{},
		life: identity.Lifetimes{Code: cfg.Auth.CodeTTL.Std(), Access: cfg.Auth.AccessTokenTTL.Std(),
			Refresh: cfg.Auth.RefreshTokenTTL.Std(), RefreshGrace: identity.DefaultRefreshGrace}}
	if ttl := cfg.Auth.GrantCheckCache.Std(); ttl > 0 {
		as.ssoChecked = expirable.NewLRU[string, models.User](50_000, nil, ttl)
	}
	for _, name := range config.Services {
		as.origins = append(as.origins, strings.TrimSuffix(cfg.Service(name).PublicURL, "/"))
		if name == "federation" {
			continue
		}
		as.clients[name] = client{id: name, secret: oauth.ClientSecret(cfg.SecretKey, name),
			redirectURI: oauth.RedirectURI(cfg, name)}
	}
	return as
}

// showMetadata serves RFC 8414 authorization server metadata.
func (as *authServer) showMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         as.issuer,
		"authorization_endpoint":                         as.issuer + "/oauth/authorize",
		"token_endpoint":                                 as.issuer + "/oauth/token",
		"revocation_endpoint":                            as.issuer + "/oauth/revoke",
		"userinfo_endpoint":                              as.issuer + "/oauth/userinfo",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post"},
		"authorization_response_iss_parameter_supported": true,
		"scopes_supported":                               []string{},
	})
}

// authorize is the authorization endpoint. A request that names an unknown
// client or an unregistered redirect URI is refused on a page of its own,
// never redirected (that would make federation an open redirector). Other
// errors go back to the client as RFC 6749 error parameters.
func (as *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cl, ok := as.clients[q.Get("client_id")]
	if !ok {
		as.Site.Error(w, r, models.Errorf(models.EInvalid, "Unknown application: this sign-in request did not come from a Rose Ash service."))
		return
	}
	if q.Get("redirect_uri") != cl.redirectURI {
		as.Site.Error(w, r, models.Errorf(models.EInvalid, "This sign-in request names a return address that is not registered for %s.", cl.id))
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		params.Set("iss", as.issuer)
		http.Redirect(w, r, cl.redirectURI+"?"+params.Encode(), http.StatusSeeOther)
	}
	fail := func(code, description string) {
		back(url.Values{"error": {code}, "error_description": {description}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only the code flow is supported")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "code_challenge must be a base64url SHA-256")
		return
	case q.Get("state") == "":
		fail("invalid_request", "state is required")
		return
	}
	user, signedIn := web.Viewer(r.Context())
	if !signedIn && web.SignInUnavailable(r.Context()) {
		// The browser's sign-in here cannot be checked for the moment:
		// asking it to sign in again would not help.
		fail("temporarily_unavailable", "sign-in cannot be checked for the moment")
		return
	}
	if !signedIn {
		if q.Get("prompt") == "none" {
			fail("login_required", "the user is not signed in")
			return
		}
		http.Redirect(w, r, "/auth/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if user.NeedsProfile() {
		if q.Get("prompt") == "none" {
			fail("interaction_required", "the user has to finish setting up their account")
			return
		}
		http.Redirect(w, r, "/auth/welcome?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	code, err := as.Identity.IssueCode(r.Context(), identity.CodeRequest{
		SSOSessionID: as.ssoSessionID(r), UserID: user.ID, ClientID: cl.id,
		RedirectURI: cl.redirectURI, CodeChallenge: q.Get("code_challenge"),
	}, as.life.Code)
	if err != nil {
		fail("server_error", "the authorization server failed")
		as.Site.Logger.ErrorContext(r.Context(), "issue code", "error", err)
		return
	}
	// "Last seen" of the sign-in (at most once a minute).
	if err := as.Identity.TouchSSOSession(r.Context(), as.ssoSessionID(r)); err != nil {
		as.Site.Logger.WarnContext(r.Context(), "sign-in's last use not recorded", "error", err)
	}
	back(url.Values{"code": {code}})
}

// authenticateClient checks HTTP Basic or form client credentials.
func (as *authServer) authenticateClient(r *http.Request) (client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: both parts are form-encoded inside Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	cl, ok := as.clients[id]
	if !ok || secret == "" || !hmac.Equal([]byte(secret), []byte(cl.secret)) {
		return client{}, false
	}
	return cl, true
}

// clientRequest reads a client's form post to the token or revocation
// endpoint and authenticates the client; when it cannot, it has answered
// the request (400 or 401) and returns false.
func (as *authServer) clientRequest(w http.ResponseWriter, r *http.Request) (client, bool) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return client{}, false
	}
	cl, ok := as.authenticateClient(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="rose-ash"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return client{}, false
	}
	return cl, true
}

// token is the token endpoint: authorization_code (with PKCE) and
// refresh_token grants.
func (as *authServer) token(w http.ResponseWriter, r *http.Request) {
	cl, ok := as.clientRequest(w, r)
	if !ok {
		return
	}
	var (
		pair identity.TokenPair
		err  error
	)
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		if r.PostForm.Get("code") == "" || r.PostForm.Get("code_verifier") == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "code and code_verifier are required")
			return
		}
		pair, err = as.Identity.ExchangeCode(r.Context(), r.PostForm.Get("code"), cl.id,
			r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"), as.life)
	case "refresh_token":
		if r.PostForm.Get("refresh_token") == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
			return
		}
		pair, err = as.Identity.Refresh(r.Context(), r.PostForm.Get("refresh_token"), cl.id, as.life)
		if err == nil {
			// "Last seen" of the sign-in the grant is under (at most once a minute).
			if terr := as.Identity.TouchSSOSessionOfToken(r.Context(), pair.AccessToken); terr != nil {
				as.Site.Logger.WarnContext(r.Context(), "sign-in's last use not recorded", "error", terr)
			}
		}
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code and refresh_token are supported")
		return
	}
	if errors.Is(err, identity.ErrInvalidGrant) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code or refresh token is invalid, expired, revoked or was issued to another client")
		return
	}
	if err != nil {
		as.Site.Logger.ErrorContext(r.Context(), "token endpoint", "error", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "the authorization server failed")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": pair.AccessToken, "token_type": "Bearer",
		"expires_in":    int(pair.ExpiresIn.Seconds()),
		"refresh_token": pair.RefreshToken,
	})
}

// revoke is the RFC 7009 revocation endpoint. It answers 200 for unknown
// tokens too, as the RFC asks.
func (as *authServer) revoke(w http.ResponseWriter, r *http.Request) {
	cl, ok := as.clientRequest(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("token") == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	if err := as.Identity.RevokeToken(r.Context(), r.PostForm.Get("token"), cl.id); err != nil {
		as.Site.Logger.ErrorContext(r.Context(), "revoke", "error", err)
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// userinfo returns the bearer token's user.
func (as *authServer) userinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rose-ash"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "a bearer token is required")
		return
	}
	u, err := as.Identity.CheckAccessToken(r.Context(), tok)
	if models.Code(err) == models.EUnauthenticated {
		desc := "the token is invalid or revoked"
		if contracts.IsTokenExpired(err) {
			desc = "the token has expired"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rose-ash", error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", desc)
		return
	}
	if err != nil {
		as.Site.Logger.ErrorContext(r.Context(), "userinfo", "error", err)
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sub": u.ID.String(), "email": u.Email, "preferred_username": u.Username,
		"name": u.Name(), "is_admin": u.IsAdmin,
	})
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
