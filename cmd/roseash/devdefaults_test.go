package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/servicetest"
)

// After make up, `roseash signin-link EMAIL` works with no environment at
// all: in development the CLI takes make up's Redis and secret key (and
// database, here the test's own) instead of failing with "REDIS_URL is
// missing".
func TestCLIWorksWithoutEnvironmentInDevelopment(t *testing.T) {
	state := t.TempDir()
	env := map[string]string{
		"CONFIG_FILE":   filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
		"DATABASE_URL":  pgtest.MustDatabaseURL(t),
		"ROSEASH_STATE": state,
	}
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"signin-link", "someone@example.org"}, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "/auth/magic?token=") {
		t.Fatalf("signin-link with only DATABASE_URL set: %v\n%s%s", err, out.String(), errOut.String())
	}
	key, err := os.ReadFile(filepath.Join(state, "secret-key"))
	if err != nil || len(key) < 32 {
		t.Fatalf("no development secret key was made, as make up makes it: %v %q", err, key)
	}
	if fi, _ := os.Stat(filepath.Join(state, "secret-key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("the secret key file is readable by others: %v", fi.Mode())
	}

	// Every default, and the key make up left is the one used.
	getenv, err := withDevelopmentDefaults(func(k string) string {
		return map[string]string{"CONFIG_FILE": env["CONFIG_FILE"], "ROSEASH_STATE": state, "REDIS_PORT": "6380"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("the config does not load on the development defaults: %v", err)
	}
	if cfg.DatabaseURL != "postgres://postgres@127.0.0.1:5432/roseash?sslmode=disable" ||
		cfg.RedisURL != "redis://127.0.0.1:6380/0" || cfg.SecretKey != string(key) {
		t.Errorf("defaults: database %q, redis %q, secret key from the file: %v", cfg.DatabaseURL, cfg.RedisURL, cfg.SecretKey == string(key))
	}
}

// Production takes no defaults: every command demands the settings.
func TestCLIDemandsSettingsInProduction(t *testing.T) {
	state := t.TempDir()
	env := map[string]string{
		"CONFIG_FILE":   filepath.Join(servicetest.RepoRoot(t), config.DefaultFile),
		"APP_ENV":       "production",
		"ROSEASH_STATE": state,
	}
	var out, errOut strings.Builder
	err := run(context.Background(), []string{"signin-link", "someone@example.org"}, func(k string) string { return env[k] }, &out, &errOut)
	for _, want := range []string{"DATABASE_URL", "REDIS_URL", "SECRET_KEY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("signin-link in production with nothing set: %v, want it to name %s", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "secret-key")); err == nil {
		t.Error("a secret key was generated in production")
	}
}

// The CLI's defaults are make up's: scripts/up.sh spells the same URLs and
// key file.
func TestDevelopmentDefaultsMatchMakeUp(t *testing.T) {
	root := servicetest.RepoRoot(t)
	up, err := os.ReadFile(filepath.Join(root, "scripts", "up.sh"))
	if err != nil {
		t.Fatal(err)
	}
	deps, err := os.ReadFile(filepath.Join(root, "scripts", "deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		strings.Replace(devDatabaseURL, "%s", "${PGPORT:-5432}", 1),
		strings.Replace(devRedisURL, "%s", "${REDIS_PORT:-6379}", 1),
		"keyfile=$STATE/secret-key",
	} {
		if !strings.Contains(string(up), want) {
			t.Errorf("scripts/up.sh does not use %s", want)
		}
	}
	if want := `ROSEASH_STATE="${ROSEASH_STATE:-$ROSEASH_REPO/` + devStateDir + `}"`; !strings.Contains(string(deps), want) {
		t.Errorf("scripts/deps.sh does not default the state directory as %s", want)
	}
}
