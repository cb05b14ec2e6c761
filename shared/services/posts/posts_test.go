package posts_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/posts"
)

var (
	now  = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	hour = time.Hour
	day  = 24 * time.Hour
)

func mustUser(t *testing.T, db *pgxpool.Pool, username, displayName string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(),
		`INSERT INTO users (email, username, display_name) VALUES ($1, $2, $3) RETURNING id`,
		username+"@example.org", username, displayName).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func mustTag(t *testing.T, db *pgxpool.Pool, slug, name string) {
	t.Helper()
	if _, err := db.Exec(context.Background(),
		`INSERT INTO tags (slug, name, description) VALUES ($1, $2, 'About '||$2)`, slug, name); err != nil {
		t.Fatal(err)
	}
}

// post is a row to insert: published at now+At unless Draft.
type post struct {
	Type, Slug, Title, Excerpt, HTML string
	Draft                            bool
	At                               time.Duration
	Author                           uuid.UUID // uuid.Nil: none
	Tags                             []string  // slugs, in order
}

func mustPost(t *testing.T, db *pgxpool.Pool, p post) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	if p.Type == "" {
		p.Type = "post"
	}
	if p.Title == "" {
		p.Title = "Title of " + p.Slug
	}
	if p.HTML == "" {
		p.HTML = "<p>Text of " + p.Slug + ".</p>"
	}
	status, published := "published", &time.Time{}
	*published = now.Add(p.At)
	if p.Draft {
		status, published = "draft", nil
	}
	author := uuid.NullUUID{UUID: p.Author, Valid: p.Author != uuid.Nil}
	var id uuid.UUID
	if err := db.QueryRow(ctx, `
		INSERT INTO posts (type, slug, title, excerpt, html, status, published_at, author_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		p.Type, p.Slug, p.Title, p.Excerpt, p.HTML, status, published, author).Scan(&id); err != nil {
		t.Fatalf("insert post %s: %v", p.Slug, err)
	}
	for i, tag := range p.Tags {
		if _, err := db.Exec(ctx, `
			INSERT INTO post_tags (post_id, tag_id, position) SELECT $1, id, $3 FROM tags WHERE slug = $2`,
			id, tag, i); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func slugs(ps []models.Post) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Slug
	}
	return s
}

func tagSlugs(tags []models.Tag) []string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = t.Slug
	}
	return s
}

func TestPublishedPosts(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)

	page, err := st.PublishedPosts(ctx, now, contracts.PostQuery{})
	if err != nil || page.Posts == nil || len(page.Posts) != 0 || page.Total != 0 || page.Page != 1 ||
		page.PerPage != contracts.DefaultPerPage || page.HasNext() || page.HasPrev() {
		t.Fatalf("no posts = %+v, %v; want an empty first page of 10", page, err)
	}

	maya := mustUser(t, db, "maya", "Maya Okafor")
	tom := mustUser(t, db, "tom", "")
	mustTag(t, db, "news", "News")
	mustTag(t, db, "food", "Food")
	mustTag(t, db, "events", "Events")
	mustPost(t, db, post{Slug: "oldest", At: -5 * day, Author: tom, Tags: []string{"food"}})
	mustPost(t, db, post{Slug: "older", At: -4 * day, Author: maya})
	mustPost(t, db, post{Slug: "middle", At: -3 * day, Author: maya, Tags: []string{"news", "food"}})
	mustPost(t, db, post{Slug: "newer", At: -2 * day, Tags: []string{"news"}})
	mustPost(t, db, post{Slug: "newest", At: -hour, Author: maya, Tags: []string{"food", "news"}})
	mustPost(t, db, post{Slug: "draft", Draft: true, Author: maya, Tags: []string{"news"}})
	mustPost(t, db, post{Slug: "scheduled", At: hour, Author: maya, Tags: []string{"news"}})
	mustPost(t, db, post{Type: "page", Slug: "about", At: -10 * day, Author: maya})

	page, err = st.PublishedPosts(ctx, now, contracts.PostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"newest", "newer", "middle", "older", "oldest"}
	if got := slugs(page.Posts); !slices.Equal(got, want) || page.Total != 5 {
		t.Fatalf("published posts = %v (total %d), want %v: no drafts, nothing scheduled, no pages, newest first",
			got, page.Total, want)
	}
	p := page.Posts[0]
	if p.Title != "Title of newest" || p.Type != "post" || p.Status != "published" || p.HTML != "" ||
		!p.PublishedAt.Equal(now.Add(-hour)) || p.PublishedAt.Location() != time.UTC || p.ID == uuid.Nil ||
		p.Author == nil || *p.Author != (models.Author{ID: maya, Username: "maya", Name: "Maya Okafor"}) ||
		!slices.Equal(tagSlugs(p.Tags), []string{"food", "news"}) || p.Tags[0].Name != "Food" ||
		p.Tags[0].Description != "About Food" || p.ReadingMinutes != 1 || p.Excerpt != "Text of newest." {
		t.Fatalf("listed post = %+v (author %+v)", p, p.Author)
	}
	if page.Posts[1].Author != nil {
		t.Errorf("a post without an author has author %+v", page.Posts[1].Author)
	}
	// A feed asks for the bodies too.
	withBodies, err := st.PublishedPosts(ctx, now, contracts.PostQuery{Bodies: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := withBodies.Posts[0].HTML; got != "<p>Text of newest.</p>" {
		t.Errorf("listed with bodies, the newest post's HTML = %q", got)
	}
	if a := page.Posts[4].Author; a == nil || a.Name != "tom" {
		t.Errorf("an author without a display name is called %+v, want their username", a)
	}

	// The scheduled post appears once its time comes.
	page, err = st.PublishedPosts(ctx, now.Add(2*hour), contracts.PostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(page.Posts); len(got) != 6 || got[0] != "scheduled" {
		t.Fatalf("two hours later: %v, want the scheduled post first", got)
	}

	// Paging.
	for _, tc := range []struct {
		page          int
		want          []string
		hasPrev, next bool
	}{
		{1, want[:2], false, true},
		{2, want[2:4], true, true},
		{3, want[4:], true, false},
		{4, []string{}, true, false},
	} {
		page, err := st.PublishedPosts(ctx, now, contracts.PostQuery{Page: tc.page, PerPage: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := slugs(page.Posts); !slices.Equal(got, tc.want) || page.Total != 5 || page.Page != tc.page ||
			page.PerPage != 2 || page.HasPrev() != tc.hasPrev || page.HasNext() != tc.next {
			t.Errorf("page %d of 2 = %v (total %d, prev %v, next %v), want %v (prev %v, next %v)",
				tc.page, got, page.Total, page.HasPrev(), page.HasNext(), tc.want, tc.hasPrev, tc.next)
		}
	}

	// Filters.
	for _, tc := range []struct {
		q    contracts.PostQuery
		want []string
	}{
		{contracts.PostQuery{TagSlug: "news"}, []string{"newest", "newer", "middle"}},
		{contracts.PostQuery{TagSlug: "food", AuthorUsername: "maya"}, []string{"newest", "middle"}},
		{contracts.PostQuery{AuthorUsername: "maya"}, []string{"newest", "middle", "older"}},
		{contracts.PostQuery{AuthorUsername: "maya", PerPage: 1, Page: 2}, []string{"middle"}},
		{contracts.PostQuery{TagSlug: "events"}, []string{}},
		{contracts.PostQuery{TagSlug: "no-such-tag"}, []string{}},
		{contracts.PostQuery{AuthorUsername: "nobody"}, []string{}},
		{contracts.PostQuery{Type: "page"}, []string{"about"}},
		{contracts.PostQuery{Type: "page", AuthorUsername: "tom"}, []string{}},
	} {
		page, err := st.PublishedPosts(ctx, now, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := slugs(page.Posts); !slices.Equal(got, tc.want) || page.Total != len(tc.want) && tc.q.PerPage == 0 {
			t.Errorf("%+v = %v (total %d), want %v", tc.q, got, page.Total, tc.want)
		}
	}

	for _, q := range []contracts.PostQuery{
		{Page: -1}, {PerPage: -1}, {PerPage: 51}, {Page: contracts.MaxPage + 1}, {Type: "draft"}, {Type: "Post"},
	} {
		if _, err := st.PublishedPosts(ctx, now, q); models.Code(err) != models.EInvalid {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}

func TestPublishedPostBySlug(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	maya := mustUser(t, db, "maya", "Maya Okafor")
	mustTag(t, db, "news", "News")
	long := "<h2>Growing</h2><p>" + strings.Repeat("word ", 799) + "end.</p>"
	mustPost(t, db, post{Slug: "long-read", HTML: long, Excerpt: "A long one.", At: -day, Author: maya,
		Tags: []string{"news"}})
	mustPost(t, db, post{Type: "page", Slug: "about", Title: "About us",
		HTML: "<p>We are a <strong>cooperative</strong> &amp; a market.</p>", At: -day})
	mustPost(t, db, post{Slug: "draft", Draft: true})
	mustPost(t, db, post{Slug: "scheduled", At: day})

	p, err := st.PublishedPostBySlug(ctx, now, "long-read")
	if err != nil {
		t.Fatal(err)
	}
	if p.HTML != long || p.ReadingMinutes != 3 || p.Excerpt != "A long one." || p.Author == nil ||
		p.Author.Username != "maya" || len(p.Tags) != 1 || p.Tags[0].Slug != "news" {
		t.Fatalf("post = %+v: want its HTML, 800 words read in 3 minutes, its excerpt, author and tag", p)
	}

	page, err := st.PublishedPostBySlug(ctx, now, "about")
	if err != nil {
		t.Fatal(err)
	}
	if page.Type != "page" || page.Title != "About us" || page.ReadingMinutes != 1 ||
		page.Excerpt != "We are a cooperative & a market." || page.Author != nil || page.Tags != nil {
		t.Fatalf("page = %+v: want the page, its excerpt made from its text", page)
	}

	for _, slug := range []string{"draft", "scheduled", "no-such-post", ""} {
		if _, err := st.PublishedPostBySlug(ctx, now, slug); models.Code(err) != models.ENotFound {
			t.Errorf("slug %q: %v, want not found", slug, err)
		}
	}
	if p, err := st.PublishedPostBySlug(ctx, now.Add(2*day), "scheduled"); err != nil || p.Slug != "scheduled" {
		t.Errorf("a scheduled post after its time: %+v, %v", p, err)
	}
}

func TestMadeUpExcerptIsCutAtAWord(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustPost(t, db, post{Slug: "rambling", At: -day,
		HTML: "<p>" + strings.Repeat("Tomatoes, ", 40) + "</p><p>beans</p>"})
	p, err := posts.New(db).PublishedPostBySlug(ctx, now, "rambling")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Excerpt, "Tomatoes…") || len([]rune(p.Excerpt)) > 201 ||
		!strings.HasPrefix(p.Excerpt, "Tomatoes, Tomatoes,") {
		t.Errorf("excerpt = %q", p.Excerpt)
	}
}

func TestSearchPosts(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	mustPost(t, db, post{Slug: "in-the-text", Title: "Market news", At: -hour,
		HTML: "<p>This week the <em>sourdough</em> sold out by ten.</p>"})
	mustPost(t, db, post{Slug: "in-the-title", Title: "Sourdough at the bakehouse", At: -3 * day,
		HTML: "<p>Our bakers share their starter.</p>"})
	mustPost(t, db, post{Type: "page", Slug: "bakery", Title: "The bakery", At: -10 * day,
		HTML: "<p>Where our loaves and sourdough come from.</p>"})
	mustPost(t, db, post{Slug: "draft-sourdough", Title: "Sourdough secrets", Draft: true})
	mustPost(t, db, post{Slug: "later-sourdough", Title: "Sourdough tomorrow", At: day})
	mustPost(t, db, post{Slug: "styled", Title: "Styling", At: -hour,
		HTML: `<p class="strong highlight"><strong>Bold</strong> claims.</p>`})

	page, err := st.SearchPosts(ctx, now, "  sourdough ", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"in-the-title", "in-the-text", "bakery"}
	if got := slugs(page.Posts); !slices.Equal(got, want) || page.Total != 3 || page.Page != 1 || page.PerPage != 10 {
		t.Fatalf("search = %v (total %d), want %v: title match first, then newest; pages too; no drafts or scheduled",
			got, page.Total, want)
	}
	if page.Posts[0].HTML != "" || page.Posts[0].Excerpt != "Our bakers share their starter." {
		t.Errorf("search result = %+v, want its excerpt and no body (results show excerpts)", page.Posts[0])
	}

	page, err = st.SearchPosts(ctx, now, "sourdough", 2, 2)
	if err != nil || !slices.Equal(slugs(page.Posts), want[2:]) || page.Total != 3 || !page.HasPrev() || page.HasNext() {
		t.Errorf("second page of two = %v, %v", slugs(page.Posts), err)
	}

	for query, want := range map[string][]string{
		"highlight":             {},                        // an attribute, not text
		"strong":                {},                        // a tag name
		"em":                    {},                        // a tag name
		"bold claims":           {"styled"},                // the text between tags
		`"sold out"`:            {"in-the-text"},           // a phrase
		"sourdough -bakers":     {"in-the-text", "bakery"}, // excluding a word
		"the":                   {},                        // stop words alone match nothing
		"secrets":               {},                        // a draft's title
		"baker":                 {"in-the-title"},          // stemmed
		"loaves or starter":     {"in-the-title", "bakery"},
		"<script>alert(1)":      {},
		`sourdough ( ) : * ! '`: {"in-the-title", "in-the-text", "bakery"}, // stray syntax never errs
	} {
		page, err := st.SearchPosts(ctx, now, query, 1, 10)
		if err != nil {
			t.Errorf("search %q: %v", query, err)
			continue
		}
		if got := slugs(page.Posts); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", query, got, want)
		}
	}

	for _, query := range []string{"", "   ", "\t\n", strings.Repeat("a", contracts.MaxSearchQuery+1)} {
		if _, err := st.SearchPosts(ctx, now, query, 1, 10); models.Code(err) != models.EInvalid {
			t.Errorf("search %q: %v, want invalid", query, err)
		}
	}
	if _, err := st.SearchPosts(ctx, now, "sourdough", 1, 51); models.Code(err) != models.EInvalid {
		t.Errorf("51 a page: %v, want invalid", err)
	}
}

func TestTagBySlugAndAuthorByUsername(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	maya := mustUser(t, db, "maya", "Maya Okafor")
	lena := mustUser(t, db, "lena", "")
	tom := mustUser(t, db, "tom", "Tom Bright")
	mustUser(t, db, "reader", "Just Reading")
	mustTag(t, db, "news", "News")
	mustPost(t, db, post{Slug: "by-maya", At: time.Since(now) - day, Author: maya})
	mustPost(t, db, post{Slug: "by-lena", At: time.Since(now) - day, Author: lena})
	mustPost(t, db, post{Slug: "toms-draft", Draft: true, Author: tom})

	tag, err := st.TagBySlug(ctx, "news")
	if err != nil || tag != (models.Tag{Slug: "news", Name: "News", Description: "About News"}) {
		t.Errorf("tag = %+v, %v", tag, err)
	}
	if _, err := st.TagBySlug(ctx, "no-such-tag"); models.Code(err) != models.ENotFound {
		t.Errorf("unknown tag: %v, want not found", err)
	}

	a, err := st.AuthorByUsername(ctx, "maya")
	if err != nil || a != (models.Author{ID: maya, Username: "maya", Name: "Maya Okafor"}) {
		t.Errorf("author = %+v, %v", a, err)
	}
	if a, err := st.AuthorByUsername(ctx, "lena"); err != nil || a.Name != "lena" {
		t.Errorf("author without a display name = %+v, %v", a, err)
	}
	for _, username := range []string{"tom", "reader", "nobody", ""} {
		if _, err := st.AuthorByUsername(ctx, username); models.Code(err) != models.ENotFound {
			t.Errorf("author %q (no published post): %v, want not found", username, err)
		}
	}
}

func TestRecentlyUpdated(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := posts.New(db)
	mustTag(t, db, "news", "News")
	for _, p := range []post{
		{Slug: "first", At: -3 * day, Tags: []string{"news"}},
		{Slug: "second", At: -2 * day},
		{Type: "page", Slug: "about", At: -10 * day},
		{Slug: "draft", Draft: true},
		{Slug: "scheduled", At: day},
	} {
		mustPost(t, db, p)
	}
	for slug, ago := range map[string]time.Duration{"first": hour, "second": 2 * hour, "about": 30 * time.Minute, "draft": 0, "scheduled": 0} {
		if _, err := db.Exec(ctx, `UPDATE posts SET updated_at = $2 WHERE slug = $1`, slug, now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.RecentlyUpdated(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if s := slugs(got); !slices.Equal(s, []string{"about", "first", "second"}) {
		t.Fatalf("recently updated = %v, want published posts and pages, latest change first", s)
	}
	if got[1].HTML != "<p>Text of first.</p>" || !got[1].UpdatedAt.Equal(now.Add(-hour)) || len(got[1].Tags) != 1 {
		t.Errorf("recently updated post = %+v, want its HTML, update time and tags", got[1])
	}
	if got, err := st.RecentlyUpdated(ctx, now, 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: %v, %v", slugs(got), err)
	}
	for _, limit := range []int{0, -1, contracts.MaxRecentlyUpdated + 1} {
		if _, err := st.RecentlyUpdated(ctx, now, limit); models.Code(err) != models.EInvalid {
			t.Errorf("limit %d: %v, want invalid", limit, err)
		}
	}
}

// Posts and pages share one namespace of slugs, and a published post always
// has a publication time.
func TestPostConstraints(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustPost(t, db, post{Slug: "about", At: -day})
	insert := `INSERT INTO posts (type, slug, title, status, published_at) VALUES ($1, $2, 'T', $3, $4)`
	for _, tc := range []struct {
		typ, slug, status string
		at                *time.Time
	}{
		{"page", "about", "draft", nil},
		{"post", "no-time", "published", nil},
		{"post", "Not-A-Slug", "draft", nil},
		{"post", "x-" + strings.Repeat("a", 119), "draft", nil},
		{"article", "article", "draft", nil},
		{"post", "archived", "archived", nil},
	} {
		if _, err := db.Exec(ctx, insert, tc.typ, tc.slug, tc.status, tc.at); err == nil {
			t.Errorf("stored %+v", tc)
		}
	}
	if _, err := db.Exec(ctx, `INSERT INTO posts (slug, title) VALUES ('untitled', '')`); err == nil {
		t.Error("stored a post with an empty title")
	}
}

// The stored word count counts the words a reader sees: markup is not
// words, and any run of spaces, tabs or newlines separates them.
func TestStoredWordCountCountsTheText(t *testing.T) {
	db := pgtest.MustPool(t)
	for i, tc := range []struct {
		html  string
		words int
	}{
		{"<p></p>", 0},
		{"  \n\t ", 0},
		{"<p>one</p>", 1},
		{"<p>one two</p>\n<p>three</p>", 3},
		{"<p>ba<b>nan</b>a split</p>", 4}, // a tag inside a word splits it, as the search column does
		{"\n  lead\tand \n trail  \n", 3},
		{`<img src="x.png" alt="many words here"><p>pic</p>`, 1},
	} {
		id := mustPost(t, db, post{Slug: fmt.Sprintf("w%d", i), HTML: tc.html})
		var words int
		if err := db.QueryRow(context.Background(), `SELECT words FROM posts WHERE id = $1`, id).Scan(&words); err != nil {
			t.Fatal(err)
		}
		if words != tc.words {
			t.Errorf("%q: %d words, want %d", tc.html, words, tc.words)
		}
	}
}
