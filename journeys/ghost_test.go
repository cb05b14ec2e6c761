package journeys

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
)

const webhookSecret = "ghost-webhook-secret-for-tests"

// A signed Ghost webhook queues a sync that imports the post in the
// background; unsigned and stale webhooks are refused; the admin's
// "Sync now" imports too and the sync page shows the result.
func TestGhostWebhookAndSyncNow(t *testing.T) {
	ghost := ghosttest.Start(t)
	// The fake Ghost is on loopback, which the SSRF-safe client refuses
	// unless ghost.allow_private_address.
	st := StartStackWith(t, map[string]string{"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey,
		"GHOST_WEBHOOK_SECRET": webhookSecret, "GHOST_ALLOW_PRIVATE_ADDRESS": "true"}, "blog")
	seedDemo(t, st)
	now := time.Now().UTC().Add(-time.Minute)
	id := ghost.AddPost(ghostsync.Post{Title: "Written in Ghost", Slug: "written-in-ghost",
		HTML:   `<p>From Ghost.</p><figure class="kg-card kg-image-card"><img src="https://ghost.example/a.jpg"></figure>`,
		Status: "published", PublishedAt: &now, UpdatedAt: now})

	body := []byte(`{"post":{"current":{"id":"` + id + `","title":"Written in Ghost"},"previous":{}}}`)
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", st.URL["blog"]+"/ghost/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Ghost-Signature", sig)
		}
		return NewBrowser(t).Do(t, req).Status
	}
	if s := post(""); s != http.StatusUnauthorized {
		t.Fatalf("unsigned webhook: %d", s)
	}
	if s := post(ghostsync.Sign("wrong-secret", body, time.Now())); s != http.StatusUnauthorized {
		t.Fatalf("wrongly signed webhook: %d", s)
	}
	if s := post(ghostsync.Sign(webhookSecret, body, time.Now().Add(-time.Hour))); s != http.StatusUnauthorized {
		t.Fatalf("stale webhook: %d", s)
	}
	if s := post(ghostsync.Sign(webhookSecret, body, time.Now())); s != http.StatusAccepted {
		t.Fatalf("signed webhook: %d", s)
	}
	reader := NewBrowser(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := reader.Get(t, st.URL["blog"]+"/written-in-ghost")
		if p.Status == 200 {
			if !strings.Contains(p.Body, `class="kg-card kg-image-card"`) {
				t.Error("Ghost's card markup was lost")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook's post never appeared (%d)", p.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Sync now, from the admin page.
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	later := time.Now().UTC()
	ghost.AddPage(ghostsync.Post{Title: "Ghost page", Slug: "ghost-page", HTML: "<p>A page.</p>", Status: "published",
		PublishedAt: &later, UpdatedAt: later})
	if p := admin.Post(t, st.URL["blog"]+"/admin/ghost/sync", nil); !strings.Contains(p.Body, "A sync is queued") {
		t.Fatalf("sync now: %d\n%s", p.Status, p.Body)
	}
	deadline = time.Now().Add(15 * time.Second)
	for reader.Get(t, st.URL["blog"]+"/ghost-page").Status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("sync now never imported the page")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p := admin.Get(t, st.URL["blog"]+"/admin/ghost"); !strings.Contains(p.Body, ghost.URL) || strings.Contains(p.Body, "never") {
		t.Fatalf("the sync page does not show the last run:\n%s", p.Body)
	}

	// Opening an imported post in the editor says where to edit it: the
	// next sync replaces local changes, and the editor keeps no cards.
	list := admin.Get(t, st.URL["blog"]+"/admin/posts")
	var imported, local string
	for _, row := range strings.Split(list.Body, "<tr") {
		id := between(row, `href="/admin/posts/`, `"`)
		switch {
		case id == "" || id == "new":
		case strings.Contains(row, "Written in Ghost"):
			imported = id
		case local == "" && !strings.Contains(row, "Ghost"):
			local = id
		}
	}
	if imported == "" {
		t.Fatalf("the imported post is not in the admin list:\n%s", list.Body)
	}
	if p := admin.Get(t, st.URL["blog"]+"/admin/posts/"+imported); !strings.Contains(p.Body, "This post comes from Ghost") {
		t.Errorf("the editor of an imported post does not say it comes from Ghost (%d)", p.Status)
	}
	if p := admin.Get(t, st.URL["blog"]+"/admin/posts/"+local); local == "" || strings.Contains(p.Body, "This post comes from Ghost") {
		t.Errorf("a local post's editor (%q) says it comes from Ghost", local)
	}
}

// With ghost.members_posts: members, a members-only Ghost post is read by a
// signed-in member (what Ghost's Content API gives: the part before the
// paywall), while a visitor gets the notice.
func TestMembersReadMembersOnlyPosts(t *testing.T) {
	ghost := ghosttest.Start(t)
	st := StartStackWith(t, map[string]string{"GHOST_URL": ghost.URL, "GHOST_CONTENT_KEY": ghosttest.ContentKey,
		"GHOST_MEMBERS_POSTS": "members", "GHOST_SYNC_INTERVAL": "1s", "GHOST_ALLOW_PRIVATE_ADDRESS": "true"}, "blog")
	now := time.Now().UTC().Add(-time.Minute)
	ghost.AddPost(ghostsync.Post{Title: "For members", Slug: "for-members", Status: "published", Visibility: "members",
		CustomExcerpt: "A story for the co-op's members.",
		HTML:          "<p>What members read.</p><!--members-only--><p>Ghost's own members only.</p>", PublishedAt: &now, UpdatedAt: now})

	visitor := NewBrowser(t)
	deadline := time.Now().Add(15 * time.Second)
	p := visitor.Get(t, st.URL["blog"]+"/for-members")
	for p.Status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the members-only post never appeared (%d)", p.Status)
		}
		time.Sleep(100 * time.Millisecond)
		p = visitor.Get(t, st.URL["blog"]+"/for-members")
	}
	if strings.Contains(p.Body, "What members read.") || !strings.Contains(p.Body, "This post is for members.") {
		t.Fatal("a visitor reads the members-only post, or gets no notice")
	}

	member := NewBrowser(t)
	st.SignIn(t, member, "blog", "member@example.org", "member")
	p = member.Get(t, st.URL["blog"]+"/for-members")
	if !strings.Contains(p.Body, "What members read.") || strings.Contains(p.Body, "This post is for members.") {
		t.Fatalf("a signed-in member does not read the members-only post (%d)", p.Status)
	}
}
