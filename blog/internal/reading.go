package internal

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/gorilla/feeds"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/web"
)

// upcomingFragment is the events list the home page shows.
var upcomingFragment = fragments.Named(fragments.Upcoming)

// perPage is how many posts a list page shows.
const perPage = 10

// feedSize is how many posts a feed carries.
const feedSize = 20

// reader holds the handlers of the public blog.
type reader struct {
	site     *web.Site
	posts    *posts.Store
	widgets  *widgets
	articles ArticleServer
	// calendars finds the calendars a page contains (nil: none).
	calendars *calendars.Store
}

// ArticleServer writes a post as the ActivityStreams Article the blog's
// actor published (nil: the blog does not federate).
type ArticleServer func(w http.ResponseWriter, r *http.Request, postID uuid.UUID)

// base returns the blog's public base URL without a trailing slash.
func (rd reader) base() string { return strings.TrimSuffix(rd.site.URL("blog", ""), "/") }

// pageNumber reads ?page=N (default 1); ok is false for anything that is
// not a positive number.
func pageNumber(r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("page")
	if raw == "" {
		return 1, true
	}
	n, err := strconv.Atoi(raw)
	return n, err == nil && n >= 1 && n <= 10_000
}

func pageURL(base string, n int) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if n <= 1 {
		return base
	}
	return base + sep + "page=" + strconv.Itoa(n)
}

var noSuchPage = models.Errorf(models.ENotFound, "There is no such page of posts.")

// showHome lists the latest posts with the upcoming events beside them.
func (rd reader) showHome(w http.ResponseWriter, r *http.Request) {
	n, ok := pageNumber(r)
	if !ok {
		rd.site.Error(w, r, noSuchPage)
		return
	}
	list, err := rd.posts.PublishedPosts(r.Context(), time.Now(), contracts.PostQuery{Type: "post", Page: n, PerPage: perPage})
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	if n > 1 && len(list.Posts) == 0 {
		rd.site.Error(w, r, noSuchPage)
		return
	}
	p, body := rd.site.PageWith(r, "", upcomingFragment)
	p.Description = "News, stories and notes from the Rose Ash cooperative."
	p.Head = feedLinks(rd.base()+"/rss.xml", rd.base()+"/atom.xml")
	rd.site.Render(w, r, http.StatusOK, HomePage(p, rd.site.OtherServices(), body[0], list))
}

// showPost renders a published post or page by its slug.
func (rd reader) showPost(w http.ResponseWriter, r *http.Request) {
	post, err := rd.posts.PublishedPostBySlug(r.Context(), time.Now(), chi.URLParam(r, "slug"))
	if models.Code(err) == models.ENotFound {
		rd.site.Error(w, r, models.Errorf(models.ENotFound, "There is nothing at %s.", r.URL.Path))
		return
	}
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	if rd.articles != nil && activitypub.WantsAS2(r) {
		rd.articles(w, r, post.ID) // a fediverse server asking for the Article
		return
	}
	if post.MembersOnly {
		if post.HTML, err = rd.membersBody(r, post); err != nil {
			rd.site.Error(w, r, err)
			return
		}
	}
	post.HTML = rd.withCalendars(r.Context(), post)
	// The post's container widgets are fetched with the header's fragments.
	plan := rd.widgets.plan(r.Context(), post.HTML)
	p, got := rd.site.PageWith(r, post.Title, plan.reqs...)
	post.HTML = rd.widgets.render(r.Context(), plan, got)
	canonical := rd.base() + "/" + post.Slug
	p.Description = post.Excerpt
	p.Head = templ.Join(postHead(post, canonical, rd.base()+"/rss.xml", rd.articleLD(post, canonical)),
		cardsStylesheet(rd.site.Assets.URL("cards.css")))
	rd.site.Render(w, r, http.StatusOK, PostPage(p, post))
}

// withCalendars is a page's body followed by the widget of each calendar
// it contains (the events service's calendars whose container it is) that
// its body does not embed already; a calendar that cannot be read is
// left out, logged.
func (rd reader) withCalendars(ctx context.Context, post models.Post) string {
	if rd.calendars == nil || post.Type != "page" {
		return post.HTML
	}
	cals, err := rd.calendars.CalendarsOfPage(ctx, post.ID)
	if err != nil {
		rd.site.Logger.Warn("blog: the page's calendars left out", "page", post.Slug, "error", err)
		return post.HTML
	}
	html := post.HTML
	for _, c := range cals {
		placeholder := "[[widget:events-calendar:" + c.Slug + "]]"
		if !strings.Contains(html, placeholder) {
			html += "\n<p>" + placeholder + "</p>"
		}
	}
	return html
}

// membersBody is a members-only post's body: the post's own for a
// signed-in reader (whose pages the page cache never keeps), a notice
// with a way to sign in for anyone else.
func (rd reader) membersBody(r *http.Request, post models.Post) (string, error) {
	if _, ok := web.Viewer(r.Context()); ok {
		return rd.posts.MembersPostHTML(r.Context(), time.Now(), post.ID)
	}
	var b strings.Builder
	err := membersNotice(rd.site.SignInPath+"?next="+url.QueryEscape(r.URL.RequestURI())).Render(r.Context(), &b)
	return b.String(), err
}

// articleLD is the schema.org Article describing a post.
func (rd reader) articleLD(post models.Post, canonical string) map[string]any {
	ld := map[string]any{
		"@context": "https://schema.org", "@type": "Article", "headline": post.Title,
		"description": post.Excerpt, "url": canonical, "mainEntityOfPage": canonical,
		"datePublished": post.PublishedAt.UTC().Format(time.RFC3339),
		"dateModified":  post.UpdatedAt.UTC().Format(time.RFC3339),
		"publisher":     map[string]any{"@type": "Organization", "name": "Rose Ash"},
	}
	if post.Author != nil {
		ld["author"] = map[string]any{"@type": "Person", "name": post.Author.Name, "url": rd.base() + "/author/" + post.Author.Username}
	}
	if post.FeatureImage != "" {
		ld["image"] = post.FeatureImage
	}
	if post.MembersOnly {
		ld["isAccessibleForFree"] = false
	}
	return ld
}

func (rd reader) showTag(w http.ResponseWriter, r *http.Request) {
	tag, err := rd.posts.TagBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	rd.showList(w, r, contracts.PostQuery{Type: "post", TagSlug: tag.Slug}, tag.Name, tag.Description, "/tag/"+tag.Slug)
}

// showAuthor lists an author's posts under their name and biography.
func (rd reader) showAuthor(w http.ResponseWriter, r *http.Request) {
	a, err := rd.posts.AuthorByUsername(r.Context(), chi.URLParam(r, "username"))
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	base := "/author/" + a.Username
	list, ok := rd.listPage(w, r, contracts.PostQuery{Type: "post", AuthorUsername: a.Username})
	if !ok {
		return
	}
	p := rd.site.Page(r, a.Name)
	p.Description = "Posts by " + a.Name + "."
	if a.Bio != "" {
		p.Description = a.Bio
	}
	rd.site.Render(w, r, http.StatusOK, AuthorPage(p, a, list, base))
}

func (rd reader) showList(w http.ResponseWriter, r *http.Request, q contracts.PostQuery, heading, lead, base string) {
	list, ok := rd.listPage(w, r, q)
	if !ok {
		return
	}
	rd.site.Render(w, r, http.StatusOK, ListPage(rd.site.Page(r, heading), heading, lead, list, base, "No posts yet."))
}

// listPage loads the page of q that ?page= asks for; when it cannot, it has
// answered the request (404 or error page) and returns false.
func (rd reader) listPage(w http.ResponseWriter, r *http.Request, q contracts.PostQuery) (contracts.PostPage, bool) {
	n, ok := pageNumber(r)
	if !ok {
		rd.site.Error(w, r, noSuchPage)
		return contracts.PostPage{}, false
	}
	q.Page, q.PerPage = n, perPage
	list, err := rd.posts.PublishedPosts(r.Context(), time.Now(), q)
	if err != nil {
		rd.site.Error(w, r, err)
		return list, false
	}
	if n > 1 && len(list.Posts) == 0 {
		rd.site.Error(w, r, noSuchPage)
		return list, false
	}
	return list, true
}

// bioParagraphs splits a biography into its paragraphs (blank lines
// between them); single line breaks stay inside a paragraph.
func bioParagraphs(bio string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(bio, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// localImage reports whether src is an image on the blog itself (the
// pages' security policy shows no images from other sites).
func localImage(src string) bool {
	return strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "//")
}

// showSearch searches titles and bodies; an empty query shows the form.
func (rd reader) showSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	p := rd.site.Page(r, "Search")
	if q == "" {
		rd.site.Render(w, r, http.StatusOK, SearchPage(p, "", nil, ""))
		return
	}
	n, ok := pageNumber(r)
	if !ok {
		rd.site.Error(w, r, noSuchPage)
		return
	}
	list, err := rd.posts.SearchPosts(r.Context(), time.Now(), q, n, perPage)
	if models.Code(err) == models.EInvalid {
		rd.site.Render(w, r, http.StatusUnprocessableEntity, SearchPage(p, q, nil, models.Message(err)))
		return
	}
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	rd.site.Render(w, r, http.StatusOK, SearchPage(p, q, &list, ""))
}

// feed builds the site's (or a tag's) feed of the latest posts.
func (rd reader) feed(w http.ResponseWriter, r *http.Request, tagSlug string) (*feeds.Feed, bool) {
	q := contracts.PostQuery{Type: "post", TagSlug: tagSlug, Page: 1, PerPage: feedSize}
	title, link := "Rose Ash Blog", rd.base()+"/"
	if tagSlug != "" {
		tag, err := rd.posts.TagBySlug(r.Context(), tagSlug)
		if err != nil {
			rd.site.Error(w, r, err)
			return nil, false
		}
		title, link = "Rose Ash Blog: "+tag.Name, rd.base()+"/tag/"+tag.Slug
	}
	q.Bodies = true // a feed carries the posts' text
	list, err := rd.posts.PublishedPosts(r.Context(), time.Now(), q)
	if err != nil {
		rd.site.Error(w, r, err)
		return nil, false
	}
	f := &feeds.Feed{Title: title, Link: &feeds.Link{Href: link}, Id: link,
		Description: "News, stories and notes from the Rose Ash cooperative."}
	for _, p := range list.Posts {
		u := rd.base() + "/" + p.Slug
		item := &feeds.Item{Title: p.Title, Link: &feeds.Link{Href: u}, Id: u, Description: p.Excerpt,
			Content: p.HTML, Created: p.PublishedAt, Updated: p.UpdatedAt}
		if p.Author != nil {
			item.Author = &feeds.Author{Name: p.Author.Name}
		}
		if f.Updated.Before(p.UpdatedAt) {
			f.Updated = p.UpdatedAt
		}
		f.Items = append(f.Items, item)
	}
	return f, true
}

func (rd reader) showRSS(w http.ResponseWriter, r *http.Request) {
	rd.writeFeed(w, r, chi.URLParam(r, "slug"), "application/rss+xml; charset=utf-8", (*feeds.Feed).ToRss)
}

func (rd reader) showAtom(w http.ResponseWriter, r *http.Request) {
	rd.writeFeed(w, r, chi.URLParam(r, "slug"), "application/atom+xml; charset=utf-8", (*feeds.Feed).ToAtom)
}

func (rd reader) writeFeed(w http.ResponseWriter, r *http.Request, tag, ctype string, render func(*feeds.Feed) (string, error)) {
	f, ok := rd.feed(w, r, tag)
	if !ok {
		return
	}
	out, err := render(f)
	if err != nil {
		rd.site.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(out))
}

// sitemap is the sitemaps.org urlset.
type sitemap struct {
	XMLName xml.Name     `xml:"urlset"`
	XMLNS   string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// showSitemap lists the home page and every published post and page.
func (rd reader) showSitemap(w http.ResponseWriter, r *http.Request) {
	posts, err := rd.posts.RecentlyUpdated(r.Context(), time.Now(), contracts.MaxRecentlyUpdated)
	if err != nil {
		rd.site.Error(w, r, err)
		return
	}
	sm := sitemap{XMLNS: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: []sitemapURL{{Loc: rd.base() + "/"}}}
	for _, p := range posts {
		sm.URLs = append(sm.URLs, sitemapURL{Loc: rd.base() + "/" + url.PathEscape(p.Slug), LastMod: p.UpdatedAt.UTC().Format("2006-01-02")})
	}
	out, err := xml.MarshalIndent(sm, "", "  ")
	if err != nil {
		rd.site.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
