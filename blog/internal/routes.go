// Package internal is the blog service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// Deps are what the blog service's handlers need.
type Deps struct {
	Site *web.Site
	// Auth signs visitors in through federation.
	Auth *oauth.Client
	// Nav is the site navigation readers see; NavEditor changes it.
	Nav       *navigation.Store
	NavEditor *navigation.Store
	// Posts is what readers see; Editor, Tags and Authors are what
	// administrators change.
	Posts   *posts.Store
	Editor  *posts.Store
	Tags    *posts.Store
	Authors *posts.Store
	// Pages is the page cache of anonymous views.
	Pages *pagecache.Cache
	// Media stores uploaded images.
	Media media.Store
	// Ghost is the Ghost sync's handlers' view of it; nil without a Ghost
	// site.
	Ghost *GhostSync
	// Articles serves a post as an ActivityPub Article; nil when the blog
	// does not federate.
	Articles ArticleServer
	// Products is the market's catalogue, read for the editor's widget
	// picker.
	Products *products.Store
	// Calendars are the events service's calendars and events, read for
	// the editor's widget picker (nil: none listed).
	Calendars *calendars.Store
	// Newsletters are the account's newsletter lists, read for the
	// editor's widget picker (nil: none listed).
	Newsletters *newsletters.Store
}

// NewServer returns the blog service's HTTP handler; every route it serves is
// listed here.
func NewServer(d Deps) http.Handler {
	site, pages, mediaStore := d.Site, d.Pages, d.Media
	// While the database is away, pages that cannot be rendered are
	// answered with their saved anonymous copy.
	site.SavedPage = pages.ServeSaved
	wg := &widgets{logger: site.Logger}
	rd := reader{site: site, posts: d.Posts, widgets: wg, articles: d.Articles, calendars: d.Calendars}
	ad := newAdmin(site, d.Editor, d.Authors, wg, pages)
	na := navAdmin{site: site, nav: d.Nav, edit: d.NavEditor, pages: pages}
	ta := tagAdmin{site: site, tags: d.Tags, pages: pages}
	aa := authorAdmin{site: site, authors: d.Authors, pages: pages}
	gh := ghostHandlers{site: site, sync: d.Ghost}
	if site.Fragments != nil {
		site.Fragments.Declare(upcomingFragment)
		site.Fragments.Declare(widgetFragmentTypes...)
	}
	r := site.Router()

	// Machine routes: no session.
	site.MountPlatform(r, fragmentRenderers(d.Nav, site.URL("blog", "")))
	r.Get("/rss.xml", rd.showRSS)
	r.Get("/atom.xml", rd.showAtom)
	r.Get("/tag/{slug}/rss.xml", rd.showRSS)
	r.Get("/tag/{slug}/atom.xml", rd.showAtom)
	r.Get("/sitemap.xml", rd.showSitemap)
	r.Handle("/media/*", media.Handler(mediaStore))
	r.Post("/ghost/webhook", gh.webhook)

	// Public pages: anonymous views come from the page cache before any
	// session work.
	r.Group(func(r chi.Router) {
		r.Use(pages.Middleware, d.Auth.Middleware)
		r.Get("/", rd.showHome)
		r.Get("/search", rd.showSearch)
		r.Get("/tag/{slug}", rd.showTag)
		r.Get("/author/{username}", rd.showAuthor)
	})
	// Post pages may frame the embeds synced from Ghost.
	var embeds []string
	if site.Config.Ghost.URL != "" {
		embeds = site.Config.Ghost.EmbedHosts
	}
	r.Group(func(r chi.Router) {
		r.Use(allowEmbeds(embeds), pages.Middleware, d.Auth.Middleware)
		r.Get("/{slug}", rd.showPost)
	})

	// Sign-in and administration: the visitor's session.
	r.Group(func(r chi.Router) {
		r.Use(d.Auth.Middleware)
		d.Auth.Mount(r)
		r.Route("/admin", func(r chi.Router) {
			r.Use(site.RequireAdmin)
			r.Get("/", ad.listPosts)
			r.Get("/posts", ad.listPosts)
			r.Get("/posts/new", ad.newPost)
			r.Post("/posts", ad.saveNew)
			r.Get("/posts/{id}", ad.editPost)
			r.Post("/posts/{id}", ad.saveEdit)
			r.Get("/posts/{id}/preview", ad.previewPost)
			r.Get("/posts/{id}/delete", ad.confirmDelete)
			r.Post("/posts/{id}/delete", ad.deletePost)
			r.Post("/media", uploadMedia(site, mediaStore, site.Config.Media.MaxBytes))
			r.Get("/widgets/products", widgetPicker{site: site, products: d.Products, calendars: d.Calendars, newsletters: d.Newsletters}.search)
			r.Get("/tags", ta.list)
			r.Post("/tags/{slug}", ta.save)
			r.Get("/authors", aa.list)
			r.Post("/authors/{id}", aa.save)
			r.Get("/ghost", gh.show)
			r.Post("/ghost/sync", gh.syncNow)
			r.Get("/nav", na.show)
			r.Post("/nav", na.save)
		})
	})
	return r
}
