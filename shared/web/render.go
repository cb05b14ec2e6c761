package web

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/models"
)

// Render writes c as an HTML page with the given status. The component is
// rendered into a buffer first, so a failure yields a clean error page
// rather than half a page.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		if r.Context().Err() != nil {
			return // the client went away or the request timed out
		}
		s.Error(w, r, models.Wrap(models.EInternal, "", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
