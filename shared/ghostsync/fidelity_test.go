package ghostsync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub/articles"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/posts"
)

// federatedStore is the blog's posts store announcing its changes, as
// blog/main.go wires it.
func federatedStore(t *testing.T, db *pgxpool.Pool) (*posts.Store, *articles.Publisher) {
	t.Helper()
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	store := posts.New(db)
	pub := &articles.Publisher{BlogURL: "https://blog.example", Jobs: jobs}
	store.OnChange(pub.Sync)
	return store, pub
}

func mustSyncWith(t *testing.T, c *ghostsync.Client, db *pgxpool.Pool, opts ghostsync.Options) ghostsync.Summary {
	t.Helper()
	sum, err := ghostsync.SyncWith(context.Background(), c, db, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func postID(t *testing.T, db *pgxpool.Pool, ghostID string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(), `SELECT id FROM posts WHERE ghost_id = $1`, ghostID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// activities lists the types of the activities sent about a post, oldest
// first.
func activities(t *testing.T, db *pgxpool.Pool, objectID string) string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT type FROM ap_activities WHERE object_uri = $1 ORDER BY created_at, id`, objectID)
	if err != nil {
		t.Fatal(err)
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(types, ",")
}

// Followers see what happens in Ghost as they see the blog's own edits: a
// new post is a Create, an edit an Update, an unpublish a Delete, each in
// the transaction of the write (a failed announcement leaves the post as
// it was).
func TestGhostChangesReachTheFediverse(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	store, pub := federatedStore(t, db)
	opts := ghostsync.Options{Posts: store}
	now := time.Now().UTC().Add(-time.Minute)
	id := g.AddPost(post("fresh", now))
	mustSyncWith(t, c, db, opts)
	object := pub.ObjectID(postID(t, db, id))
	if got := activities(t, db, object); got != "Create" {
		t.Fatalf("after the import: %q", got)
	}

	g.Update(id, now.Add(time.Second), func(p *ghostsync.Post) { p.HTML = "<p>Edited in Ghost.</p>" })
	mustSyncWith(t, c, db, opts)
	if got := activities(t, db, object); got != "Create,Update" {
		t.Fatalf("after an edit: %q", got)
	}
	var content string
	if err := db.QueryRow(context.Background(), `SELECT payload->'object'->'source'->>'content' FROM ap_activities
		WHERE object_uri = $1 AND type = 'Update'`, object).Scan(&content); err != nil || !strings.Contains(content, "Edited in Ghost.") {
		t.Fatalf("the Update carries %q (%v)", content, err)
	}

	// An announcement that fails undoes the write with it.
	failing := posts.New(db)
	failing.OnChange(func(context.Context, pgx.Tx, uuid.UUID) error { return errors.New("no delivery") })
	g.Update(id, now.Add(2*time.Second), func(p *ghostsync.Post) { p.Title = "Never stored" })
	if _, err := ghostsync.SyncWith(context.Background(), c, db, ghostsync.Options{Posts: failing}, nil); err == nil {
		t.Fatal("a sync whose announcement failed succeeded")
	}
	if n := count(t, db, `SELECT count(*) FROM posts WHERE title = 'Never stored'`); n != 0 {
		t.Fatal("the post was written without its announcement")
	}

	g.Update(id, now.Add(3*time.Second), func(p *ghostsync.Post) { p.Status = "draft" }) // unpublished
	mustSyncWith(t, c, db, opts)
	if got := activities(t, db, object); got != "Create,Update,Delete" {
		t.Fatalf("after unpublishing: %q", got)
	}
}

// Members-only and paid posts: skipped by default (a public copy from
// before is deleted, and its Article with it); imported as members-only
// when configured, their body read only through MembersPostHTML, never
// announced.
func TestMembersOnlyPosts(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	store, pub := federatedStore(t, db)
	now := time.Now().UTC().Add(-time.Minute)
	members := post("for-members", now)
	members.Visibility = "paid"
	members.HTML = "<p>Free preview.</p><!--members-only--><p>Secret members text.</p>"
	members.Excerpt = ""
	mid := g.AddPost(members)
	was := g.AddPost(post("was-public", now))
	mustSyncWith(t, c, db, ghostsync.Options{Posts: store})
	if n := count(t, db, `SELECT count(*) FROM posts WHERE slug = 'for-members'`); n != 0 {
		t.Fatal("a paid post was imported by default")
	}
	object := pub.ObjectID(postID(t, db, was))
	g.Update(was, now.Add(time.Second), func(p *ghostsync.Post) { p.Visibility = "members" })
	sum := mustSyncWith(t, c, db, ghostsync.Options{Posts: store})
	if sum.Deleted != 1 || activities(t, db, object) != "Create,Delete" {
		t.Fatalf("a post made members-only: summary %+v, activities %q", sum, activities(t, db, object))
	}

	opts := ghostsync.Options{Posts: store, MembersPosts: config.GhostMembersImport}
	mustSyncWith(t, c, db, opts)
	if n := count(t, db, `SELECT count(*) FROM posts WHERE visibility = 'members'`); n != 2 {
		t.Fatalf("%d members-only posts imported", n)
	}
	if n := count(t, db, `SELECT count(*) FROM ap_activities WHERE object_uri = $1`, pub.ObjectID(postID(t, db, mid))); n != 0 {
		t.Fatal("a members-only post was announced")
	}
	ctx, at := context.Background(), time.Now()
	p, err := store.PublishedPostBySlug(ctx, at, "for-members")
	if err != nil {
		t.Fatal(err)
	}
	if !p.MembersOnly || p.HTML != "" || strings.Contains(p.Excerpt, "Secret") {
		t.Fatalf("read for anyone: members %v, html %q, excerpt %q", p.MembersOnly, p.HTML, p.Excerpt)
	}
	body, err := store.MembersPostHTML(ctx, at, p.ID)
	if err != nil || !strings.Contains(body, "Free preview.") || strings.Contains(body, "Secret") {
		// The Content API gives a key no members' text: only the preview.
		t.Fatalf("members' body %q (%v)", body, err)
	}
	lists := []func() ([]models.Post, error){
		func() ([]models.Post, error) {
			pg, err := store.PublishedPosts(ctx, at, contracts.PostQuery{})
			return pg.Posts, err
		},
		func() ([]models.Post, error) {
			pg, err := store.SearchPosts(ctx, at, "preview", 1, 10)
			return pg.Posts, err
		},
		func() ([]models.Post, error) { return store.RecentlyUpdated(ctx, at, 10) },
	}
	for i, list := range lists {
		got, err := list()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			if p.MembersOnly && p.HTML != "" {
				t.Errorf("list %d gives the members' post's body: %q / %q", i, p.HTML, p.Excerpt)
			}
		}
	}
	if _, err := store.MembersPostHTML(ctx, at, postID(t, db, was)); err != nil {
		t.Fatal(err)
	}
}

// Renaming a tag in Ghost moves no post's updated_at; the blog follows it.
func TestTagRenamesPropagate(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	g.AddPost(post("a", base))
	mustSync(t, c, db)
	g.RenameTag("tag-news", "Co-op News", "co-op-news")
	sum := mustSync(t, c, db)
	if sum.Tags != 1 || !sum.Changed() {
		t.Fatalf("summary %+v", sum)
	}
	if n := count(t, db, `SELECT count(*) FROM tags WHERE slug = 'co-op-news' AND name = 'Co-op News' AND ghost_id = 'tag-news'`); n != 1 {
		t.Fatal("the renamed tag did not follow Ghost")
	}
	if sum := mustSync(t, c, db); sum.Tags != 0 {
		t.Fatalf("an unchanged tag renamed again: %+v", sum)
	}
}

// Ghost's navigation and secondary navigation become the blog's two-level
// navigation, links to the Ghost site made local; an unchanged one is not
// saved again.
func TestNavigationIsImported(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	nav := navigation.New(db)
	g.SetNavigation(
		[]ghostsync.NavLink{{Label: "Home", URL: g.URL + "/"}, {Label: "About", URL: g.URL + "/about/"}, {Label: "Shop", URL: "https://shop.example/"}},
		[]ghostsync.NavLink{{Label: "Sign up", URL: "/#/portal/"}, {Label: "Contact", URL: "/contact/"}})
	opts := ghostsync.Options{Nav: nav}
	if sum := mustSyncWith(t, c, db, opts); !sum.Nav || !sum.Changed() {
		t.Fatalf("summary %+v", sum)
	}
	tree, err := nav.NavTree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range tree {
		got = append(got, it.Label+" "+it.URL)
		for _, ch := range it.Children {
			got = append(got, "  "+ch.Label+" "+ch.URL)
		}
	}
	want := "Home /|About /about|Shop https://shop.example/|More /#/portal/|  Sign up /#/portal/|  Contact /contact"
	if strings.Join(got, "|") != want {
		t.Fatalf("navigation\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if sum := mustSyncWith(t, c, db, opts); sum.Nav {
		t.Fatal("an unchanged navigation was saved again")
	}
}

// Ghost's embed cards keep their video, sandboxed and lazy, from the
// configured hosts only; the feature image keeps its alt text and caption.
func TestEmbedsAndFeatureImageDetails(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	p := post("video", base)
	p.HTML = `<figure class="kg-card kg-embed-card"><iframe width="200" height="113" src="https://www.youtube.com/embed/abc?feature=oembed" frameborder="0" allow="autoplay" allowfullscreen title="A talk"></iframe></figure>` +
		`<figure class="kg-card kg-embed-card"><iframe src="https://evil.example/x"></iframe></figure>`
	p.FeatureImage = "/content/images/cover.jpg"
	p.FeatureImageAlt = "Members at the harvest"
	p.FeatureImageCaption = `Photo by <a href="https://example.com/ann" onclick="x()">Ann</a>`
	id := g.AddPost(p)
	mustSyncWith(t, g.Client(t), db, ghostsync.Options{EmbedHosts: []string{"www.youtube.com", "player.vimeo.com"}})
	var html, alt, caption string
	if err := db.QueryRow(context.Background(), `SELECT html, feature_image_alt, feature_image_caption FROM posts WHERE ghost_id = $1`, id).
		Scan(&html, &alt, &caption); err != nil {
		t.Fatal(err)
	}
	wantFrame := `<iframe width="200" height="113" src="https://www.youtube.com/embed/abc?feature=oembed" allowfullscreen="" title="A talk" sandbox="` +
		ghostsync.EmbedSandbox + `" loading="lazy" referrerpolicy="strict-origin-when-cross-origin"></iframe>`
	if !strings.Contains(html, wantFrame) {
		t.Errorf("the YouTube embed is not kept as expected:\n%s", html)
	}
	if strings.Contains(html, "evil.example") || strings.Count(html, "<iframe") != 1 {
		t.Errorf("an iframe from another host was kept:\n%s", html)
	}
	if alt != "Members at the harvest" || !strings.Contains(caption, `href="https://example.com/ann"`) || strings.Contains(caption, "onclick") {
		t.Errorf("alt %q caption %q", alt, caption)
	}
}
