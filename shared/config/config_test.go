package config

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func repoConfig(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../_config/app-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func validEnv(t *testing.T) map[string]string {
	return map[string]string{
		"CONFIG_FILE":  repoConfig(t),
		"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/roseash?sslmode=disable",
		"REDIS_URL":    "redis://127.0.0.1:6379/0",
		"SECRET_KEY":   strings.Repeat("k", 32),
	}
}

func TestLoadRepoConfig(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatalf("the checked-in config does not load: %v", err)
	}
	if got := c.Service("blog").PublicURL; got != "http://blog.localhost:8001" {
		t.Errorf("blog public URL = %q", got)
	}
	if c.HTTP.RequestTimeout.Std() != 30*time.Second {
		t.Errorf("request timeout = %v", c.HTTP.RequestTimeout.Std())
	}
	if len(c.Services) != 6 {
		t.Errorf("services = %d, want 6", len(c.Services))
	}
}

func TestEnvOverrides(t *testing.T) {
	env := validEnv(t)
	env["BLOG_PUBLIC_URL"] = "https://blog.rose-ash.com"
	env["MARKET_LISTEN_ADDR"] = "0.0.0.0:8000"
	env["HTTP_REQUEST_TIMEOUT"] = "5s"
	env["RUN_MIGRATIONS"] = "true"
	env["TRUSTED_PROXIES"] = "10.0.0.0/8,192.168.1.1"
	env["APP_ENV"] = "production"
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Service("blog").PublicURL != "https://blog.rose-ash.com" || c.Service("market").ListenAddr != "0.0.0.0:8000" {
		t.Errorf("service overrides not applied: %+v", c.Services)
	}
	if c.HTTP.RequestTimeout.Std() != 5*time.Second || !c.RunMigrations || !c.Production() {
		t.Errorf("overrides not applied: %+v", c)
	}
	if got := c.TrustedProxyPrefixes(); len(got) != 2 || got[1].String() != "192.168.1.1/32" {
		t.Errorf("trusted proxies = %v", got)
	}
}

func TestSecretFromFile(t *testing.T) {
	env := validEnv(t)
	delete(env, "SECRET_KEY")
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["SECRET_KEY_FILE"] = f
	c, err := Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKey != strings.Repeat("s", 40) {
		t.Errorf("secret key from file = %q", c.SecretKey)
	}
}

// Each bad setting must stop start-up with a message naming it.
func TestLoadErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(map[string]string)
		wants []string
	}{
		{"missing database url", func(e map[string]string) { delete(e, "DATABASE_URL") }, []string{"DATABASE_URL", "missing"}},
		{"malformed database url", func(e map[string]string) { e["DATABASE_URL"] = "mysql://x" }, []string{"DATABASE_URL", "postgres://"}},
		{"missing redis url", func(e map[string]string) { delete(e, "REDIS_URL") }, []string{"REDIS_URL"}},
		{"short secret", func(e map[string]string) { e["SECRET_KEY"] = "short" }, []string{"SECRET_KEY", "32"}},
		{"unreadable secret file", func(e map[string]string) { delete(e, "SECRET_KEY"); e["SECRET_KEY_FILE"] = "/nonexistent/secret" }, []string{"SECRET_KEY_FILE", "/nonexistent/secret"}},
		{"bad duration", func(e map[string]string) { e["HTTP_REQUEST_TIMEOUT"] = "soon" }, []string{"HTTP_REQUEST_TIMEOUT", "soon"}},
		{"bad bool", func(e map[string]string) { e["RUN_MIGRATIONS"] = "perhaps" }, []string{"RUN_MIGRATIONS"}},
		{"bad environment", func(e map[string]string) { e["APP_ENV"] = "staging" }, []string{"environment", "APP_ENV", "staging"}},
		{"bad log format", func(e map[string]string) { e["LOG_FORMAT"] = "xml" }, []string{"log.format", "LOG_FORMAT"}},
		{"bad public url", func(e map[string]string) { e["CART_PUBLIC_URL"] = "cart.localhost" }, []string{"services.cart.public_url", "CART_PUBLIC_URL"}},
		{"bad listen addr", func(e map[string]string) { e["EVENTS_LISTEN_ADDR"] = "localhost" }, []string{"services.events.listen_addr", "EVENTS_LISTEN_ADDR"}},
		{"bad proxy", func(e map[string]string) { e["TRUSTED_PROXIES"] = "not-an-ip" }, []string{"TRUSTED_PROXIES", "not-an-ip"}},
		{"bad mail transport", func(e map[string]string) { e["MAIL_TRANSPORT"] = "pigeon" }, []string{"mail.transport", "MAIL_TRANSPORT"}},
		{"bad mail from", func(e map[string]string) { e["MAIL_FROM"] = "nobody" }, []string{"mail.from", "MAIL_FROM"}},
		{"smtp without host", func(e map[string]string) { e["MAIL_TRANSPORT"] = "smtp" }, []string{"mail.smtp_host", "SMTP_HOST"}},
		{"grant cache too long", func(e map[string]string) { e["AUTH_GRANT_CHECK_CACHE"] = "30s" }, []string{"auth.grant_check_cache"}},
		{"media too large", func(e map[string]string) { e["MEDIA_MAX_BYTES"] = "1000000000" }, []string{"media.max_bytes", "MEDIA_MAX_BYTES"}},
		{"malformed media size", func(e map[string]string) { e["MEDIA_MAX_BYTES"] = "10MB" }, []string{"MEDIA_MAX_BYTES", "10MB"}},
		{"missing file", func(e map[string]string) { e["CONFIG_FILE"] = "/nonexistent.yaml" }, []string{"/nonexistent.yaml", "CONFIG_FILE"}},
		{"no connections", func(e map[string]string) { e["CART_DATABASE_MAX_CONNS"] = "0" }, []string{"database.max_conns.cart", "CART_DATABASE_MAX_CONNS"}},
		{"malformed connections", func(e map[string]string) { e["DATABASE_MAX_CONNS"] = "lots" }, []string{"DATABASE_MAX_CONNS", "lots"}},
		{"no replicas", func(e map[string]string) { e["DATABASE_REPLICAS"] = "0" }, []string{"database.replicas", "DATABASE_REPLICAS"}},
		{"connect timeout", func(e map[string]string) { e["DATABASE_CONNECT_TIMEOUT"] = "0s" }, []string{"database.connect_timeout", "DATABASE_CONNECT_TIMEOUT"}},
		{"statement timeout", func(e map[string]string) { e["DATABASE_STATEMENT_TIMEOUT"] = "never" }, []string{"DATABASE_STATEMENT_TIMEOUT", "never"}},
		{"migrating through pgbouncer", func(e map[string]string) { e["DATABASE_PGBOUNCER"] = "true"; e["RUN_MIGRATIONS"] = "true" },
			[]string{"MIGRATE_DATABASE_URL", "direct connection"}},
		{"malformed migration url", func(e map[string]string) { e["MIGRATE_DATABASE_URL"] = "mysql://x" }, []string{"MIGRATE_DATABASE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv(t)
			tt.edit(env)
			_, err := Load(envOf(env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMalformedFile(t *testing.T) {
	cases := map[string]string{
		"unknown key":  "environment: development\nlogg:\n  format: text\n",
		"wrong type":   "environment: development\ndatabase:\n  max_conns: many\n",
		"broken yaml":  "environment: [development\n",
		"missing keys": "environment: development\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "app-config.yaml")
			if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			env := validEnv(t)
			env["CONFIG_FILE"] = f
			if _, err := Load(envOf(env)); err == nil {
				t.Fatalf("Load accepted a malformed file:\n%s", body)
			} else if name == "missing keys" && !strings.Contains(err.Error(), "services.blog.public_url") {
				t.Errorf("error does not name the missing service settings: %v", err)
			}
		})
	}
}

func TestGhostSettings(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ghost.SyncInterval.Std() != 15*time.Minute || c.Ghost.AllowPrivateAddress {
		t.Fatalf("defaults: interval %v, allow private %v; want 15m and false", c.Ghost.SyncInterval.Std(), c.Ghost.AllowPrivateAddress)
	}
	env := validEnv(t)
	env["GHOST_SYNC_INTERVAL"] = "0s"
	env["GHOST_ALLOW_PRIVATE_ADDRESS"] = "true"
	if c, err = Load(envOf(env)); err != nil || c.Ghost.SyncInterval != 0 || !c.Ghost.AllowPrivateAddress {
		t.Fatalf("overrides: %+v, %v", c.Ghost, err)
	}
	for setting, want := range map[[2]string]string{
		{"GHOST_SYNC_INTERVAL", "500ms"}:        "ghost.sync_interval (GHOST_SYNC_INTERVAL)",
		{"GHOST_SYNC_INTERVAL", "48h"}:          "ghost.sync_interval (GHOST_SYNC_INTERVAL)",
		{"GHOST_SYNC_INTERVAL", "often"}:        "GHOST_SYNC_INTERVAL",
		{"GHOST_ALLOW_PRIVATE_ADDRESS", "yes!"}: "GHOST_ALLOW_PRIVATE_ADDRESS",
	} {
		env := validEnv(t)
		env[setting[0]] = setting[1]
		if _, err := Load(envOf(env)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want an error naming %s", setting[0], setting[1], err, want)
		}
	}
	env = validEnv(t)
	env["APP_ENV"] = "production"
	env["GHOST_ALLOW_PRIVATE_ADDRESS"] = "true"
	if _, err := Load(envOf(env)); err == nil || !strings.Contains(err.Error(), "ghost.allow_private_address") {
		t.Errorf("allow_private_address in production: %v", err)
	}
}

// Each use gets its own key, the same in every process.
func TestDeriveKeyGivesEachUseItsOwnKey(t *testing.T) {
	secret := strings.Repeat("s", 32)
	a, b := DeriveKey(secret, "internal-fragments"), DeriveKey(secret, "hub-media-proxy")
	if len(a) != 32 || bytes.Equal(a, b) {
		t.Fatalf("keys for two uses: %x and %x", a, b)
	}
	if !bytes.Equal(a, DeriveKey(secret, "internal-fragments")) || bytes.Equal(a, DeriveKey(strings.Repeat("t", 32), "internal-fragments")) {
		t.Fatal("a derived key does not depend on exactly the secret and the use")
	}
}

// Pool sizes are set per service in the file; DATABASE_MAX_CONNS sets all
// six and NAME_DATABASE_MAX_CONNS one, which wins. Through PgBouncer the
// blog migrates over the direct MIGRATE_DATABASE_URL.
func TestDatabaseSettings(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConns("blog") < 1 || c.MaxConns("account") < 1 || c.Database.Replicas != 1 {
		t.Errorf("file's pool sizes: %v, replicas %d", c.Database.MaxConns, c.Database.Replicas)
	}
	if c.Database.ConnectTimeout.Std() <= 0 || c.Database.ConnectTimeout.Std() > 10*time.Second ||
		c.Database.StatementTimeout.Std() <= 0 || c.Database.StatementTimeout.Std() > 10*time.Second {
		t.Errorf("timeouts are not a few seconds: %+v", c.Database)
	}
	if c.Database.PgBouncer || c.MigrationURL() != c.DatabaseURL {
		t.Errorf("development goes through PgBouncer or migrates elsewhere: %+v %q", c.Database, c.MigrationURL())
	}

	env := validEnv(t)
	env["DATABASE_MAX_CONNS"] = "7"
	env["CART_DATABASE_MAX_CONNS"] = "2"
	env["DATABASE_REPLICAS"] = "3"
	env["DATABASE_PGBOUNCER"] = "true"
	env["RUN_MIGRATIONS"] = "true"
	env["MIGRATE_DATABASE_URL"] = "postgres://postgres@db:5432/roseash"
	if c, err = Load(envOf(env)); err != nil {
		t.Fatal(err)
	}
	if c.MaxConns("blog") != 7 || c.MaxConns("account") != 7 || c.MaxConns("cart") != 2 || c.Database.Replicas != 3 {
		t.Errorf("overrides: %v, replicas %d", c.Database.MaxConns, c.Database.Replicas)
	}
	if !c.Database.PgBouncer || c.MigrationURL() != "postgres://postgres@db:5432/roseash" {
		t.Errorf("pgbouncer %v, migration URL %q", c.Database.PgBouncer, c.MigrationURL())
	}
}

// The CLI asks for the environment before anything else is set.
func TestEnvironment(t *testing.T) {
	if got, err := Environment(envOf(map[string]string{"CONFIG_FILE": repoConfig(t)})); err != nil || got != "development" {
		t.Errorf("the checked-in file's environment = %q, %v", got, err)
	}
	if got, _ := Environment(envOf(map[string]string{"CONFIG_FILE": repoConfig(t), "APP_ENV": "production"})); got != "production" {
		t.Errorf("APP_ENV does not win: %q", got)
	}
	if _, err := Environment(envOf(map[string]string{"CONFIG_FILE": "/nonexistent.yaml"})); err == nil || !strings.Contains(err.Error(), "CONFIG_FILE") {
		t.Errorf("a missing file: %v", err)
	}
}

// The scraper waits a second between requests to a host unless told
// otherwise, and may reach private addresses only outside production.
func TestScrapeSettings(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Scrape.Delay.Std() != time.Second || c.Scrape.AllowPrivateAddress || c.Scrape.UserAgent != "" {
		t.Fatalf("defaults: %+v; want a 1s delay, private addresses refused, no User-Agent", c.Scrape)
	}
	env := validEnv(t)
	env["SCRAPE_DELAY"] = "0s"
	env["SCRAPE_ALLOW_PRIVATE_ADDRESS"] = "true"
	env["SCRAPE_USER_AGENT"] = "TestBot/2.0"
	if c, err = Load(envOf(env)); err != nil || c.Scrape.Delay != 0 || !c.Scrape.AllowPrivateAddress || c.Scrape.UserAgent != "TestBot/2.0" {
		t.Fatalf("overrides: %+v, %v", c.Scrape, err)
	}
	for setting, want := range map[[2]string]string{
		{"SCRAPE_DELAY", "-1s"}:                  "scrape.delay (SCRAPE_DELAY)",
		{"SCRAPE_DELAY", "2m"}:                   "scrape.delay (SCRAPE_DELAY)",
		{"SCRAPE_DELAY", "soon"}:                 "SCRAPE_DELAY",
		{"SCRAPE_ALLOW_PRIVATE_ADDRESS", "yes!"}: "SCRAPE_ALLOW_PRIVATE_ADDRESS",
	} {
		env := validEnv(t)
		env[setting[0]] = setting[1]
		if _, err := Load(envOf(env)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want an error naming %s", setting[0], setting[1], err, want)
		}
	}
	env = validEnv(t)
	env["APP_ENV"] = "production"
	env["SCRAPE_ALLOW_PRIVATE_ADDRESS"] = "true"
	if _, err := Load(envOf(env)); err == nil || !strings.Contains(err.Error(), "scrape.allow_private_address") {
		t.Errorf("scrape.allow_private_address in production: %v", err)
	}
}

// Development pays through the sandbox make up runs unless told otherwise;
// production pays through SumUp only, and never through the sandbox.
func TestSumUpSettings(t *testing.T) {
	c, err := Load(envOf(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.SumUp.APIURL != SumUpSandboxURL || c.SumUp.MerchantCode != SumUpSandboxMerchant || c.SumUp.APIKey != SumUpSandboxKey ||
		c.SumUp.HoldTTL.Std() != 15*time.Minute || !c.SumUp.Enabled() {
		t.Fatalf("development defaults: %+v; want the sandbox and a 15m hold", c.SumUp)
	}

	// Production with nothing set has no online payments, and loads.
	env := validEnv(t)
	env["APP_ENV"] = "production"
	if c, err = Load(envOf(env)); err != nil || c.SumUp.Enabled() || c.SumUp.APIKey != "" {
		t.Fatalf("production without SumUp: %+v, %v", c.SumUp, err)
	}

	// Production with SumUp's API, the key from a file (a Docker secret).
	keyFile := filepath.Join(t.TempDir(), "sumup_api_key")
	if err := os.WriteFile(keyFile, []byte("sup_sk_live_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["SUMUP_API_URL"] = "https://api.sumup.com"
	env["SUMUP_MERCHANT_CODE"] = "MH4H92C7"
	env["SUMUP_API_KEY_FILE"] = keyFile
	env["CHECKOUT_HOLD"] = "30m"
	if c, err = Load(envOf(env)); err != nil {
		t.Fatal(err)
	}
	if c.SumUp != (SumUp{APIURL: "https://api.sumup.com", MerchantCode: "MH4H92C7", APIKey: "sup_sk_live_secret", HoldTTL: Duration(30 * time.Minute)}) {
		t.Fatalf("production settings: %+v", c.SumUp)
	}

	for _, tc := range []struct {
		name  string
		edit  map[string]string
		wants []string
	}{
		{"the sandbox in production", map[string]string{"SUMUP_API_URL": "http://sumup.localhost:8007"}, []string{"sumup.api_url (SUMUP_API_URL)", "sandbox", "refused in production"}},
		{"loopback in production", map[string]string{"SUMUP_API_URL": "https://127.0.0.1:8443"}, []string{"SUMUP_API_URL", "refused in production"}},
		{"a sandbox host in production", map[string]string{"SUMUP_API_URL": "https://api.sandbox.example"}, []string{"SUMUP_API_URL", "refused in production"}},
		{"plain http in production", map[string]string{"SUMUP_API_URL": "http://api.sumup.com"}, []string{"SUMUP_API_URL", "https"}},
		{"no merchant", map[string]string{"SUMUP_MERCHANT_CODE": ""}, []string{"sumup.merchant_code (SUMUP_MERCHANT_CODE)", "missing"}},
		{"bad merchant", map[string]string{"SUMUP_MERCHANT_CODE": "M/../X"}, []string{"SUMUP_MERCHANT_CODE"}},
		{"no key", map[string]string{"SUMUP_API_KEY_FILE": ""}, []string{"SUMUP_API_KEY", "missing"}},
		{"not a URL", map[string]string{"SUMUP_API_URL": "api.sumup.com"}, []string{"sumup.api_url", "http(s) base URL"}},
		{"hold too short", map[string]string{"CHECKOUT_HOLD": "30s"}, []string{"sumup.checkout_hold (CHECKOUT_HOLD)", "1m..2h"}},
		{"hold too long", map[string]string{"CHECKOUT_HOLD": "3h"}, []string{"sumup.checkout_hold"}},
		{"hold malformed", map[string]string{"CHECKOUT_HOLD": "soon"}, []string{"CHECKOUT_HOLD", "soon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := maps.Clone(env)
			for k, v := range tc.edit {
				e[k] = v
			}
			_, err := Load(envOf(e))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "sup_sk_live_secret") {
				t.Errorf("the error shows the API key: %v", err)
			}
		})
	}

	// The key never comes from the file.
	f := filepath.Join(t.TempDir(), "app-config.yaml")
	raw, err := os.ReadFile(repoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	withKey := strings.Replace(string(raw), "  merchant_code: \"\"\n", "  merchant_code: \"\"\n  api_key: sup_sk_in_the_file\n", 1)
	if withKey == string(raw) {
		t.Fatal("the repo config has no sumup.merchant_code to add a key beside")
	}
	if err := os.WriteFile(f, []byte(withKey), 0o600); err != nil {
		t.Fatal(err)
	}
	e := validEnv(t)
	e["CONFIG_FILE"] = f
	if _, err := Load(envOf(e)); err == nil {
		t.Error("an API key in the config file was accepted")
	}

	// In development, a SumUp that is not the sandbox needs its own key.
	e = validEnv(t)
	e["SUMUP_API_URL"] = "https://api.sumup.com"
	e["SUMUP_MERCHANT_CODE"] = "MH4H92C7"
	if _, err := Load(envOf(e)); err == nil || !strings.Contains(err.Error(), "SUMUP_API_KEY") {
		t.Errorf("development against SumUp without a key: %v", err)
	}
}
