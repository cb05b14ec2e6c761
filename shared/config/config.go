// Package config loads the platform's runtime configuration: the YAML file
// _config/app-config.yaml, then environment variables on top of it. It is
// loaded once at start-up and passed down; nothing else reads the environment.
package config

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	outmail "rose-ash.com/platform/shared/mail"
)

// Services lists the six services in the order they are shown to users.
var Services = []string{"blog", "market", "cart", "events", "federation", "account"}

// DefaultFile is where the config file is looked for when CONFIG_FILE is unset,
// relative to the working directory.
const DefaultFile = "_config/app-config.yaml"

// Config is the whole runtime configuration.
type Config struct {
	// Environment is "development" or "production".
	Environment string `yaml:"environment"`
	// Log selects the log format and level.
	Log Log `yaml:"log"`
	// HTTP holds server timeouts and the proxies trusted for client addresses.
	HTTP HTTP `yaml:"http"`
	// Database holds pool settings; its URL comes from the environment only.
	Database Database `yaml:"database"`
	// RedisPrefix namespaces every Redis key (REDIS_KEY_PREFIX).
	RedisPrefix string `yaml:"redis_key_prefix"`
	// RunMigrations makes the blog apply migrations at start-up. Other services ignore it.
	RunMigrations bool `yaml:"run_migrations"`
	// Services holds each service's addresses, keyed by service name.
	Services map[string]Service `yaml:"services"`
	// Auth holds sign-in lifetimes and limits.
	Auth Auth `yaml:"auth"`
	// Mail selects how email is sent.
	Mail Mail `yaml:"mail"`
	// Fragments configures page composition from other services' fragments.
	Fragments Fragments `yaml:"fragments"`
	// Ghost is the Ghost site the blog imports from (optional).
	Ghost Ghost `yaml:"ghost"`
	// ActivityPub configures federation with other servers.
	ActivityPub ActivityPub `yaml:"activitypub"`
	// PageCache configures the blog's full-page cache for anonymous visitors.
	PageCache PageCache `yaml:"page_cache"`
	// Media configures where uploaded images are stored and how large they may be.
	Media Media `yaml:"media"`
	// Scrape configures the product scraper the market imports with.
	Scrape Scrape `yaml:"scrape"`
	// SumUp configures online payments through SumUp (the cart).
	SumUp SumUp `yaml:"sumup"`
	// Account configures the account service (deletion's grace period).
	Account Account `yaml:"account"`
	// Newsletters configures the mailing lists' subscriptions and bounces.
	Newsletters Newsletters `yaml:"newsletters"`

	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL or DATABASE_URL_FILE).
	DatabaseURL string `yaml:"-"`
	// MigrateDatabaseURL, when set, is the direct connection (not through
	// PgBouncer) migrations use (MIGRATE_DATABASE_URL or
	// MIGRATE_DATABASE_URL_FILE); see MigrationURL.
	MigrateDatabaseURL string `yaml:"-"`
	// RedisURL is the Redis connection string (REDIS_URL or REDIS_URL_FILE).
	RedisURL string `yaml:"-"`
	// SecretKey signs sessions and internal headers (SECRET_KEY or SECRET_KEY_FILE).
	SecretKey string `yaml:"-"`
	// GhostContentKey reads Ghost's Content API (GHOST_CONTENT_KEY or _FILE).
	GhostContentKey string `yaml:"-"`
	// GhostWebhookSecret checks Ghost's webhook signatures (GHOST_WEBHOOK_SECRET or _FILE).
	GhostWebhookSecret string `yaml:"-"`
	// SMTPPassword authenticates to the SMTP relay (SMTP_PASSWORD or SMTP_PASSWORD_FILE).
	SMTPPassword string `yaml:"-"`
	// MailDKIMPrivateKey is the PEM private key (RSA or Ed25519) that signs
	// outgoing mail for mail.dkim.domain (MAIL_DKIM_PRIVATE_KEY or
	// MAIL_DKIM_PRIVATE_KEY_FILE); never in the file, never logged.
	MailDKIMPrivateKey string `yaml:"-"`
	// NewsletterBounceSecret is the bearer token the relay's bounce webhook
	// sends (NEWSLETTER_BOUNCE_SECRET or _FILE); empty: the webhook refuses
	// every request.
	NewsletterBounceSecret string `yaml:"-"`
}

// Auth configures sign-in: federation's authorization server and every
// service's session.
type Auth struct {
	// MagicLinkTTL is how long an emailed sign-in link works (at most 15m).
	MagicLinkTTL Duration `yaml:"magic_link_ttl"`
	// CodeTTL is how long an authorization code works (at most 60s).
	CodeTTL Duration `yaml:"code_ttl"`
	// AccessTokenTTL is an access token's lifetime; services refresh after it.
	AccessTokenTTL Duration `yaml:"access_token_ttl"`
	// RefreshTokenTTL is a refresh token's lifetime.
	RefreshTokenTTL Duration `yaml:"refresh_token_ttl"`
	// SessionTTL is how long a sign-in lasts, at federation and in each service's cookie.
	SessionTTL Duration `yaml:"session_ttl"`
	// GrantCheckCache is how long a service trusts a grant check; it bounds
	// how late a sign-out elsewhere takes effect (at most 10s).
	GrantCheckCache Duration `yaml:"grant_check_cache"`
	// SignInPerEmail and SignInPerIP cap sign-in link requests per window.
	SignInPerEmail int `yaml:"signin_per_email"`
	SignInPerIP    int `yaml:"signin_per_ip"`
	// SignInWindow is the rate-limit window.
	SignInWindow Duration `yaml:"signin_window"`
}

// Account configures the account service.
type Account struct {
	// DeletionGrace is how long after a member asks for their account to
	// be deleted it is erased; until then they can keep it (0: 14 days).
	DeletionGrace Duration `yaml:"deletion_grace"`
}

// Newsletters configures the mailing lists (shared/services/newsletters).
type Newsletters struct {
	// SoftBounceLimit is how many soft bounces of an address put it on the
	// suppression list (NEWSLETTER_SOFT_BOUNCE_LIMIT; 0: 3).
	SoftBounceLimit int `yaml:"soft_bounce_limit"`
	// UnsubscribeMailto, when set, is the address offered in every list
	// message's List-Unsubscribe besides the one-click link
	// (NEWSLETTER_UNSUBSCRIBE_MAILTO); the operator's mailbox there handles
	// what arrives.
	UnsubscribeMailto string `yaml:"unsubscribe_mailto"`
	// SendRate is how many campaign messages per second the account
	// service's sender hands to the relay (NEWSLETTER_SEND_RATE; 0: no
	// limit).
	SendRate float64 `yaml:"send_rate"`
	// WindowCap is how many campaign messages may go out in any Window,
	// over all campaigns (NEWSLETTER_WINDOW_CAP; 0: no cap).
	WindowCap int `yaml:"window_cap"`
	// Window is the sliding window of WindowCap (NEWSLETTER_WINDOW; 0: 1h).
	Window Duration `yaml:"window"`
	// Concurrency is how many campaign messages are handed to the relay at
	// once (NEWSLETTER_CONCURRENCY; 0: 4).
	Concurrency int `yaml:"concurrency"`
	// SubscribePerIP is how many subscribe requests (each may mail a
	// confirmation to any address) one client address may make in an hour
	// (NEWSLETTER_SUBSCRIBE_PER_IP; 0: 30).
	SubscribePerIP int `yaml:"subscribe_per_ip"`
}

// DefaultSubscribePerIP is newsletters.subscribe_per_ip when it is 0.
const DefaultSubscribePerIP = 30

// SubscribeLimit returns SubscribePerIP, or DefaultSubscribePerIP when it
// is 0.
func (n Newsletters) SubscribeLimit() int {
	if n.SubscribePerIP == 0 {
		return DefaultSubscribePerIP
	}
	return n.SubscribePerIP
}

// DefaultDeletionGrace is account.deletion_grace when it is not set.
const DefaultDeletionGrace = 14 * 24 * time.Hour

// Grace returns DeletionGrace, or DefaultDeletionGrace when it is 0.
func (a Account) Grace() time.Duration {
	if a.DeletionGrace == 0 {
		return DefaultDeletionGrace
	}
	return a.DeletionGrace.Std()
}

// Ghost configures the one-way sync from a Ghost site into the blog.
type Ghost struct {
	// URL is the Ghost site's address; empty turns the sync off.
	URL string `yaml:"url"`
	// SyncInterval is how often the blog syncs (and reconciles deletions)
	// besides Ghost's webhooks; 0 turns the periodic sync off.
	SyncInterval Duration `yaml:"sync_interval"`
	// AllowPrivateAddress lets the Ghost client reach a Ghost site on
	// loopback or a private network, which the SSRF-safe client otherwise
	// refuses: for development and tests; refused in production.
	AllowPrivateAddress bool `yaml:"allow_private_address"`
	// MembersPosts is what the sync does with Ghost's members-only and
	// paid posts: "skip" (the default: the Content API gives the blog
	// only their public preview, never the members' text, and they must
	// never reach followers) or "members" (imported as members-only: the
	// text Ghost gave shown to signed-in members, a notice to others,
	// never federated).
	MembersPosts string `yaml:"members_posts"`
	// ImportNavigation makes every sync replace the blog's navigation with
	// Ghost's navigation (top level) and secondary navigation (under
	// "More"): Ghost wins over edits made in the blog's admin.
	ImportNavigation bool `yaml:"import_navigation"`
	// EmbedHosts are the hosts whose iframes (Ghost's embed cards) imported
	// posts keep, sandboxed and lazy; the post pages' Content-Security-
	// Policy lets them be framed. Empty drops every iframe.
	EmbedHosts []string `yaml:"embed_hosts"`
}

// Scrape configures the product scraper: how politely it fetches supplier
// pages and whether it may reach addresses that are not public.
type Scrape struct {
	// AllowPrivateAddress lets the scraper reach supplier pages on loopback
	// or a private network, which the SSRF-safe client otherwise refuses:
	// for development and tests; refused in production
	// (SCRAPE_ALLOW_PRIVATE_ADDRESS).
	AllowPrivateAddress bool `yaml:"allow_private_address"`
	// Delay is the pause between two requests to the same host (default
	// 1s, at most 1m; 0s for none) (SCRAPE_DELAY).
	Delay Duration `yaml:"delay"`
	// UserAgent replaces the scraper's User-Agent, which by default names
	// the platform and the blog's public URL (SCRAPE_USER_AGENT).
	UserAgent string `yaml:"user_agent"`
}

// DefaultScrapeDelay is Scrape.Delay when neither the file nor the
// environment sets it.
const DefaultScrapeDelay = Duration(time.Second)

// SumUp configures online payments through SumUp's API. In development an
// empty APIURL means the SumUp sandbox that make up runs (SumUpSandboxURL,
// merchant SumUpSandboxMerchant, key SumUpSandboxKey); in production an
// empty APIURL turns online payments off, and the sandbox is refused.
type SumUp struct {
	// APIURL is SumUp's API, https://api.sumup.com in production
	// (SUMUP_API_URL).
	APIURL string `yaml:"api_url"`
	// MerchantCode is the merchant that receives the payments
	// (SUMUP_MERCHANT_CODE); required with APIURL.
	MerchantCode string `yaml:"merchant_code"`
	// HoldTTL is how long a checkout holds its stock while the payment is
	// awaited (1m..2h, default 15m) (CHECKOUT_HOLD).
	HoldTTL Duration `yaml:"checkout_hold"`
	// APIKey is SumUp's secret API key (SUMUP_API_KEY or
	// SUMUP_API_KEY_FILE), never in the file and never logged; required
	// with APIURL.
	APIKey string `yaml:"-"`
}

// Enabled reports whether online payments are configured.
func (s SumUp) Enabled() bool { return s.APIURL != "" }

// The SumUp sandbox's settings, which development uses when sumup.api_url
// is empty. The key is not a secret: the sandbox takes no money and
// listens on this machine only.
const (
	SumUpSandboxURL      = "http://sumup.localhost:8007"
	SumUpSandboxMerchant = "MDEVSAND"
	SumUpSandboxKey      = "sup_sk_sandbox_development"
)

// DefaultCheckoutHold is SumUp.HoldTTL when neither the file nor the
// environment sets it.
const DefaultCheckoutHold = Duration(15 * time.Minute)

// IsSumUpSandbox reports whether host is one the SumUp sandbox may run on,
// which production refuses: localhost or a name under .localhost, a
// loopback address, or any name containing "sandbox".
func IsSumUpSandbox(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.Contains(host, "sandbox") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// Ghost.MembersPosts values.
const (
	GhostMembersSkip   = "skip"
	GhostMembersImport = "members"
)

// ActivityPub configures federation with other fediverse servers.
type ActivityPub struct {
	// AllowPrivate lists address ranges (CIDR) that remote actors may live
	// on although they are loopback or private: for tests that run fake
	// remote servers on this machine. Refused in production, where remote
	// servers are only ever reached on public addresses
	// (ACTIVITYPUB_ALLOW_PRIVATE, comma-separated).
	AllowPrivate []string `yaml:"allow_private"`
}

// Fragments configures how pages fetch fragments from other services.
type Fragments struct {
	// Deadline bounds each fragment fetch; a late fragment is left out.
	Deadline Duration `yaml:"deadline"`
	// TTL is how long a fetched fragment stays in the Redis cache (changes
	// invalidate it sooner); 0 turns the cache off (every page fetches every
	// fragment), which is how the benchmark measures the cold case.
	TTL Duration `yaml:"ttl"`
}

// PageCache configures the full-page cache for anonymous visitors.
type PageCache struct {
	// TTL is how long a cached page is served (changes invalidate it sooner);
	// 0 turns the cache off.
	TTL Duration `yaml:"ttl"`
	// Listings is how long the blog keeps pages of published posts for
	// signed-in readers (its own changes drop them at once); 0 turns it
	// off.
	Listings Duration `yaml:"listings"`
}

// Media configures the media store: uploaded images (feature images and
// images in posts), served at /media/.
type Media struct {
	// Dir is the directory of the disk store; every replica must see the same
	// one (a shared volume).
	Dir string `yaml:"dir"`
	// MaxBytes is the largest upload accepted, in bytes (1 KB..100 MB).
	MaxBytes int64 `yaml:"max_bytes"`
}

// Mail configures outgoing email.
type Mail struct {
	// Transport is "dir" (write .eml files into Dir; development) or "smtp".
	Transport string `yaml:"transport"`
	// From is the sender address.
	From string `yaml:"from"`
	// Dir is where the "dir" transport writes messages.
	Dir string `yaml:"dir"`
	// SMTPHost, SMTPPort, SMTPUsername and SMTPTLS configure the "smtp"
	// transport; SMTPTLS is starttls, tls or none.
	SMTPHost     string `yaml:"smtp_host"`
	SMTPPort     int    `yaml:"smtp_port"`
	SMTPUsername string `yaml:"smtp_username"`
	SMTPTLS      string `yaml:"smtp_tls"`
	// BulkConnections is how many connections to the relay newsletters
	// are sent over at once (1..50; 0 means DefaultMailBulkConnections).
	BulkConnections int `yaml:"bulk_connections"`
	// DKIM signs every message, with either transport, when its Domain is
	// set; the key is Config.MailDKIMPrivateKey.
	DKIM MailDKIM `yaml:"dkim"`
}

// DefaultMailBulkConnections is mail.bulk_connections when it is 0.
const DefaultMailBulkConnections = 4

// MailDKIM names the DKIM signature of outgoing mail: the signing domain
// and the selector under which its public key is published
// (selector._domainkey.domain).
type MailDKIM struct {
	// Domain is the d= tag; the From address must be in it or one of its
	// subdomains, so the signature counts for DMARC. Empty: no signing.
	Domain string `yaml:"domain"`
	// Selector is the s= tag.
	Selector string `yaml:"selector"`
}

// Log configures logging.
type Log struct {
	// Format is "text" or "json".
	Format string `yaml:"format"`
	// Level is "debug", "info", "warn" or "error".
	Level string `yaml:"level"`
}

// HTTP configures every service's HTTP server.
type HTTP struct {
	// RequestTimeout bounds the time a handler may take.
	RequestTimeout Duration `yaml:"request_timeout"`
	// ShutdownTimeout bounds the graceful drain on SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// TrustedProxies lists the networks whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Database configures the PostgreSQL pool of every service replica.
type Database struct {
	// MaxConns is the most connections one replica of each service may hold,
	// keyed by service name (DATABASE_MAX_CONNS sets all six,
	// NAME_DATABASE_MAX_CONNS one). River's jobs use the same pool; its
	// listener holds one connection more, outside it.
	MaxConns map[string]int32 `yaml:"max_conns"`
	// Replicas is how many replicas of each service the deployment runs
	// (DATABASE_REPLICAS); it only sizes the connection budget logged at
	// start-up, since a replica cannot see its siblings.
	Replicas int `yaml:"replicas"`
	// ConnectTimeout bounds opening one connection, so that a server that
	// does not answer fails a request within it (DATABASE_CONNECT_TIMEOUT).
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// StatementTimeout bounds one statement: the server cancels it (except
	// through PgBouncer) and the client gives up on a silent server a
	// second later (DATABASE_STATEMENT_TIMEOUT).
	StatementTimeout Duration `yaml:"statement_timeout"`
	// IdleTimeout closes a connection that sat unused this long, so an
	// idle service gives its connections back (DATABASE_IDLE_TIMEOUT).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// PgBouncer says DATABASE_URL reaches PostgreSQL through PgBouncer in
	// transaction mode: no server-side prepared statements, no LISTEN (the
	// job queue polls), no session settings (DATABASE_PGBOUNCER).
	PgBouncer bool `yaml:"pgbouncer"`
}

// Service is one service's addresses.
type Service struct {
	// Title is the service's name as users see it.
	Title string `yaml:"title"`
	// ListenAddr is the host:port the service's HTTP server binds.
	ListenAddr string `yaml:"listen_addr"`
	// PublicURL is the base URL browsers use.
	PublicURL string `yaml:"public_url"`
	// InternalURL is the base URL other services use to reach it.
	InternalURL string `yaml:"internal_url"`
}

// Duration is a time.Duration written as "30s" in YAML and in the environment.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Load reads the config file (CONFIG_FILE, default DefaultFile), applies the
// environment overrides read through getenv, and validates the result. The
// error names every missing or malformed setting, by its YAML path and its
// environment variable.
func Load(getenv func(string) string) (*Config, error) {
	path := getenv("CONFIG_FILE")
	if path == "" {
		path = DefaultFile
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read config file %s (set CONFIG_FILE to its path): %w", path, err)
	}
	// Defaults that zero cannot stand for, overwritten by the file.
	c := Config{Scrape: Scrape{Delay: DefaultScrapeDelay}, SumUp: SumUp{HoldTTL: DefaultCheckoutHold}}
	if err := yaml.UnmarshalWithOptions(raw, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("config: %s is malformed:\n%s", path, yaml.FormatError(err, false, true))
	}
	var errs []error
	c.applyEnv(getenv, &errs)
	c.applySumUpSandbox()
	c.validate(&errs)
	if len(errs) > 0 {
		return nil, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return &c, nil
}

// Environment returns the environment the platform runs in before the
// rest of the config is loaded: APP_ENV when set, otherwise the
// environment the config file (CONFIG_FILE, default DefaultFile) names.
// The operator's CLI uses it to decide whether development defaults may
// stand in for missing settings. It returns an error when the file cannot
// be read or parsed.
func Environment(getenv func(string) string) (string, error) {
	if v := getenv("APP_ENV"); v != "" {
		return v, nil
	}
	path := cmp.Or(getenv("CONFIG_FILE"), DefaultFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: cannot read config file %s (set CONFIG_FILE to its path): %w", path, err)
	}
	var c struct {
		Environment string `yaml:"environment"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("config: %s is malformed:\n%s", path, yaml.FormatError(err, false, true))
	}
	return c.Environment, nil
}

func (c *Config) applyEnv(getenv func(string) string, errs *[]error) {
	str := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	secret := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
			return
		}
		if file := getenv(name + "_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				*errs = append(*errs, fmt.Errorf("%s_FILE: cannot read %s: %w", name, file, err))
				return
			}
			*dst = strings.TrimSpace(string(b))
		}
	}
	parse := func(name string, set func(string) error) {
		if v := getenv(name); v != "" {
			if err := set(v); err != nil {
				*errs = append(*errs, fmt.Errorf("%s=%q is malformed: %w", name, v, err))
			}
		}
	}

	str(&c.Environment, "APP_ENV")
	str(&c.RedisPrefix, "REDIS_KEY_PREFIX")
	str(&c.Log.Format, "LOG_FORMAT")
	str(&c.Log.Level, "LOG_LEVEL")
	parse("HTTP_REQUEST_TIMEOUT", func(v string) error { return c.HTTP.RequestTimeout.UnmarshalText([]byte(v)) })
	parse("HTTP_SHUTDOWN_TIMEOUT", func(v string) error { return c.HTTP.ShutdownTimeout.UnmarshalText([]byte(v)) })
	if v := getenv("ACTIVITYPUB_ALLOW_PRIVATE"); v != "" {
		c.ActivityPub.AllowPrivate = strings.Split(v, ",")
	}
	str(&c.Ghost.MembersPosts, "GHOST_MEMBERS_POSTS")
	parse("GHOST_IMPORT_NAVIGATION", func(v string) (err error) {
		c.Ghost.ImportNavigation, err = strconv.ParseBool(v)
		return err
	})
	if v := getenv("GHOST_EMBED_HOSTS"); v != "" { // "-": none
		c.Ghost.EmbedHosts = nil
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" && h != "-" {
				c.Ghost.EmbedHosts = append(c.Ghost.EmbedHosts, h)
			}
		}
	}
	if v := getenv("TRUSTED_PROXIES"); v != "" {
		c.HTTP.TrustedProxies = strings.Split(v, ",")
	}
	maxConns := func(name string, services ...string) {
		parse(name, func(v string) error {
			n, err := strconv.ParseInt(v, 10, 32)
			if c.Database.MaxConns == nil {
				c.Database.MaxConns = map[string]int32{}
			}
			for _, s := range services {
				c.Database.MaxConns[s] = int32(n)
			}
			return err
		})
	}
	// The general variable first, so that a service's own one wins.
	maxConns("DATABASE_MAX_CONNS", Services...)
	for _, name := range Services {
		maxConns(strings.ToUpper(name)+"_DATABASE_MAX_CONNS", name)
	}
	parse("DATABASE_REPLICAS", func(v string) (err error) {
		c.Database.Replicas, err = strconv.Atoi(v)
		return err
	})
	parse("DATABASE_CONNECT_TIMEOUT", func(v string) error { return c.Database.ConnectTimeout.UnmarshalText([]byte(v)) })
	parse("DATABASE_STATEMENT_TIMEOUT", func(v string) error { return c.Database.StatementTimeout.UnmarshalText([]byte(v)) })
	parse("DATABASE_IDLE_TIMEOUT", func(v string) error { return c.Database.IdleTimeout.UnmarshalText([]byte(v)) })
	parse("DATABASE_PGBOUNCER", func(v string) (err error) {
		c.Database.PgBouncer, err = strconv.ParseBool(v)
		return err
	})
	parse("RUN_MIGRATIONS", func(v string) (err error) {
		c.RunMigrations, err = strconv.ParseBool(v)
		return err
	})
	secret(&c.DatabaseURL, "DATABASE_URL")
	secret(&c.MigrateDatabaseURL, "MIGRATE_DATABASE_URL")
	secret(&c.RedisURL, "REDIS_URL")
	secret(&c.SecretKey, "SECRET_KEY")
	secret(&c.SMTPPassword, "SMTP_PASSWORD")
	secret(&c.NewsletterBounceSecret, "NEWSLETTER_BOUNCE_SECRET")
	str(&c.Newsletters.UnsubscribeMailto, "NEWSLETTER_UNSUBSCRIBE_MAILTO")
	parse("NEWSLETTER_SEND_RATE", func(v string) (err error) {
		c.Newsletters.SendRate, err = strconv.ParseFloat(v, 64)
		return err
	})
	parse("NEWSLETTER_WINDOW_CAP", func(v string) (err error) {
		c.Newsletters.WindowCap, err = strconv.Atoi(v)
		return err
	})
	parse("NEWSLETTER_WINDOW", func(v string) error { return c.Newsletters.Window.UnmarshalText([]byte(v)) })
	parse("NEWSLETTER_CONCURRENCY", func(v string) (err error) {
		c.Newsletters.Concurrency, err = strconv.Atoi(v)
		return err
	})
	parse("NEWSLETTER_SUBSCRIBE_PER_IP", func(v string) (err error) {
		c.Newsletters.SubscribePerIP, err = strconv.Atoi(v)
		return err
	})
	parse("NEWSLETTER_SOFT_BOUNCE_LIMIT", func(v string) (err error) {
		c.Newsletters.SoftBounceLimit, err = strconv.Atoi(v)
		return err
	})
	secret(&c.GhostContentKey, "GHOST_CONTENT_KEY")
	secret(&c.GhostWebhookSecret, "GHOST_WEBHOOK_SECRET")
	str(&c.Ghost.URL, "GHOST_URL")
	parse("GHOST_SYNC_INTERVAL", func(v string) error { return c.Ghost.SyncInterval.UnmarshalText([]byte(v)) })
	parse("GHOST_ALLOW_PRIVATE_ADDRESS", func(v string) (err error) {
		c.Ghost.AllowPrivateAddress, err = strconv.ParseBool(v)
		return err
	})
	parse("SCRAPE_ALLOW_PRIVATE_ADDRESS", func(v string) (err error) {
		c.Scrape.AllowPrivateAddress, err = strconv.ParseBool(v)
		return err
	})
	parse("SCRAPE_DELAY", func(v string) error { return c.Scrape.Delay.UnmarshalText([]byte(v)) })
	str(&c.Scrape.UserAgent, "SCRAPE_USER_AGENT")
	str(&c.SumUp.APIURL, "SUMUP_API_URL")
	str(&c.SumUp.MerchantCode, "SUMUP_MERCHANT_CODE")
	secret(&c.SumUp.APIKey, "SUMUP_API_KEY")
	parse("CHECKOUT_HOLD", func(v string) error { return c.SumUp.HoldTTL.UnmarshalText([]byte(v)) })
	str(&c.Mail.Transport, "MAIL_TRANSPORT")
	str(&c.Mail.From, "MAIL_FROM")
	str(&c.Mail.Dir, "MAIL_DIR")
	str(&c.Mail.SMTPHost, "SMTP_HOST")
	parse("SMTP_PORT", func(v string) (err error) {
		c.Mail.SMTPPort, err = strconv.Atoi(v)
		return err
	})
	str(&c.Mail.SMTPUsername, "SMTP_USERNAME")
	str(&c.Mail.SMTPTLS, "SMTP_TLS")
	parse("MAIL_BULK_CONNECTIONS", func(v string) (err error) {
		c.Mail.BulkConnections, err = strconv.Atoi(v)
		return err
	})
	str(&c.Mail.DKIM.Domain, "MAIL_DKIM_DOMAIN")
	str(&c.Mail.DKIM.Selector, "MAIL_DKIM_SELECTOR")
	secret(&c.MailDKIMPrivateKey, "MAIL_DKIM_PRIVATE_KEY")
	if k := c.MailDKIMPrivateKey; !strings.Contains(k, "\n") && strings.Contains(k, `\n`) {
		// An env file holds one line: the PEM's line breaks written as \n.
		c.MailDKIMPrivateKey = strings.ReplaceAll(k, `\n`, "\n")
	}
	parse("FRAGMENTS_DEADLINE", func(v string) error { return c.Fragments.Deadline.UnmarshalText([]byte(v)) })
	parse("FRAGMENTS_TTL", func(v string) error { return c.Fragments.TTL.UnmarshalText([]byte(v)) })
	parse("PAGE_CACHE_TTL", func(v string) error { return c.PageCache.TTL.UnmarshalText([]byte(v)) })
	parse("PAGE_CACHE_LISTINGS", func(v string) error { return c.PageCache.Listings.UnmarshalText([]byte(v)) })
	str(&c.Media.Dir, "MEDIA_DIR")
	parse("MEDIA_MAX_BYTES", func(v string) (err error) {
		c.Media.MaxBytes, err = strconv.ParseInt(v, 10, 64)
		return err
	})
	parse("AUTH_GRANT_CHECK_CACHE", func(v string) error { return c.Auth.GrantCheckCache.UnmarshalText([]byte(v)) })
	if c.Services == nil {
		c.Services = map[string]Service{}
	}
	for _, name := range Services {
		s := c.Services[name]
		prefix := strings.ToUpper(name) + "_"
		str(&s.ListenAddr, prefix+"LISTEN_ADDR")
		str(&s.PublicURL, prefix+"PUBLIC_URL")
		str(&s.InternalURL, prefix+"INTERNAL_URL")
		c.Services[name] = s
	}
}

// validate appends to errs one error per invalid setting, naming it, in
// the order of the sections below.
func (c *Config) validate(errs *[]error) {
	bad := func(yamlPath, env, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s (%s): %s", yamlPath, env, fmt.Sprintf(format, args...)))
	}
	c.validateRuntime(bad)
	c.validateStores(bad)
	c.validateLimits(bad)
	c.validateMedia(bad)
	c.validateGhost(bad)
	c.validateScrape(bad)
	c.validateSumUp(bad)
	c.validateMail(bad)
	c.validateServices(bad)
}

// reportFunc records one invalid setting: its path in the file, its
// environment variable, and what is wrong with it.
type reportFunc func(yamlPath, env, format string, args ...any)

// validateRuntime checks the environment, logging, HTTP and ActivityPub
// settings.
func (c *Config) validateRuntime(bad reportFunc) {
	switch c.Environment {
	case "development", "production":
	case "":
		bad("environment", "APP_ENV", "is missing; use development or production")
	default:
		bad("environment", "APP_ENV", "%q is not development or production", c.Environment)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "LOG_FORMAT", "%q is not text or json", c.Log.Format)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad("log.level", "LOG_LEVEL", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.HTTP.RequestTimeout <= 0 {
		bad("http.request_timeout", "HTTP_REQUEST_TIMEOUT", "is missing or not positive")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout", "HTTP_SHUTDOWN_TIMEOUT", "is missing or not positive")
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			bad("http.trusted_proxies", "TRUSTED_PROXIES", "%q is not an IP address or CIDR network", p)
		}
	}
	for _, p := range c.ActivityPub.AllowPrivate {
		if _, err := parsePrefix(p); err != nil {
			bad("activitypub.allow_private", "ACTIVITYPUB_ALLOW_PRIVATE", "%q is not an IP address or CIDR network", p)
		}
	}
	if len(c.ActivityPub.AllowPrivate) > 0 && c.Environment == "production" {
		bad("activitypub.allow_private", "ACTIVITYPUB_ALLOW_PRIVATE", "is refused in production: remote servers are reached on public addresses only")
	}
}

// validateStores checks the settings of PostgreSQL and Redis, and the
// secret key.
func (c *Config) validateStores(bad reportFunc) {
	if c.RedisPrefix == "" || strings.ContainsAny(c.RedisPrefix, " \t\r\n*?[]") {
		bad("redis_key_prefix", "REDIS_KEY_PREFIX", "%q must be a plain, non-empty word", c.RedisPrefix)
	}
	for _, name := range Services {
		if n := c.Database.MaxConns[name]; n < 1 || n > 1000 {
			bad("database.max_conns."+name, strings.ToUpper(name)+"_DATABASE_MAX_CONNS", "%d is outside 1..1000", n)
		}
	}
	for name := range c.Database.MaxConns {
		if !isService(name) {
			bad("database.max_conns."+name, "(file only)", "is not one of %s", strings.Join(Services, ", "))
		}
	}
	if c.Database.Replicas < 1 || c.Database.Replicas > 100 {
		bad("database.replicas", "DATABASE_REPLICAS", "%d is outside 1..100", c.Database.Replicas)
	}
	if c.DatabaseURL == "" {
		bad("database url", "DATABASE_URL", "is missing; set DATABASE_URL or DATABASE_URL_FILE")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("database url", "DATABASE_URL", "is not a postgres:// URL")
	}
	if c.MigrateDatabaseURL != "" {
		if u, err := url.Parse(c.MigrateDatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("migration database url", "MIGRATE_DATABASE_URL", "is not a postgres:// URL")
		}
	} else if c.Database.PgBouncer && c.RunMigrations {
		bad("migration database url", "MIGRATE_DATABASE_URL", "is missing: with database.pgbouncer, migrations (RUN_MIGRATIONS) need a direct connection to PostgreSQL (they hold a session lock)")
	}
	if c.RedisURL == "" {
		bad("redis url", "REDIS_URL", "is missing; set REDIS_URL or REDIS_URL_FILE")
	} else if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		bad("redis url", "REDIS_URL", "is not a redis:// URL")
	}
	if len(c.SecretKey) < 32 {
		bad("secret key", "SECRET_KEY", "is missing or shorter than 32 characters; set SECRET_KEY or SECRET_KEY_FILE")
	}
}

// validateLimits checks the time limits, TTLs and sign-in rate limits.
func (c *Config) validateLimits(bad reportFunc) {
	durations := []struct {
		path     string
		v        Duration
		min, max time.Duration
		env      string // "" for a setting only in the file
	}{
		{"auth.magic_link_ttl", c.Auth.MagicLinkTTL, time.Minute, 15 * time.Minute, ""},
		{"auth.code_ttl", c.Auth.CodeTTL, time.Second, time.Minute, ""},
		{"auth.access_token_ttl", c.Auth.AccessTokenTTL, time.Minute, 24 * time.Hour, ""},
		{"auth.refresh_token_ttl", c.Auth.RefreshTokenTTL, time.Hour, 365 * 24 * time.Hour, ""},
		{"auth.session_ttl", c.Auth.SessionTTL, time.Hour, 365 * 24 * time.Hour, ""},
		{"auth.grant_check_cache", c.Auth.GrantCheckCache, 0, 10 * time.Second, ""},
		{"auth.signin_window", c.Auth.SignInWindow, time.Minute, 24 * time.Hour, ""},
		{"account.deletion_grace", c.Account.DeletionGrace, 0, 365 * 24 * time.Hour, ""},
		{"fragments.deadline", c.Fragments.Deadline, 10 * time.Millisecond, 5 * time.Second, ""},
		{"fragments.ttl", c.Fragments.TTL, 0, time.Hour, ""},
		{"page_cache.ttl", c.PageCache.TTL, 0, time.Hour, ""},
		{"page_cache.listings", c.PageCache.Listings, 0, time.Minute, ""},
		{"database.connect_timeout", c.Database.ConnectTimeout, 100 * time.Millisecond, time.Minute, "DATABASE_CONNECT_TIMEOUT"},
		{"database.statement_timeout", c.Database.StatementTimeout, 100 * time.Millisecond, 10 * time.Minute, "DATABASE_STATEMENT_TIMEOUT"},
		{"database.idle_timeout", c.Database.IdleTimeout, time.Second, time.Hour, "DATABASE_IDLE_TIMEOUT"},
	}
	for _, d := range durations {
		if d.v.Std() < d.min || d.v.Std() > d.max || (d.min > 0 && d.v == 0) {
			env := cmp.Or(d.env, "(file only)")
			bad(d.path, env, "%s is missing or outside %s..%s", d.v.Std(), d.min, d.max)
		}
	}
	if c.Auth.SignInPerEmail < 1 || c.Auth.SignInPerIP < 1 {
		bad("auth.signin_per_email / signin_per_ip", "(file only)", "must be at least 1")
	}
}

// validateMedia checks the media store's settings.
func (c *Config) validateMedia(bad reportFunc) {
	if c.Media.Dir == "" {
		bad("media.dir", "MEDIA_DIR", "is missing")
	}
	if c.Media.MaxBytes < 1<<10 || c.Media.MaxBytes > 100<<20 {
		bad("media.max_bytes", "MEDIA_MAX_BYTES", "%d is outside 1024..104857600 (1 KB..100 MB)", c.Media.MaxBytes)
	}
}

// validateScrape checks the product scraper's settings.
func (c *Config) validateScrape(bad reportFunc) {
	if c.Scrape.AllowPrivateAddress && c.Environment == "production" {
		bad("scrape.allow_private_address", "SCRAPE_ALLOW_PRIVATE_ADDRESS", "is for development and tests; it is refused in production")
	}
	if d := c.Scrape.Delay.Std(); d < 0 || d > time.Minute {
		bad("scrape.delay", "SCRAPE_DELAY", "%s is outside 0s..1m", d)
	}
	if strings.ContainsAny(c.Scrape.UserAgent, "\r\n") {
		bad("scrape.user_agent", "SCRAPE_USER_AGENT", "must be one line")
	}
}

// applySumUpSandbox points development without sumup.api_url at the
// sandbox make up runs, and gives a sandbox its merchant and key when they
// are unset. Production is left alone: validateSumUp refuses the sandbox.
func (c *Config) applySumUpSandbox() {
	if c.Environment != "development" {
		return
	}
	if c.SumUp.APIURL == "" {
		c.SumUp.APIURL = SumUpSandboxURL
	}
	if u, err := url.Parse(c.SumUp.APIURL); err != nil || !IsSumUpSandbox(u.Hostname()) {
		return
	}
	c.SumUp.MerchantCode = cmp.Or(c.SumUp.MerchantCode, SumUpSandboxMerchant)
	c.SumUp.APIKey = cmp.Or(c.SumUp.APIKey, SumUpSandboxKey)
}

// validateSumUp checks the payment settings; no message shows the key.
func (c *Config) validateSumUp(bad reportFunc) {
	s := c.SumUp
	if h := s.HoldTTL.Std(); h < time.Minute || h > 2*time.Hour {
		bad("sumup.checkout_hold", "CHECKOUT_HOLD", "%s is outside 1m..2h", h)
	}
	if s.APIURL == "" {
		return // online payments off
	}
	u, err := url.Parse(s.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
		bad("sumup.api_url", "SUMUP_API_URL", "%q is not an http(s) base URL", s.APIURL)
		return
	}
	if c.Environment == "production" {
		if IsSumUpSandbox(u.Hostname()) {
			bad("sumup.api_url", "SUMUP_API_URL", "%q is the SumUp sandbox, which takes no money; it is refused in production (use https://api.sumup.com)", s.APIURL)
		} else if u.Scheme != "https" {
			bad("sumup.api_url", "SUMUP_API_URL", "%q must be https in production: requests carry the API key", s.APIURL)
		}
	}
	if s.MerchantCode == "" {
		bad("sumup.merchant_code", "SUMUP_MERCHANT_CODE", "is missing; payments through %s need the merchant that receives them", s.APIURL)
	} else if strings.ContainsFunc(s.MerchantCode, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && (r < 'a' || r > 'z')
	}) {
		bad("sumup.merchant_code", "SUMUP_MERCHANT_CODE", "%q is not a merchant code (letters and digits)", s.MerchantCode)
	}
	if s.APIKey == "" {
		bad("sumup api key", "SUMUP_API_KEY", "is missing; payments through %s need it: set SUMUP_API_KEY or SUMUP_API_KEY_FILE", s.APIURL)
	}
}

// validateGhost checks the Ghost sync's settings.
func (c *Config) validateGhost(bad reportFunc) {
	if c.Ghost.URL != "" {
		if u, err := url.Parse(c.Ghost.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("ghost.url", "GHOST_URL", "%q is not an http(s) address", c.Ghost.URL)
		}
	}
	if iv := c.Ghost.SyncInterval.Std(); iv != 0 && (iv < time.Second || iv > 24*time.Hour) {
		bad("ghost.sync_interval", "GHOST_SYNC_INTERVAL", "%s is outside 1s..24h (0s turns the periodic sync off)", iv)
	}
	switch c.Ghost.MembersPosts {
	case "", GhostMembersSkip, GhostMembersImport:
	default:
		bad("ghost.members_posts", "GHOST_MEMBERS_POSTS", "%q is neither %q nor %q", c.Ghost.MembersPosts, GhostMembersSkip, GhostMembersImport)
	}
	for _, h := range c.Ghost.EmbedHosts {
		if h == "" || strings.ContainsAny(h, "/:*@ ?#") || strings.ToLower(h) != h {
			bad("ghost.embed_hosts", "GHOST_EMBED_HOSTS", "%q is not a lower-case host name", h)
		}
	}
	if c.Ghost.AllowPrivateAddress && c.Environment == "production" {
		bad("ghost.allow_private_address", "GHOST_ALLOW_PRIVATE_ADDRESS", "is for development and tests; it is refused in production")
	}
}

// validateMail checks the mail transport's settings.
func (c *Config) validateMail(bad reportFunc) {
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "MAIL_FROM", "%q is not an email address", c.Mail.From)
	}
	if n := c.Newsletters.SubscribePerIP; n < 0 || n > 100000 {
		bad("newsletters.subscribe_per_ip", "NEWSLETTER_SUBSCRIBE_PER_IP", "%d is outside 0..100000 (0: 30)", n)
	}
	if n := c.Newsletters.SoftBounceLimit; n < 0 || n > 100 {
		bad("newsletters.soft_bounce_limit", "NEWSLETTER_SOFT_BOUNCE_LIMIT", "%d is outside 0..100 (0: 3)", n)
	}
	if r := c.Newsletters.SendRate; r < 0 || r > 10000 || r != r {
		bad("newsletters.send_rate", "NEWSLETTER_SEND_RATE", "%g is outside 0..10000 messages a second (0: no limit)", r)
	}
	if n := c.Newsletters.WindowCap; n < 0 {
		bad("newsletters.window_cap", "NEWSLETTER_WINDOW_CAP", "%d is negative (0: no cap)", n)
	}
	if w := c.Newsletters.Window.Std(); w != 0 && (w < time.Minute || w > 7*24*time.Hour) {
		bad("newsletters.window", "NEWSLETTER_WINDOW", "%s is outside 1m..168h (0: 1h)", w)
	}
	if n := c.Newsletters.Concurrency; n < 0 || n > 64 {
		bad("newsletters.concurrency", "NEWSLETTER_CONCURRENCY", "%d is outside 0..64 (0: 4)", n)
	}
	if m := c.Newsletters.UnsubscribeMailto; m != "" {
		if a, err := mail.ParseAddress(m); err != nil || a.Name != "" || a.Address != m {
			bad("newsletters.unsubscribe_mailto", "NEWSLETTER_UNSUBSCRIBE_MAILTO", "%q is not a plain email address", m)
		}
	}
	switch c.Mail.Transport {
	case "dir":
		if c.Mail.Dir == "" {
			bad("mail.dir", "MAIL_DIR", "is missing")
		}
	case "smtp":
		if c.Mail.SMTPHost == "" {
			bad("mail.smtp_host", "SMTP_HOST", "is missing")
		}
		if c.Mail.SMTPPort < 1 || c.Mail.SMTPPort > 65535 {
			bad("mail.smtp_port", "SMTP_PORT", "%d is not a port", c.Mail.SMTPPort)
		}
		if c.Mail.SMTPTLS != "starttls" && c.Mail.SMTPTLS != "tls" && c.Mail.SMTPTLS != "none" {
			bad("mail.smtp_tls", "SMTP_TLS", "%q is not starttls, tls or none", c.Mail.SMTPTLS)
		}
	default:
		bad("mail.transport", "MAIL_TRANSPORT", "%q is not dir or smtp", c.Mail.Transport)
	}
	if n := c.Mail.BulkConnections; n < 0 || n > 50 {
		bad("mail.bulk_connections", "MAIL_BULK_CONNECTIONS", "%d is outside 1..50 (0: %d)", n, DefaultMailBulkConnections)
	}
	c.validateDKIM(bad)
}

// validateDKIM checks that DKIM is either off or fully set: a domain, a
// selector and a private key that signs, with the From address in the
// domain. The key is never quoted.
func (c *Config) validateDKIM(bad reportFunc) {
	d := c.Mail.DKIM
	key := c.MailDKIMPrivateKey
	if d.Domain == "" {
		if d.Selector != "" {
			bad("mail.dkim.domain", "MAIL_DKIM_DOMAIN", "is missing while mail.dkim.selector is set (set both, and MAIL_DKIM_PRIVATE_KEY, or neither)")
		}
		if key != "" {
			bad("mail.dkim.domain", "MAIL_DKIM_DOMAIN", "is missing while MAIL_DKIM_PRIVATE_KEY is set (set both, and mail.dkim.selector, or neither)")
		}
		return
	}
	if d.Selector == "" {
		bad("mail.dkim.selector", "MAIL_DKIM_SELECTOR", "is missing while mail.dkim.domain is set")
	}
	if key == "" {
		bad("dkim private key", "MAIL_DKIM_PRIVATE_KEY", "is missing while mail.dkim.domain is set; set MAIL_DKIM_PRIVATE_KEY or MAIL_DKIM_PRIVATE_KEY_FILE")
	}
	if d.Selector == "" || key == "" {
		return
	}
	if _, err := outmail.NewDKIM(d.Domain, d.Selector, key); err != nil {
		switch {
		case strings.Contains(err.Error(), "dkim domain"):
			bad("mail.dkim.domain", "MAIL_DKIM_DOMAIN", "%v", err)
		case strings.Contains(err.Error(), "dkim selector"):
			bad("mail.dkim.selector", "MAIL_DKIM_SELECTOR", "%v", err)
		default:
			bad("dkim private key", "MAIL_DKIM_PRIVATE_KEY", "%v", err)
		}
		return
	}
	if from, err := mail.ParseAddress(c.Mail.From); err == nil {
		domain := strings.ToLower(strings.TrimSuffix(d.Domain, "."))
		fromDomain := strings.ToLower(from.Address[strings.LastIndexByte(from.Address, '@')+1:])
		if fromDomain != domain && !strings.HasSuffix(fromDomain, "."+domain) {
			bad("mail.dkim.domain", "MAIL_DKIM_DOMAIN", "%q is not the domain of mail.from (%s) nor a parent of it: receivers would not count the signature for DMARC", d.Domain, fromDomain)
		}
	}
}

// validateServices checks each service's title, listen address and URLs,
// and that the file names no other service.
func (c *Config) validateServices(bad reportFunc) {
	for _, name := range Services {
		s := c.Services[name]
		env := strings.ToUpper(name) + "_"
		if s.Title == "" {
			bad("services."+name+".title", "(file only)", "is missing")
		}
		if s.ListenAddr == "" {
			bad("services."+name+".listen_addr", env+"LISTEN_ADDR", "is missing")
		} else if _, port, err := splitHostPort(s.ListenAddr); err != nil || port == "" {
			bad("services."+name+".listen_addr", env+"LISTEN_ADDR", "%q is not host:port", s.ListenAddr)
		}
		for key, v := range map[string]string{"public_url": s.PublicURL, "internal_url": s.InternalURL} {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
				bad("services."+name+"."+key, env+strings.ToUpper(key), "%q is not an http(s) base URL", v)
			}
		}
	}
	for name := range c.Services {
		if !isService(name) {
			bad("services."+name, "(file only)", "is not one of %s", strings.Join(Services, ", "))
		}
	}
}

func isService(name string) bool {
	for _, s := range Services {
		if s == name {
			return true
		}
	}
	return false
}

func splitHostPort(addr string) (host, port string, err error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", errors.New("missing port")
	}
	port = addr[i+1:]
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", err
	}
	return addr[:i], port, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// TrustedProxyPrefixes returns the trusted proxy networks, parsed. Load has
// already validated them.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.HTTP.TrustedProxies))
	for _, p := range c.HTTP.TrustedProxies {
		if pre, err := parsePrefix(p); err == nil {
			out = append(out, pre.Masked())
		}
	}
	return out
}

// Service returns the named service's settings; it panics on a name that is
// not one of Services, which is a programming error.
func (c *Config) Service(name string) Service {
	if !isService(name) {
		panic("config: unknown service " + name)
	}
	return c.Services[name]
}

// MaxConns returns the most PostgreSQL connections one replica of the
// named service may hold (database.max_conns); it panics on a name that is
// not one of Services, which is a programming error.
func (c *Config) MaxConns(service string) int32 {
	if !isService(service) {
		panic("config: unknown service " + service)
	}
	return c.Database.MaxConns[service]
}

// MigrationURL returns the connection string migrations use: the direct
// MIGRATE_DATABASE_URL when set, DATABASE_URL otherwise.
func (c *Config) MigrationURL() string {
	if c.MigrateDatabaseURL != "" {
		return c.MigrateDatabaseURL
	}
	return c.DatabaseURL
}

// Production reports whether the platform runs in production.
func (c *Config) Production() bool { return c.Environment == "production" }

// LogLevel returns the configured log level.
func (c *Config) LogLevel() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	return lvl
}

// AllowedPrivatePrefixes returns activitypub.allow_private, parsed (Load
// has validated it).
func (c *Config) AllowedPrivatePrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.ActivityPub.AllowPrivate {
		if pf, err := parsePrefix(p); err == nil {
			out = append(out, pf)
		}
	}
	return out
}

// DeriveKey derives the key for one use, named by label, from the
// platform's secret key (HMAC-SHA256), so that every use has its own key
// and none needs a setting of its own.
func DeriveKey(secretKey, label string) []byte {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte(label))
	return m.Sum(nil)
}
