// Package ghosttest is a fake Ghost site for tests: the Content API's
// posts, pages and authors lists with Ghost's pagination, key check,
// updated_at filter and order, and injectable failures. Authors are
// entities of their own, as in Ghost: posts refer to them, and changing an
// author changes no post's updated_at.
package ghosttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/ghostsync"
)

// ContentKey is the Content API key the fake accepts.
const ContentKey = "0123456789abcdef01234567"

// Server is a running fake Ghost site.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	items    map[string]*item             // by id
	authors  map[string]*ghostsync.Author // by id
	tags     map[string]*ghostsync.Tag    // by id: posts refer to them
	nav      []ghostsync.NavLink
	nav2     []ghostsync.NavLink
	seq      int
	failN    int
	failCode int
	requests []*url.URL
}

type item struct {
	kind ghostsync.Kind
	post ghostsync.Post
}

// Start starts a fake Ghost site, closed when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{items: map[string]*item{}, authors: map[string]*ghostsync.Author{}, tags: map[string]*ghostsync.Tag{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// Client returns a ghostsync client for this site, through the SSRF-safe
// client the blog uses (ghostsync.HTTPClient), allowed to reach loopback.
func (s *Server) Client(tb testing.TB) *ghostsync.Client {
	tb.Helper()
	c, err := ghostsync.NewClient(s.URL, ContentKey, ghostsync.HTTPClient(true))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// NewID returns a Ghost-style id (24 hex digits).
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newID()
}

func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%024x", s.seq)
}

// linkAuthor stores a post's primary author as an author of the site and
// leaves the post referring to it by id: an author with only an id refers
// to a known author; one without an id is the site's author of that slug
// (made when new); the fields given replace the author's.
func (s *Server) linkAuthor(p *ghostsync.Post) {
	if p.PrimaryAuthor == nil {
		return
	}
	a := *p.PrimaryAuthor
	switch {
	case a.ID != "" && a.Name == "" && a.Slug == "":
		if s.authors[a.ID] == nil {
			panic("ghosttest: no author " + a.ID)
		}
	case a.ID == "":
		for _, known := range s.authors {
			if known.Slug == a.Slug {
				a.ID = known.ID
			}
		}
		if a.ID == "" {
			a.ID = s.newID()
		}
		fallthrough
	default:
		s.authors[a.ID] = &a
	}
	p.PrimaryAuthor = &ghostsync.Author{ID: a.ID}
}

// withAuthor returns p with its author's and tags' current fields.
func (s *Server) withAuthor(p ghostsync.Post) ghostsync.Post {
	p.Tags = slices.Clone(p.Tags)
	for i, t := range p.Tags {
		if cur := s.tags[t.ID]; cur != nil {
			p.Tags[i] = *cur
		}
	}
	if p.PrimaryAuthor != nil {
		if a := s.authors[p.PrimaryAuthor.ID]; a != nil {
			cp := *a
			p.PrimaryAuthor = &cp
		}
	}
	return p
}

// Author returns the site's author with that slug.
func (s *Server) Author(slug string) (ghostsync.Author, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.authors {
		if a.Slug == slug {
			return *a, true
		}
	}
	return ghostsync.Author{}, false
}

// UpdateAuthor changes an author (found by id) with fn, as editing a staff
// user's profile in Ghost does: every post by them shows the change, and
// no post's updated_at moves.
func (s *Server) UpdateAuthor(id string, fn func(*ghostsync.Author)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authors[id]
	if a == nil {
		panic("ghosttest: no author " + id)
	}
	fn(a)
	a.ID = id
}

// Put adds or replaces a post (kind posts) or page (kind pages). An empty
// ID is filled in; a zero UpdatedAt becomes now. It returns the id.
func (s *Server) Put(kind ghostsync.Kind, p ghostsync.Post) string {
	if p.ID == "" {
		p.ID = s.NewID()
	}
	if p.UUID == "" {
		p.UUID = "uuid-" + p.ID
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = time.Now()
	}
	// Ghost stores dates to the second.
	p.UpdatedAt = p.UpdatedAt.UTC().Truncate(time.Second)
	if p.Status == "" {
		p.Status = "published"
	}
	if p.Visibility == "" {
		p.Visibility = "public"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.linkAuthor(&p)
	s.linkTags(&p)
	s.items[p.ID] = &item{kind: kind, post: p}
	return p.ID
}

// AddPost adds a post; see Put.
func (s *Server) AddPost(p ghostsync.Post) string { return s.Put(ghostsync.KindPosts, p) }

// AddPage adds a page; see Put.
func (s *Server) AddPage(p ghostsync.Post) string { return s.Put(ghostsync.KindPages, p) }

// Update changes a post or page with fn and sets its updated_at to at.
func (s *Server) Update(id string, at time.Time, fn func(*ghostsync.Post)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	if it == nil {
		panic("ghosttest: no item " + id)
	}
	if fn != nil {
		it.post = s.withAuthor(it.post)
		fn(&it.post)
		s.linkAuthor(&it.post)
		s.linkTags(&it.post)
	}
	it.post.UpdatedAt = at.UTC().Truncate(time.Second) // Ghost stores dates to the second
}

// linkTags stores a post's tags as tags of the site: a tag with an id is
// that tag (its fields given replace the tag's); one without is the tag of
// that slug, made when new.
func (s *Server) linkTags(p *ghostsync.Post) {
	p.Tags = slices.Clone(p.Tags)
	for i, t := range p.Tags {
		if t.ID == "" {
			for _, known := range s.tags {
				if known.Slug == t.Slug {
					t.ID = known.ID
				}
			}
			if t.ID == "" {
				t.ID = s.newID()
			}
		}
		if t.Name != "" || t.Slug != "" {
			cp := t
			s.tags[t.ID] = &cp
		}
		p.Tags[i] = ghostsync.Tag{ID: t.ID}
	}
}

// RenameTag changes a tag's name and slug, as editing a tag in Ghost
// does: every post shows the new name, and no post's updated_at moves.
func (s *Server) RenameTag(id, name, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tags[id]
	if t == nil {
		panic("ghosttest: no tag " + id)
	}
	t.Name, t.Slug = name, slug
}

// SetNavigation sets the site's primary and secondary navigation, as
// Ghost's Settings > Navigation does; it changes no post.
func (s *Server) SetNavigation(primary, secondary []ghostsync.NavLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nav, s.nav2 = slices.Clone(primary), slices.Clone(secondary)
}

// Delete removes a post or page.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, id)
}

// Get returns a post or page.
func (s *Server) Get(id string) (ghostsync.Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	if it == nil {
		return ghostsync.Post{}, false
	}
	return s.withAuthor(it.post), true
}

// FailNext makes the next n requests answer status with a Ghost error body.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// Requests returns the URLs requested so far (the key included).
func (s *Server) Requests() []*url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

var updatedFilter = regexp.MustCompile(`^updated_at:>'([^']+)'$`)

func ghostError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "type": typ}}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := *r.URL
	s.requests = append(s.requests, &u)
	if s.failN > 0 {
		s.failN--
		typ := "InternalServerError"
		if s.failCode == http.StatusConflict {
			typ = "UpdateCollisionError"
		}
		ghostError(w, s.failCode, typ, "injected failure")
		return
	}
	var kind ghostsync.Kind
	switch r.URL.Path {
	case "/ghost/api/content/posts/":
		kind = ghostsync.KindPosts
	case "/ghost/api/content/pages/":
		kind = ghostsync.KindPages
	case "/ghost/api/content/authors/":
		kind = "authors"
	case "/ghost/api/content/tags/":
		kind = "tags"
	case "/ghost/api/content/settings/":
		kind = "settings"
	default:
		ghostError(w, http.StatusNotFound, "NotFoundError", "Resource not found")
		return
	}
	if r.Method != http.MethodGet {
		ghostError(w, http.StatusMethodNotAllowed, "MethodNotAllowedError", "Method not allowed")
		return
	}
	q := r.URL.Query()
	if q.Get("key") != ContentKey {
		ghostError(w, http.StatusUnauthorized, "UnauthorizedError", "Unknown Content API Key")
		return
	}
	limit := 15 // Ghost's default
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			ghostError(w, http.StatusBadRequest, "ValidationError", "Validation error, cannot list posts.")
			return
		}
		limit = min(n, 100) // Ghost 6 caps limit silently
	}
	page := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			ghostError(w, http.StatusBadRequest, "ValidationError", "Validation error, cannot list posts.")
			return
		}
		page = n
	}
	var after time.Time
	if f := q.Get("filter"); f != "" {
		m := updatedFilter.FindStringSubmatch(f)
		if m == nil {
			ghostError(w, http.StatusBadRequest, "BadRequestError", "Error parsing filter")
			return
		}
		t, err := time.Parse("2006-01-02 15:04:05", m[1])
		if err != nil {
			t, err = time.Parse(time.RFC3339Nano, m[1])
		}
		if err != nil {
			ghostError(w, http.StatusBadRequest, "BadRequestError", "Error parsing filter")
			return
		}
		after = t
	}
	switch kind {
	case "authors":
		s.serveAuthors(w, limit, page)
		return
	case "tags":
		s.serveTags(w, limit, page)
		return
	case "settings":
		s.serveSettings(w)
		return
	}
	var list []ghostsync.Post
	for _, it := range s.items {
		// The Content API serves published content only.
		if it.kind != kind || it.post.Status != "published" {
			continue
		}
		if !after.IsZero() && !it.post.UpdatedAt.After(after) {
			continue
		}
		list = append(list, s.withAuthor(it.post))
	}
	if strings.HasPrefix(q.Get("order"), "updated_at asc") {
		slices.SortFunc(list, func(a, b ghostsync.Post) int {
			if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	} else { // Ghost's default: published_at desc
		slices.SortFunc(list, func(a, b ghostsync.Post) int {
			var ta, tb time.Time
			if a.PublishedAt != nil {
				ta = *a.PublishedAt
			}
			if b.PublishedAt != nil {
				tb = *b.PublishedAt
			}
			if c := tb.Compare(ta); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	}
	list, pg := paginate(list, page, limit)
	includes := strings.Split(q.Get("include"), ",")
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, s.render(p, q.Get("fields"), includes))
	}
	writeList(w, string(kind), out, page, limit, pg.pages, pg.total, pg.next, pg.prev)
}

func writeList(w http.ResponseWriter, key string, out []map[string]any, page, limit, pages, total int, next, prev any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		key: out,
		"meta": map[string]any{"pagination": map[string]any{
			"page": page, "limit": limit, "pages": pages, "total": total, "next": next, "prev": prev,
		}},
	})
}

// serveAuthors lists the authors of published posts and pages, by name,
// as the Content API's authors browse does.
func (s *Server) serveAuthors(w http.ResponseWriter, limit, page int) {
	used := map[string]bool{}
	for _, it := range s.items {
		if it.post.Status == "published" && it.post.PrimaryAuthor != nil {
			used[it.post.PrimaryAuthor.ID] = true
		}
	}
	var list []ghostsync.Author
	for id := range used {
		if a := s.authors[id]; a != nil {
			list = append(list, *a)
		}
	}
	slices.SortFunc(list, func(a, b ghostsync.Author) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	list, pg := paginate(list, page, limit)
	out := make([]map[string]any, 0, len(list))
	for _, a := range list {
		out = append(out, s.renderAuthor(a))
	}
	writeList(w, "authors", out, page, limit, pg.pages, pg.total, pg.next, pg.prev)
}

// renderAuthor writes an author as the Content API does.
func (s *Server) renderAuthor(a ghostsync.Author) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "slug": a.Slug, "profile_image": nilIfEmpty(a.ProfileImage), "cover_image": nil,
		"bio": nilIfEmpty(a.Bio), "website": nilIfEmpty(a.Website), "location": nil, "facebook": nil, "twitter": nil,
		"meta_title": nil, "meta_description": nil, "url": s.URL + "/author/" + a.Slug + "/",
	}
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// render writes a post as the Content API does: html only when asked for
// in formats (the Content API includes it by default), tags and authors
// only when included, only the given fields when fields is set.
func (s *Server) render(p ghostsync.Post, fields string, includes []string) map[string]any {
	html, excerpt := p.HTML, p.Excerpt
	if p.Visibility != "public" {
		// Content gating: a request with only the Content API key is no
		// member, so a members-only or paid post keeps only its public
		// preview (the part before the paywall card, else nothing), and
		// the excerpt comes from that preview.
		if i := strings.Index(html, "<!--members-only-->"); i >= 0 {
			html = html[:i]
		} else {
			html = ""
		}
		if p.CustomExcerpt == "" {
			excerpt = plaintext(html, 500)
		}
	}
	m := map[string]any{
		"id": p.ID, "uuid": p.UUID, "title": p.Title, "slug": p.Slug, "html": html,
		"excerpt": excerpt, "custom_excerpt": nilIfEmpty(p.CustomExcerpt), "feature_image": nilIfEmpty(p.FeatureImage),
		"feature_image_alt": nilIfEmpty(p.FeatureImageAlt), "feature_image_caption": nilIfEmpty(p.FeatureImageCaption),
		"visibility": p.Visibility, "published_at": timeOrNil(p.PublishedAt), "updated_at": timeOrNil(&p.UpdatedAt),
		"url": "/" + p.Slug + "/",
	}
	if slices.Contains(includes, "tags") {
		tags := make([]map[string]any, 0, len(p.Tags))
		for _, t := range p.Tags {
			if cur := s.tags[t.ID]; cur != nil {
				t = *cur
			}
			vis := t.Visibility
			if vis == "" {
				vis = "public"
				if strings.HasPrefix(t.Name, "#") {
					vis = "internal"
				}
			}
			tags = append(tags, map[string]any{"id": t.ID, "name": t.Name, "slug": t.Slug, "visibility": vis})
		}
		m["tags"] = tags
		if len(tags) > 0 {
			m["primary_tag"] = tags[0]
		} else {
			m["primary_tag"] = nil
		}
	}
	if slices.Contains(includes, "authors") && p.PrimaryAuthor != nil {
		a := s.renderAuthor(*p.PrimaryAuthor)
		m["authors"] = []any{a}
		m["primary_author"] = a
	}
	if fields != "" {
		keep := map[string]any{}
		for f := range strings.SplitSeq(fields, ",") {
			if v, ok := m[f]; ok {
				keep[f] = v
			}
		}
		return keep
	}
	return m
}

var markup = regexp.MustCompile(`<[^>]*>`)

// plaintext is html's text, whitespace collapsed, cut to n runes.
func plaintext(html string, n int) string {
	text := strings.Join(strings.Fields(markup.ReplaceAllString(html, " ")), " ")
	if r := []rune(text); len(r) > n {
		text = string(r[:n])
	}
	return text
}

// serveTags lists the public tags of published posts and pages, by name,
// as the Content API's tags browse does (internal tags are left out).
func (s *Server) serveTags(w http.ResponseWriter, limit, page int) {
	used := map[string]bool{}
	for _, it := range s.items {
		if it.post.Status == "published" {
			for _, t := range it.post.Tags {
				used[t.ID] = true
			}
		}
	}
	var list []ghostsync.Tag
	for id := range used {
		if t := s.tags[id]; t != nil && t.Visibility != "internal" && !strings.HasPrefix(t.Name, "#") {
			list = append(list, *t)
		}
	}
	slices.SortFunc(list, func(a, b ghostsync.Tag) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	list, pg := paginate(list, page, limit)
	out := make([]map[string]any, 0, len(list))
	for _, t := range list {
		out = append(out, map[string]any{"id": t.ID, "name": t.Name, "slug": t.Slug, "description": nil,
			"feature_image": nil, "visibility": "public", "url": s.URL + "/tag/" + t.Slug + "/"})
	}
	writeList(w, "tags", out, page, limit, pg.pages, pg.total, pg.next, pg.prev)
}

// serveSettings answers the Content API's settings: the site's public
// settings as one object, navigation included.
func (s *Server) serveSettings(w http.ResponseWriter) {
	links := func(l []ghostsync.NavLink) []map[string]any {
		out := make([]map[string]any, 0, len(l))
		for _, n := range l {
			out = append(out, map[string]any{"label": n.Label, "url": n.URL})
		}
		return out
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"settings": map[string]any{
			"title": "Ghost", "description": "Thoughts, stories and ideas.", "logo": nil, "icon": nil,
			"accent_color": "#FF1A75", "locale": "en", "timezone": "Etc/UTC", "url": s.URL + "/",
			"navigation": links(s.nav), "secondary_navigation": links(s.nav2),
			"members_support_address": "noreply", "members_enabled": true,
		},
		"meta": map[string]any{},
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// pagination is Ghost's meta.pagination of one page of a list.
type pagination struct {
	pages, total int
	next, prev   any // the next and previous page numbers, or nil (JSON null)
}

// paginate returns page (from 1) of list, limit to a page, and its
// pagination as Ghost reports it.
func paginate[T any](list []T, page, limit int) ([]T, pagination) {
	total := len(list)
	pg := pagination{pages: max((total+limit-1)/limit, 1), total: total}
	start := min((page-1)*limit, total)
	if page < pg.pages {
		pg.next = page + 1
	}
	if page > 1 {
		pg.prev = page - 1
	}
	return list[start:min(start+limit, total)], pg
}
