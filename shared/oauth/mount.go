package oauth

import "github.com/go-chi/chi/v5"

// Sign-in routes every signing-in service serves (Mount).
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	LogoutPath   = "/auth/logout"
)

// Mount adds the sign-in routes to r: GET LoginPath (Login), GET
// CallbackPath (Callback) and POST LogoutPath (Logout); and makes LoginPath
// where the service's pages send visitors to sign in (web.Site.SignInPath).
// Mount them where Middleware runs, as they use the session.
func (c *Client) Mount(r chi.Router) {
	c.site.SignInPath = LoginPath
	r.Get(LoginPath, c.Login)
	r.Get(CallbackPath, c.Callback)
	r.Post(LogoutPath, c.Logout)
}
