package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/postgres/pgtest"
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

// A blog replica without Ghost configured leaves the ghost queue alone: a
// sync job queued by a replica that has Ghost stays for that replica,
// instead of being taken here and failed as an unknown kind of job.
func TestGhostQueueIsWorkedOnlyWhereGhostIsConfigured(t *testing.T) {
	s := servicetest.Start(t, "blog", run, servicetest.Options{})
	pool, err := pgxpool.New(context.Background(), s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Insert(context.Background(), ghostsync.SyncArgs{Reason: "webhook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // River's workers fetch new jobs at once (and poll every second)
	var state string
	var attempts int
	if err := pool.QueryRow(context.Background(), `SELECT state, attempt FROM river_job WHERE id = $1`, res.Job.ID).
		Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != "available" || attempts != 0 {
		t.Fatalf("the Ghost sync job was taken by a replica without Ghost: state %s after %d attempts", state, attempts)
	}
}

// A Ghost members-only post imported as members-only (ghost.members_posts
// "members") shows anonymous readers its title, excerpt and a notice to
// sign in, on the page (cached or not), in the feeds, in search and to
// fediverse servers; its JSON-LD says it is not free. A public post's
// YouTube embed plays (the page may frame YouTube), its Ghost cards are
// styled, and its feature image keeps its alt text and caption.
func TestGhostMembersPostsAndCards(t *testing.T) {
	ghost := ghosttest.Start(t)
	s := servicetest.Start(t, "blog", run, servicetest.Options{Env: map[string]string{
		"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey, "GHOST_MEMBERS_POSTS": "members",
		"GHOST_SYNC_INTERVAL": "1s", "GHOST_ALLOW_PRIVATE_ADDRESS": "true",
	}})
	members := ghostPost("members-story")
	members.Visibility = "members"
	members.CustomExcerpt = "A story for the co-op's members."
	members.HTML = "<p>Preview paragraph.</p><!--members-only--><p>Members' text.</p>"
	ghost.AddPost(members)
	video := ghostPost("video-post")
	video.HTML = `<figure class="kg-card kg-embed-card"><iframe width="200" height="113" src="https://www.youtube.com/embed/abc" allowfullscreen></iframe></figure>`
	video.FeatureImage = "https://images.example/cover.jpg"
	video.FeatureImageAlt = "The orchard in May"
	video.FeatureImageCaption = `Photo by <a href="https://example.com/ann">Ann</a>`
	ghost.AddPost(video)

	page := s.WaitStatus(t, "/members-story", http.StatusOK)
	for _, surface := range []struct{ name, body string }{
		{"the post page", page},
		{"the cached post page", func() string { _, _, b := s.Get(t, "/members-story"); return b }()},
		{"the RSS feed", func() string { _, _, b := s.Get(t, "/rss.xml"); return b }()},
		{"the Atom feed", func() string { _, _, b := s.Get(t, "/atom.xml"); return b }()},
		{"search", func() string { _, _, b := s.Get(t, "/search?q=preview"); return b }()},
		{"the sitemap", func() string { _, _, b := s.Get(t, "/sitemap.xml"); return b }()},
	} {
		if strings.Contains(surface.body, "Preview paragraph") {
			t.Errorf("%s shows a members-only post's body to an anonymous reader", surface.name)
		}
	}
	if !strings.Contains(page, "This post is for members.") || !strings.Contains(page, `href="/auth/login?next=%2Fmembers-story"`) {
		t.Error("the members-only post shows no notice with a way to sign in")
	}
	if !strings.Contains(page, `"isAccessibleForFree":false`) {
		t.Error("the JSON-LD does not say the post is for members")
	}
	req, _ := http.NewRequest(http.MethodGet, s.BaseURL+"/members-story", nil)
	req.Header.Set("Accept", "application/activity+json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "Preview paragraph") {
			t.Error("the ActivityPub Article carries a members-only post's body")
		}
	}

	videoPage := s.WaitStatus(t, "/video-post", http.StatusOK)
	if !strings.Contains(videoPage, `src="https://www.youtube.com/embed/abc"`) || !strings.Contains(videoPage, `loading="lazy"`) {
		t.Error("the YouTube embed was stripped")
	}
	_, h, _ := s.Get(t, "/video-post")
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src https://www.youtube.com") {
		t.Errorf("the post page may not frame YouTube: %q", csp)
	}
	if _, h, _ := s.Get(t, "/"); strings.Contains(h.Get("Content-Security-Policy"), "frame-src") {
		t.Error("the home page may frame other sites")
	}
	if !strings.Contains(videoPage, "/static/cards") {
		t.Error("the post page does not link the Ghost cards' stylesheet")
	}
	if !strings.Contains(videoPage, `alt="The orchard in May"`) || !strings.Contains(videoPage, `<figcaption>Photo by <a href="https://example.com/ann"`) {
		t.Error("the feature image lost its alt text or caption")
	}
}

// Every service knows ghost.url (River's job leader, whichever service it
// is, schedules the periodic sync), but only the blog reads Ghost: the blog
// refuses to start with a Ghost site and no Content API key, naming it.
func TestBlogNeedsTheGhostKeyWithAGhostSite(t *testing.T) {
	env := map[string]string{
		"CONFIG_FILE":  servicetest.RepoRoot(t) + "/_config/app-config.yaml",
		"DATABASE_URL": pgtest.MustDatabaseURL(t), "REDIS_URL": servicetest.DefaultRedisURL,
		"SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnop", "MAIL_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir(),
		"BLOG_LISTEN_ADDR": "127.0.0.1:" + servicetest.FreePort(t), "GHOST_URL": "https://ghost.example",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GHOST_CONTENT_KEY") {
		t.Fatalf("the blog with a Ghost site and no key: %v, want an error naming GHOST_CONTENT_KEY", err)
	}
}
