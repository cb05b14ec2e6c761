package main

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"rose-ash.com/platform/shared/config"
)

// The development defaults, the same as scripts/up.sh's (make up): the
// local PostgreSQL's roseash database, the local Redis, and the secret key
// make up generated into $ROSEASH_STATE/secret-key. A test keeps the two
// in step.
const (
	devDatabaseURL = "postgres://postgres@127.0.0.1:%s/roseash?sslmode=disable" // PGPORT, default 5432
	devRedisURL    = "redis://127.0.0.1:%s/0"                                   // REDIS_PORT, default 6379
	devStateDir    = ".dev"                                                     // ROSEASH_STATE
)

// withDevelopmentDefaults returns getenv with make up's development values
// standing in for DATABASE_URL, REDIS_URL and SECRET_KEY when they (and
// their _FILE forms) are unset, so that every command works after make up
// with no environment. It does so only when the environment is development
// (APP_ENV, or the config file); in production getenv is returned as it
// is, and a missing setting stops the command as it stops a service. The
// secret key is read from (or, like make up does, first generated into)
// $ROSEASH_STATE/secret-key; it returns an error when that fails.
func withDevelopmentDefaults(getenv func(string) string) (func(string) string, error) {
	env, err := config.Environment(getenv)
	if err != nil || env != "development" {
		return getenv, nil // config.Load reports a bad file or environment
	}
	unset := func(name string) bool { return getenv(name) == "" && getenv(name+"_FILE") == "" }
	defaults := map[string]string{}
	if unset("DATABASE_URL") {
		defaults["DATABASE_URL"] = fmt.Sprintf(devDatabaseURL, cmp.Or(getenv("PGPORT"), "5432"))
	}
	if unset("REDIS_URL") {
		defaults["REDIS_URL"] = fmt.Sprintf(devRedisURL, cmp.Or(getenv("REDIS_PORT"), "6379"))
	}
	if unset("SECRET_KEY") {
		file := filepath.Join(cmp.Or(getenv("ROSEASH_STATE"), devStateDir), "secret-key")
		if err := ensureSecretKey(file); err != nil {
			return nil, err
		}
		defaults["SECRET_KEY_FILE"] = file
	}
	return func(k string) string {
		if v, ok := defaults[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// ensureSecretKey leaves a secret key file of 32 or more characters as it
// is and otherwise writes a new random one, as scripts/up.sh does, readable
// only by its owner.
func ensureSecretKey(file string) error {
	if b, err := os.ReadFile(file); err == nil && len(b) >= 32 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create %s for the development secret key: %w", filepath.Dir(file), err)
	}
	key := make([]byte, 48)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.WriteFile(file, []byte(base64.RawURLEncoding.EncodeToString(key)), 0o600); err != nil {
		return fmt.Errorf("write the development secret key: %w", err)
	}
	return nil
}
