package journeys

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/demo"
)

// The "done means": a newcomer signs in, opens the hub, follows the
// blog's actor by its handle, the admin publishes a post, and it arrives in
// the newcomer's timeline through the real inbox path (signed deliveries
// over loopback between the services). A remote server following the blog
// gets the Create too, signed, and then the Update and the Delete.
func TestPublishedPostReachesFollowersThroughTheirInboxes(t *testing.T) {
	st := StartStackWith(t, map[string]string{"ACTIVITYPUB_ALLOW_PRIVATE": "127.0.0.0/8"}, "blog")
	seedDemo(t, st)
	blog, fed := st.URL["blog"], st.URL["federation"]
	blogHost := strings.TrimPrefix(blog, "http://")

	// A remote Mastodon-like server follows the blog.
	remote := aptest.NewServer(t, aptest.WithFetchClient(NewBrowser(t).http))
	alice := remote.AddActor("alice")
	blogActor := blog + "/users/blog"
	deliver(t, NewBrowser(t), alice, blog+"/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": alice.ID + "/follows/blog", "type": "Follow", "actor": alice.ID, "object": blogActor})
	accept := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Accept" })
	if !accept.Verified {
		t.Fatalf("the Accept did not verify the way Mastodon verifies: %s", accept.Err)
	}
	if obj, _ := accept.Activity["object"].(map[string]any); obj["id"] != alice.ID+"/follows/blog" {
		t.Fatalf("the Accept does not embed the Follow: %v", accept.Activity["object"])
	}

	// A newcomer follows @blog@<blog host> from the hub.
	reader := NewBrowser(t)
	st.signInAtFederation(t, reader, "newcomer@example.org", "newcomer", "/hub")
	found := reader.Get(t, fed+"/hub/search?q="+url.QueryEscape("@blog@"+blogHost))
	if found.Status != http.StatusOK || !strings.Contains(found.Body, "Follow") {
		t.Fatalf("searching the blog's handle: %d\n%s", found.Status, found.Body)
	}
	// The blog accepts at once: the page after "Follow" says so, and shows
	// the blog's posts, fetched from its outbox.
	if p := reader.Post(t, fed+"/hub/follow", url.Values{"uri": {blogActor}}); p.Status >= 400 || !strings.Contains(p.Body, "You follow") {
		t.Fatalf("follow: %d, the page does not say the follow was accepted:\n%s", p.Status, between(p.Body, "<main", "</main>"))
	}
	pool, err := pgxpool.New(context.Background(), st.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	waitFor(t, 20*time.Second, "the blog to accept the newcomer's follow", func() bool {
		var n int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM ap_following WHERE local_actor = $1 AND actor_uri = $2 AND state = 'accepted'`,
			fed+"/users/newcomer", blogActor).Scan(&n)
		return n == 1
	})

	// The admin publishes a post.
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	form := url.Values{"title": {"Cider pressing weekend"}, "type": {"post"}, "status": {"published"},
		"html": {`<p>Bring your apples.</p>`}, "excerpt": {"Two days of pressing."}, "tags": {"Events"}, "version": {"0"},
		"feature_image": {"/media/press.jpg"}}
	saved := admin.Post(t, blog+"/admin/posts", form)
	if saved.Status != http.StatusOK {
		t.Fatalf("publish: %d\n%s", saved.Status, saved.Body)
	}
	waitForPage(t, reader, fed+"/hub", "Cider pressing weekend")

	create := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Create" })
	if !create.Verified {
		t.Fatalf("the Create did not verify: %s", create.Err)
	}
	// The post shows on Mastodon and GoToSocial as its title, excerpt and
	// link with its image, never behind a content warning (GoToSocial
	// makes one of a summary, or of an Article's name).
	article, _ := create.Activity["object"].(map[string]any)
	for _, k := range []string{"content", "url", "attributedTo", "published", "tag", "attachment"} {
		if _, ok := article[k]; !ok {
			t.Errorf("the post lacks %s: %v", k, article)
		}
	}
	if article["attributedTo"] != blogActor || article["type"] != "Note" || article["summary"] != nil || article["name"] != nil {
		t.Errorf("the post as sent: %v", article)
	}
	if c, _ := article["content"].(string); !strings.Contains(c, "Cider pressing weekend") || !strings.Contains(c, "Two days of pressing.") ||
		!strings.Contains(c, `href="`+article["url"].(string)+`"`) {
		t.Errorf("the post's text is not title, excerpt and link: %v", article["content"])
	}
	if img, _ := article["image"].(map[string]any); img["type"] != "Image" || img["url"] != blog+"/media/press.jpg" {
		t.Errorf("the Article's image is %v, want the feature image's absolute URL", article["image"])
	}
	// The Article is served at its id, and on its HTML page for ActivityStreams.
	for _, u := range []string{article["id"].(string), article["url"].(string)} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/activity+json")
		p := NewBrowser(t).Do(t, req)
		var doc map[string]any
		if err := json.Unmarshal([]byte(p.Body), &doc); err != nil || doc["id"] != article["id"] {
			t.Errorf("GET %s as activity+json: %d %.200s", u, p.Status, p.Body)
		}
	}

	// Editing sends Update; deleting sends Delete.
	editURL := strings.SplitN(saved.URL, "?", 2)[0]
	form.Set("title", "Cider pressing weekend (new date)")
	form.Set("version", "1")
	if p := admin.Post(t, editURL, form); p.Status != http.StatusOK {
		t.Fatalf("edit: %d", p.Status)
	}
	update := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Update" })
	if obj, _ := update.Activity["object"].(map[string]any); !strings.Contains(obj["content"].(string), "Cider pressing weekend (new date)") || obj["updated"] == nil {
		t.Errorf("Update carries %v", update.Activity["object"])
	}
	admin.Post(t, editURL+"/delete", nil)
	del := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Delete" })
	if obj, _ := del.Activity["object"].(map[string]any); obj["id"] != article["id"] || obj["type"] != "Tombstone" {
		t.Errorf("Delete carries %v", del.Activity["object"])
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
