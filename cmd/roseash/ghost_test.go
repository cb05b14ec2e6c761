package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// `roseash ghost-sync` imports a Ghost site's posts with a progress bar and
// a summary, and says which setting is missing.
func TestGhostSyncCommand(t *testing.T) {
	ghost := ghosttest.Start(t)
	now := time.Now().UTC().Add(-time.Hour)
	for _, title := range []string{"First", "Second", "Third"} {
		ghost.AddPost(ghostsync.Post{Title: title + " from Ghost", Slug: strings.ToLower(title) + "-from-ghost",
			HTML: "<p>" + title + "</p>", Status: "published", PublishedAt: &now, UpdatedAt: now})
	}
	env := map[string]string{"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey, "DATABASE_URL": pgtest.MustDatabaseURL(t)}
	var out strings.Builder
	// The fake Ghost is on loopback, which the SSRF-safe client refuses...
	err := ghostSyncCmd(context.Background(), nil, func(k string) string { return env[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "private or local network") {
		t.Fatalf("ghost-sync to a loopback Ghost without GHOST_ALLOW_PRIVATE_ADDRESS: %v", err)
	}
	// ... unless allowed, which production refuses.
	env["GHOST_ALLOW_PRIVATE_ADDRESS"] = "true"
	env["APP_ENV"] = "production"
	if err := ghostSyncCmd(context.Background(), nil, func(k string) string { return env[k] }, &out); err == nil ||
		!strings.Contains(err.Error(), "refused in production") {
		t.Fatalf("GHOST_ALLOW_PRIVATE_ADDRESS in production: %v", err)
	}
	delete(env, "APP_ENV")
	out.Reset()
	if err := ghostSyncCmd(context.Background(), nil, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("ghost-sync: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "3/3") || !strings.Contains(out.String(), "created 3, updated 0, deleted 0") {
		t.Fatalf("output lacks the progress or summary:\n%s", out.String())
	}
	delete(env, "GHOST_CONTENT_KEY")
	if err := ghostSyncCmd(context.Background(), nil, func(k string) string { return env[k] }, &out); err == nil || !strings.Contains(err.Error(), "GHOST_CONTENT_KEY") {
		t.Fatalf("missing key: %v", err)
	}
}
