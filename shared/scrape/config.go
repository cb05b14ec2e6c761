package scrape

import (
	"net/netip"

	"rose-ash.com/platform/shared/config"
)

// PrivateNetworks are what scrape.allow_private_address opens (development
// and tests; production refuses it): loopback and private networks, not
// link-local, where cloud metadata lives.
var PrivateNetworks = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

// ConfigOptions are the fetch options cfg's scrape section asks for: its
// User-Agent (by default naming the platform and the blog's public URL),
// its delay per host (0s: none), and private addresses where allowed.
func ConfigOptions(cfg *config.Config) FetchOptions {
	c := cfg.Scrape
	opts := FetchOptions{UserAgent: c.UserAgent, Delay: c.Delay.Std()}
	if opts.UserAgent == "" {
		opts.UserAgent = UserAgent(cfg.Service("blog").PublicURL)
	}
	if opts.Delay == 0 {
		opts.Delay = -1 // scrape.delay 0s: none
	}
	if c.AllowPrivateAddress { // config.Load refuses it in production
		opts.Allow = PrivateNetworks
	}
	return opts
}
