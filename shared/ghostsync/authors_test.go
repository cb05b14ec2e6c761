package ghostsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

type user struct {
	ID                              uuid.UUID
	Email, Username, Name, Bio, Pic string
	GhostID                         *string
}

func userBy(t *testing.T, db *pgxpool.Pool, where string, args ...any) user {
	t.Helper()
	var u user
	if err := db.QueryRow(context.Background(), `SELECT id, email, username, display_name, bio, avatar_url, ghost_author_id
		FROM users WHERE `+where, args...).Scan(&u.ID, &u.Email, &u.Username, &u.Name, &u.Bio, &u.Pic, &u.GhostID); err != nil {
		t.Fatalf("user where %s %v: %v", where, args, err)
	}
	return u
}

func authorOf(t *testing.T, db *pgxpool.Pool, ghostPostID string) uuid.UUID {
	t.Helper()
	var id *uuid.UUID
	if err := db.QueryRow(context.Background(), `SELECT author_id FROM posts WHERE ghost_id = $1`, ghostPostID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id == nil {
		t.Fatalf("post %s has no author", ghostPostID)
	}
	return *id
}

func byAuthor(slug string, at time.Time, a ghostsync.Author) ghostsync.Post {
	p := post(slug, at)
	p.PrimaryAuthor = &a
	return p
}

// Ghost's authors become the blog's: a user made for each (placeholder
// address, username from the slug), or the member whose username is the
// slug; posts are credited to them; changes made in Ghost later (name,
// slug, bio) follow, without undoing what the blog's admin edited.
func TestGhostAuthorsAreCredited(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	c := g.Client(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO users (email, username, display_name) VALUES ('bob@example.org', 'bob', 'Bobby')`)
	exec(`INSERT INTO users (email, username, display_name, ghost_author_id) VALUES ('dee@example.org', 'dee_dee', 'Dee', 'someone-else')`)

	ann := ghostsync.Author{Name: "Ann Smith", Slug: "ann-smith", Bio: "Grows apples.", ProfileImage: "/content/images/ann.jpg"}
	p1 := g.AddPost(byAuthor("apples", base, ann))
	p2 := g.AddPost(byAuthor("pears", base.Add(time.Minute), ann))
	p3 := g.AddPost(byAuthor("bread", base, ghostsync.Author{Name: "Bob B.", Slug: "bob", Bio: "Bakes."}))
	p4 := g.AddPost(byAuthor("dance", base, ghostsync.Author{Name: "Dee Two", Slug: "dee-dee"}))
	p5 := g.AddPage(byAuthor("jo-page", base, ghostsync.Author{Name: "Jo", Slug: "jo"}))

	sum := mustSync(t, c, db)
	if sum.Created != 5 || sum.Authors != 4 {
		t.Fatalf("summary %+v, want 5 created and 4 authors", sum)
	}
	annGhost, _ := g.Author("ann-smith")
	a := userBy(t, db, `ghost_author_id = $1`, annGhost.ID)
	if a.Username != "ann_smith" || a.Name != "Ann Smith" || a.Bio != "Grows apples." ||
		a.Pic != g.URL+"/content/images/ann.jpg" || a.Email != "ghost-"+annGhost.ID+"@"+models.GhostAuthorEmailDomain {
		t.Fatalf("Ann's user %+v", a)
	}
	if authorOf(t, db, p1) != a.ID || authorOf(t, db, p2) != a.ID {
		t.Fatal("Ann's posts are not credited to her")
	}
	bob := userBy(t, db, `username = 'bob'`)
	if bob.GhostID == nil || bob.Name != "Bobby" || bob.Bio != "Bakes." || authorOf(t, db, p3) != bob.ID {
		t.Fatalf("the member bob was not linked to the Ghost author bob (keeping his name): %+v", bob)
	}
	if dee := userBy(t, db, `id = $1`, authorOf(t, db, p4)); dee.Username != "dee_dee_2" || dee.Name != "Dee Two" {
		t.Fatalf("a Ghost author whose username is another's link: %+v", dee)
	}
	if jo := userBy(t, db, `id = $1`, authorOf(t, db, p5)); jo.Username != "author_jo" {
		t.Fatalf("a slug too short for a username: %+v", jo)
	}

	// Nothing changed: nothing is written.
	if sum := mustSync(t, c, db); sum.Authors != 0 || sum.Updated != 0 {
		t.Fatalf("second sync %+v", sum)
	}

	// The admin edits Ann's biography here; in Ghost her name and slug
	// change (no post changes).
	exec(`UPDATE users SET bio = 'Edited in the blog.' WHERE id = $1`, a.ID)
	g.UpdateAuthor(annGhost.ID, func(x *ghostsync.Author) { x.Name, x.Slug = "Ann Jones", "ann-jones" })
	sum = mustSync(t, c, db)
	if sum.Authors != 1 || sum.Updated != 0 || sum.Created != 0 {
		t.Fatalf("summary %+v after an author change in Ghost", sum)
	}
	a = userBy(t, db, `id = $1`, a.ID)
	if a.Name != "Ann Jones" || a.Username != "ann_jones" || a.Bio != "Edited in the blog." {
		t.Fatalf("after Ghost renamed Ann: %+v", a)
	}
	// Now her bio changes in Ghost: Ghost's wins.
	g.UpdateAuthor(annGhost.ID, func(x *ghostsync.Author) { x.Bio = "Grows apples and pears." })
	mustSync(t, c, db)
	if a = userBy(t, db, `id = $1`, a.ID); a.Bio != "Grows apples and pears." {
		t.Fatalf("bio %q after it changed in Ghost", a.Bio)
	}
	// A member keeps the username they chose when the slug changes.
	bobGhost, _ := g.Author("bob")
	g.UpdateAuthor(bobGhost.ID, func(x *ghostsync.Author) { x.Slug = "bob-baker" })
	mustSync(t, c, db)
	if b := userBy(t, db, `id = $1`, bob.ID); b.Username != "bob" {
		t.Fatalf("the member's username became %q", b.Username)
	}

	// A post given to another author in Ghost follows.
	g.Update(p2, base.Add(time.Hour), func(p *ghostsync.Post) { p.PrimaryAuthor = &ghostsync.Author{ID: bobGhost.ID} })
	mustSync(t, c, db)
	if authorOf(t, db, p2) != bob.ID {
		t.Fatal("a post reassigned in Ghost kept its old author")
	}
	if b := userBy(t, db, `id = $1`, bob.ID); b.Name != "Bobby" {
		t.Fatalf("bob's name is %q after a post was reassigned to him, want his own (Bobby)", b.Name)
	}

	// Posts synced before authors were credited get theirs on the next full read.
	exec(`UPDATE posts SET author_id = NULL`)
	exec(`UPDATE ghost_sync_state SET cursor = NULL`) // what migration 0006 does
	if sum := mustSync(t, c, db); sum.Updated != 5 {
		t.Fatalf("backfill %+v, want 5 updated", sum)
	}
	if authorOf(t, db, p1) != a.ID || authorOf(t, db, p3) != bob.ID {
		t.Fatal("posts were not credited by the backfill")
	}
	if n := count(t, db, `SELECT count(*) FROM users`); n != 5 {
		t.Fatalf("%d users, want 5 (no duplicates made)", n)
	}
}
