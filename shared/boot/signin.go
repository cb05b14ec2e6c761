package boot

import (
	"rose-ash.com/platform/shared/internalnet"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/identity"
)

// SignIn returns the service's sign-in client: users sign in through
// federation, grants are checked against the database, and federation's
// token endpoint is reached over the internal network. Every service but
// federation (the authorization server itself) mounts it (oauth.Client.Mount).
func (d Deps) SignIn() *oauth.Client {
	return oauth.NewClient(d.Site, d.Sessions, identity.New(d.DB), internalnet.Client(d.Config))
}
