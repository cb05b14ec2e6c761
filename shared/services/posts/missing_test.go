package posts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/posts"
)

// The demo seed writes posts through the store too: a post it adds is
// announced like any other change (OnChange), one already there is left
// alone and not announced, and a feature image is given only to a post
// that has none.
func TestAddingMissingPostsGoesThroughOnChange(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	var announced []uuid.UUID
	st.OnChange(func(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
		announced = append(announced, id)
		return nil
	})
	mustUser(t, db, "seeder", "Seeder") // seeder@example.org
	p := posts.NewPost{Type: "post", Slug: "first-harvest", Title: "First harvest", Excerpt: "Beans.",
		HTML: "<p>Beans and more beans.</p>", Status: models.PostStatusPublished, PublishedAgo: 48 * time.Hour,
		AuthorEmail: "SEEDER@example.org", TagSlugs: []string{"food", "news", "no-such-tag"}}
	add := func() bool {
		t.Helper()
		var added bool
		err := postgres.InTx(ctx, db, func(tx pgx.Tx) error {
			for _, tag := range []models.Tag{{Slug: "news", Name: "News"}, {Slug: "food", Name: "Food"}} {
				if err := posts.AddTagIfMissing(ctx, tx, tag); err != nil {
					return err
				}
			}
			var err error
			added, err = st.AddPostIfMissing(ctx, tx, p)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return added
	}
	if !add() || len(announced) != 1 {
		t.Fatalf("first add: announced %d, want the new post once", len(announced))
	}
	got, err := st.PublishedPostBySlug(ctx, time.Now(), "first-harvest")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != announced[0] || got.Author == nil || got.Author.Username != "seeder" ||
		!slices.Equal(tagSlugs(got.Tags), []string{"food", "news"}) ||
		time.Since(got.PublishedAt) < 47*time.Hour {
		t.Fatalf("added post = %+v (announced %v)", got, announced)
	}

	p.Title = "Changed by the seed"
	if add() || len(announced) != 1 {
		t.Fatalf("second add: added again or announced (%d)", len(announced))
	}
	if got, _ := st.PublishedPostBySlug(ctx, time.Now(), "first-harvest"); got.Title != "First harvest" {
		t.Fatalf("a post already there was changed: title %q", got.Title)
	}

	setImage := func(url string) {
		t.Helper()
		if err := postgres.InTx(ctx, db, func(tx pgx.Tx) error {
			return st.SetFeatureImageIfNone(ctx, tx, "first-harvest", url)
		}); err != nil {
			t.Fatal(err)
		}
	}
	setImage("/media/beans.jpg")
	setImage("/media/other.jpg")
	if got, _ := st.PublishedPostBySlug(ctx, time.Now(), "first-harvest"); got.FeatureImage != "/media/beans.jpg" || len(announced) != 2 {
		t.Fatalf("feature image %q, announced %d times; want the first image, announced once more", got.FeatureImage, len(announced))
	}
}
