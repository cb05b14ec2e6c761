package web

import (
	"net/http"

	"rose-ash.com/platform/shared/layout"
)

// ShowAdminHome renders the service's administration landing page. Mount it
// behind RequireAdmin.
func (s *Site) ShowAdminHome(w http.ResponseWriter, r *http.Request) {
	s.Render(w, r, http.StatusOK, layout.AdminHome(s.Page(r, "Administration"), s.URL("federation", "/admin")))
}
