// Package internal is the blog service's HTTP layer: its routes, handlers and
// page components.
package internal

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/web"
)

// NewServer returns the blog service's HTTP handler; every route it serves is
// listed here.
func NewServer(site *web.Site, auth *oauth.Client, nav contracts.Navigation, navEditor contracts.NavEditor,
	posts contracts.Posts, editor contracts.PostEditor, tags contracts.TagEditor, authors contracts.AuthorEditor,
	pages *pagecache.Cache, mediaStore media.Store, ghost *GhostSync, articles ArticleServer) http.Handler {
	site.SignInPath = "/auth/login"
	// While the database is away, pages that cannot be rendered are
	// answered with their saved anonymous copy.
	site.SavedPage = pages.ServeSaved
	wg := &widgets{logger: site.Logger}
	rd := reader{site: site, posts: posts, widgets: wg, articles: articles}
	ad := newAdmin(site, editor, authors, wg, pages)
	na := navAdmin{site: site, nav: nav, edit: navEditor, pages: pages}
	ta := tagAdmin{site: site, tags: tags, pages: pages}
	aa := authorAdmin{site: site, authors: authors, pages: pages}
	gh := ghostHandlers{site: site, sync: ghost}
	if site.Fragments != nil {
		site.Fragments.Declare(upcomingFragment)
		site.Fragments.Declare(widgetFragmentTypes...)
	}
	r := site.Router()

	// Machine routes: no session.
	r.Get("/healthz", site.Healthz)
	r.Get("/readyz", site.Readyz)
	r.Handle("/metrics", site.Metrics.Handler())
	r.Handle("/static/*", site.Assets)
	r.Handle("/internal/fragments/{type}", site.FragmentServer(fragmentRenderers(nav, site.URL("blog", ""))))
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
		r.Use(pages.Middleware, auth.Middleware)
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
		r.Use(allowEmbeds(embeds), pages.Middleware, auth.Middleware)
		r.Get("/{slug}", rd.showPost)
	})

	// Sign-in and administration: the visitor's session.
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/auth/login", auth.Login)
		r.Get("/auth/callback", auth.Callback)
		r.Post("/auth/logout", auth.Logout)
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
