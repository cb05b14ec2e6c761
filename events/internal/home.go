package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/web"
)

// showHome renders the events service's home page.
func showHome(site *web.Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site.Render(w, r, http.StatusOK, HomePage(site.Page(r, ""), site.OtherServices()))
	}
}
