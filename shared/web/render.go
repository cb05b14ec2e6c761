package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/models"
)

// Render writes c as an HTML page with the given status. The component is
// rendered into a buffer first, so a failure yields a clean error page
// rather than half a page.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer releaseBuffer(buf)
	if err := c.Render(r.Context(), buf); err != nil {
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

// renderBuffers keeps page buffers between requests: a page is tens of
// kilobytes, and growing a fresh buffer to that size on every view cost
// several allocations and copies.
var renderBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

// releaseBuffer returns buf to the pool, unless a huge page made it too
// big to keep.
func releaseBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}
