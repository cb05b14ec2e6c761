package activitypub

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/activitypub/signature"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/safefetch"
)

// NewClient returns the SSRF-safe client for talking to other servers: the
// platform's own hosts routed inside in development, the ranges of
// activitypub.allow_private reachable (tests only), a body cap of MaxBody.
func NewClient(cfg *config.Config, version string) *http.Client {
	return safefetch.New(safefetch.Options{
		Timeout:   15 * time.Second,
		MaxBody:   MaxBody,
		UserAgent: Software + "/" + version + " (+" + cfg.Service("federation").PublicURL + ")",
		Platform:  safefetch.ForConfig(cfg),
		Allow:     cfg.AllowedPrivatePrefixes(),
	})
}

// NewService builds service name's presence on the fediverse from the
// config. Jobs is set by the caller once the job queue runs.
func NewService(cfg *config.Config, name string, db *pgxpool.Pool, key SiteKey, client *http.Client, version string, logger *slog.Logger) *Service {
	base := cfg.Service(name).PublicURL
	platform := safefetch.ForConfig(cfg)
	allowHTTP := len(cfg.ActivityPub.AllowPrivate) > 0
	s := &Service{
		Name: name, BaseURL: base, Users: name == "federation", Version: version,
		FederationURL: cfg.Service("federation").PublicURL,
		Title:         "Rose Ash " + name,
		Summary:       summaries[name],
		DB:            db, Key: key, Logger: logger,
	}
	s.Resolver = &Resolver{
		DB: db, Client: client,
		Signer: signature.Signer{KeyID: KeyID(s.ActorID()), Key: key.Private},
		PlainHTTP: func(host string) bool {
			if allowHTTP {
				return true // tests: fake servers on loopback speak plain HTTP
			}
			if !strings.Contains(host, ":") {
				host += ":80"
			}
			_, ok := platform[host]
			return ok
		},
	}
	return s
}

var summaries = map[string]string{
	"blog":       "<p>Posts and pages of the Rose Ash cooperative.</p>",
	"market":     "<p>Products from the Rose Ash cooperative's markets.</p>",
	"cart":       "<p>The Rose Ash cooperative's shop.</p>",
	"events":     "<p>Events of the Rose Ash cooperative.</p>",
	"federation": "<p>The Rose Ash cooperative on the fediverse.</p>",
	"account":    "<p>Rose Ash accounts.</p>",
}

// WaitForKey loads (or creates) the site key, retrying while the schema is
// not there yet (the blog may still be migrating) until wait has passed.
func WaitForKey(ctx context.Context, db *pgxpool.Pool, wait time.Duration, logger *slog.Logger) (SiteKey, error) {
	deadline := time.Now().Add(wait)
	for {
		key, err := LoadOrCreateKey(ctx, db)
		if err == nil {
			return key, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return SiteKey{}, fmt.Errorf("activitypub: the site key: %w (are the migrations applied?)", err)
		}
		logger.Warn("waiting for the site key (are the migrations applied?)", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}
