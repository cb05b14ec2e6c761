package oauth

import "context"

// AccessToken returns the access token of the grant held by the session
// of ctx's request ("" when signed out): the account service tells "this
// device" among the user's sign-ins by the grant's sign-on session.
func (c *Client) AccessToken(ctx context.Context) string {
	return c.sessions.GetString(ctx, keyAccess)
}

// Forget ends this service's session of ctx's request without revoking
// anything (the caller revoked the grant already, as a sign out
// everywhere does): the session is destroyed and its grant check is no
// longer trusted from the cache. Errors: the session store's.
func (c *Client) Forget(ctx context.Context) error {
	if tok := c.sessions.GetString(ctx, keyAccess); tok != "" && c.checked != nil {
		c.checked.Remove(tokenHash(tok))
	}
	return c.sessions.Destroy(ctx)
}
