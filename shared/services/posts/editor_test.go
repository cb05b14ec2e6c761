package posts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/posts"
)

func draftInput() models.PostInput {
	return models.PostInput{Type: "post", Title: "Harvest supper", HTML: "<p>Long tables in the orchard.</p>",
		Status: "draft", Tags: []string{"Events", "Food", "events"}}
}

func TestEditingPosts(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	var author uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO users (email, username, display_name) VALUES ('ed@example.org', 'editor', 'Ed') RETURNING id`).Scan(&author); err != nil {
		t.Fatal(err)
	}
	id, err := st.CreatePost(ctx, author, draftInput())
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.PostForEdit(ctx, id)
	if err != nil || e.Input.Slug != "harvest-supper" || e.Input.Version != 1 || len(e.Input.Tags) != 2 || e.PublishedAt != nil {
		t.Fatalf("created = %+v, %v", e, err)
	}
	if _, err := st.PublishedPostBySlug(ctx, time.Now(), "harvest-supper"); models.Code(err) != models.ENotFound {
		t.Fatalf("a draft is public: %v", err)
	}

	// Publishing with the version read saves; the same version again is a conflict and writes nothing.
	in := e.Input
	in.Status, in.Title = "published", "Harvest supper, 3 October"
	v, err := st.UpdatePost(ctx, id, in)
	if err != nil || v != 2 {
		t.Fatalf("publish: version %d, %v", v, err)
	}
	stale := e.Input
	stale.Title = "Overwritten"
	if _, err := st.UpdatePost(ctx, id, stale); models.Code(err) != models.EConflict {
		t.Fatalf("stale save: %v, want a conflict", err)
	}
	if got, _ := st.PublishedPostBySlug(ctx, time.Now(), "harvest-supper"); got.Title != "Harvest supper, 3 October" {
		t.Fatalf("after a refused stale save the title is %q", got.Title)
	}

	// A future date schedules; the post appears only from then.
	in.Version, in.PublishedAt = 2, time.Now().Add(48*time.Hour)
	if _, err := st.UpdatePost(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishedPostBySlug(ctx, time.Now(), "harvest-supper"); models.Code(err) != models.ENotFound {
		t.Fatal("a scheduled post is public before its time")
	}
	if list, _ := st.AdminPosts(ctx, time.Now(), "", "scheduled", 10); len(list) != 1 {
		t.Fatalf("scheduled list = %d", len(list))
	}

	// Slugs are one namespace; a taken one is a conflict.
	other := draftInput()
	other.Title, other.Slug = "Another", "harvest-supper"
	if _, err := st.CreatePost(ctx, author, other); models.Code(err) != models.EConflict {
		t.Fatalf("taken slug: %v", err)
	}
	bad := draftInput()
	bad.Title = ""
	if _, err := st.CreatePost(ctx, author, bad); models.Code(err) != models.EInvalid {
		t.Fatalf("no title: %v", err)
	}

	if err := st.DeletePost(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePost(ctx, id); models.Code(err) != models.ENotFound {
		t.Fatalf("second delete: %v", err)
	}
}

// Kept listings: a page is served from memory until the Store changes a
// post (then at once) or the time runs out (a change made elsewhere).
func TestKeptListingsShowChangesAtOnceOrWithinTheirTime(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	st.CacheListings(300 * time.Millisecond)
	author := mustUser(t, db, "keeper", "Keeper")
	list := func() []string {
		t.Helper()
		page, err := st.PublishedPosts(ctx, time.Now(), contracts.PostQuery{Type: "post"})
		if err != nil {
			t.Fatal(err)
		}
		return slugs(page.Posts)
	}
	mustPost(t, db, post{Slug: "first", At: -time.Hour})
	if got := list(); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("listing %v", got)
	}
	// Written behind the Store's back: the kept page is served...
	mustPost(t, db, post{Slug: "elsewhere", At: -time.Minute})
	if got := list(); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("a kept page was not served: %v", got)
	}
	// ...until a change through the Store, which shows at once.
	in := draftInput()
	in.Status, in.Title = "published", "Through the store"
	if _, err := st.CreatePost(ctx, author, in); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 3 || got[0] != "through-the-store" {
		t.Fatalf("after a change through the Store: %v", got)
	}
	// A change elsewhere shows once the kept page's time is up.
	if _, err := db.Exec(ctx, `DELETE FROM posts WHERE slug = 'elsewhere'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if got := list(); len(got) != 2 {
		t.Fatalf("after the kept time: %v", got)
	}
}
