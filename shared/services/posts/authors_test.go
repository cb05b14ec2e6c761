package posts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/posts"
)

func mustAuthor(t *testing.T, db *pgxpool.Pool, email, username, name string, admin bool) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(), `INSERT INTO users (email, username, display_name, is_admin)
		VALUES ($1, $2, $3, $4) RETURNING id`, email, username, name, admin).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// The authors list has everyone credited with a post plus the admins, with
// their counts; editing a name and biography shows on the author's page;
// posts can be credited to another author, but not to any member.
func TestAuthors(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	admin := mustAuthor(t, db, "admin@example.org", "admin", "Admin", true)
	writer := mustAuthor(t, db, "wren@example.org", "wren", "Wren", false)
	member := mustAuthor(t, db, "moe@example.org", "moe", "Moe", false)
	ghost := mustAuthor(t, db, "ghost-abc@"+models.GhostAuthorEmailDomain, "gale", "Gale", false)
	if _, err := db.Exec(ctx, `UPDATE users SET ghost_author_id = 'abc' WHERE id = $1`, ghost); err != nil {
		t.Fatal(err)
	}

	in := draftInput()
	in.Status = "published"
	id, err := st.CreatePost(ctx, writer, in) // as if they had written it
	if err != nil {
		t.Fatal(err)
	}
	in.Title, in.Slug, in.AuthorID = "Second", "", writer // credited by the admin
	id, err = st.CreatePost(ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := st.PostForEdit(ctx, id)
	if e.AuthorID != writer || e.AuthorName != "Wren" {
		t.Fatalf("credited to %v (%q), want the chosen author", e.AuthorID, e.AuthorName)
	}
	draft := draftInput()
	draft.Title = "Notes"
	if _, err := st.CreatePost(ctx, admin, draft); err != nil {
		t.Fatal(err)
	}

	list, err := st.Authors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uuid.UUID]string{}
	for _, a := range list {
		got[a.Author.ID] = a.Author.Username
		switch a.Author.ID {
		case admin:
			if !a.IsAdmin || a.Posts != 1 || a.Published != 0 {
				t.Errorf("admin %+v", a)
			}
		case writer:
			if a.Posts != 2 || a.Published != 2 || a.FromGhost {
				t.Errorf("writer %+v", a)
			}
		case ghost:
			if !a.FromGhost || !a.GhostOnly || a.Posts != 0 {
				t.Errorf("ghost author %+v", a)
			}
		}
	}
	if len(list) != 3 || got[member] != "" {
		t.Fatalf("authors %v: want admin, writer and the Ghost author, not the member", got)
	}

	// Crediting a member who is not an author is refused; re-crediting to an author works.
	e, _ = st.PostForEdit(ctx, id)
	in = e.Input
	in.AuthorID = member
	if _, err := st.UpdatePost(ctx, id, in); models.Code(err) != models.EInvalid {
		t.Fatalf("crediting a member: %v, want invalid", err)
	}
	in.AuthorID = uuid.New()
	if _, err := st.UpdatePost(ctx, id, in); models.Code(err) != models.EInvalid {
		t.Fatalf("crediting nobody: %v, want invalid", err)
	}
	in.AuthorID = ghost
	if _, err := st.UpdatePost(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	e, _ = st.PostForEdit(ctx, id)
	if e.AuthorID != ghost {
		t.Fatalf("author %v after re-crediting", e.AuthorID)
	}
	// No author given keeps the current one.
	in = e.Input
	in.AuthorID = uuid.Nil
	if _, err := st.UpdatePost(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	if e, _ = st.PostForEdit(ctx, id); e.AuthorID != ghost {
		t.Fatalf("author %v after a save without one", e.AuthorID)
	}

	// Name and biography.
	if err := st.UpdateAuthor(ctx, ghost, "  Gale Force ", "Writes about weather.\r\nAnd wind."); err != nil {
		t.Fatal(err)
	}
	a, err := st.AuthorByUsername(ctx, "gale")
	if err != nil || a.Name != "Gale Force" || a.Bio != "Writes about weather.\nAnd wind." {
		t.Fatalf("author page = %+v, %v", a, err)
	}
	for name, c := range map[string][2]string{
		"empty name":   {" ", ""},
		"long name":    {strings.Repeat("n", 101), ""},
		"long bio":     {"Gale", strings.Repeat("b", models.MaxBio+1)},
		"control char": {"Gale", "bell\a"},
	} {
		if err := st.UpdateAuthor(ctx, ghost, c[0], c[1]); models.Code(err) != models.EInvalid || models.Message(err) == "" {
			t.Errorf("%s: %v, want invalid with a message", name, err)
		}
	}
	if err := st.UpdateAuthor(ctx, ghost, "Gale", strings.Repeat("é", models.MaxBio)); err != nil {
		t.Errorf("a biography of exactly %d characters: %v", models.MaxBio, err)
	}
	if err := st.UpdateAuthor(ctx, member, "Moe", ""); models.Code(err) != models.ENotFound {
		t.Errorf("editing a member who is not an author: %v, want not found", err)
	}
}
