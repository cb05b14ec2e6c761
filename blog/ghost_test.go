package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/servicetest"
)

func ghostPost(slug string) ghostsync.Post {
	now := time.Now().UTC().Add(-time.Minute)
	return ghostsync.Post{Title: "Ghost " + slug, Slug: slug, HTML: "<p>From Ghost.</p>", Status: "published",
		PublishedAt: &now, UpdatedAt: now, PrimaryAuthor: &ghostsync.Author{Name: "Gwen Ghost", Slug: "gwen", Bio: "Writes in Ghost."}}
}

// With ghost.sync_interval set, the blog syncs on its own, again and
// again, with no webhook: new Ghost posts appear with their author, and
// posts deleted in Ghost go.
func TestPeriodicGhostSync(t *testing.T) {
	ghost := ghosttest.Start(t)
	s := servicetest.Start(t, "blog", run, servicetest.Options{Env: map[string]string{
		"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey,
		"GHOST_SYNC_INTERVAL": "1s", "GHOST_ALLOW_PRIVATE_ADDRESS": "true", "PAGE_CACHE_TTL": "0s",
	}})
	first := ghost.AddPost(ghostPost("first-from-ghost"))
	body := s.WaitStatus(t, "/first-from-ghost", http.StatusOK)
	if !strings.Contains(body, `href="/author/gwen">Gwen Ghost</a>`) {
		t.Error("the synced post is not credited to its Ghost author")
	}
	if author := s.WaitStatus(t, "/author/gwen", http.StatusOK); !strings.Contains(author, "Writes in Ghost.") {
		t.Error("the Ghost author's page lacks the biography")
	}
	ghost.AddPost(ghostPost("second-from-ghost"))
	s.WaitStatus(t, "/second-from-ghost", http.StatusOK)
	ghost.Delete(first)
	s.WaitStatus(t, "/first-from-ghost", http.StatusNotFound)
}

// The blog reaches Ghost through the SSRF-safe client: a Ghost on a
// loopback address is refused unless ghost.allow_private_address, and the
// reason is recorded for the admin's sync page.
func TestGhostOnLoopbackIsRefusedByDefault(t *testing.T) {
	ghost := ghosttest.Start(t)
	ghost.AddPost(ghostPost("never-fetched"))
	s := servicetest.Start(t, "blog", run, servicetest.Options{Env: map[string]string{
		"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey, "GHOST_SYNC_INTERVAL": "1s",
	}})
	pool, err := pgxpool.New(context.Background(), s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := ghostsync.LoadState(context.Background(), pool)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.LastError, "private or local network") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refused sync recorded within 15s (last error %q)", st.LastError)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(ghost.Requests()) != 0 {
		t.Fatal("the blog reached a Ghost on loopback")
	}
	if code, _, _ := s.Get(t, "/never-fetched"); code != http.StatusNotFound {
		t.Fatalf("GET /never-fetched = %d", code)
	}
}
