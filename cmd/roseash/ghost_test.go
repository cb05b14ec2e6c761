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
