package demo_test

import (
	"context"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// Seeding twice makes the demo's three lists once, in order (news first,
// double opt-in; market days single opt-in; the board's list private),
// keeps an admin's change to one, and a demo post embeds the news list's
// widget.
func TestSeedMakesTheNewsletterLists(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	if _, err := db.Exec(ctx, `UPDATE newsletter_lists SET name = 'Market news' WHERE slug = 'market-days'`); err != nil {
		t.Fatal(err)
	}
	mustSeed(t, db, 1)
	rows, err := db.Query(ctx, `SELECT slug || ':' || name || ':' || public || ':' || double_opt_in FROM newsletter_lists ORDER BY created_at, slug`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := "news:Rose Ash news:true:true|market-days:Market news:true:false|board:Board members:false:true"
	if strings.Join(got, "|") != want {
		t.Errorf("lists %q, want %q", got, want)
	}
	embeds := 0
	for _, p := range demo.Posts {
		if strings.Contains(p.HTML, "<p>[[widget:newsletter:news]]</p>") && !p.Draft {
			embeds++
			if p.Slug != demo.NewsletterWidgetPost {
				t.Errorf("the widget is in %s, not %s", p.Slug, demo.NewsletterWidgetPost)
			}
		}
	}
	if embeds != 1 {
		t.Errorf("%d published demo posts embed the news list's widget, want 1", embeds)
	}
}
