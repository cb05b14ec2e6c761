package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/web"
)

// showHome renders the blog service's home page.
func showHome(site *web.Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, body := site.PageWith(r, "", fragments.Request{Service: "events", Type: "upcoming"})
		site.Render(w, r, http.StatusOK, HomePage(p, site.OtherServices(), body[0]))
	}
}
