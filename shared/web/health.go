package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Healthz answers 200 while the process is alive; it checks nothing else.
func (s *Site) Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// ReadyTimeout bounds each of Readyz's checks. A dependency that takes
// longer to answer a ping is reported unreachable: one that stopped
// answering altogether (a black hole) is then reported within this, and a
// healthy PostgreSQL or Redis answers a ping in milliseconds.
const ReadyTimeout = time.Second

// Readyz checks every dependency at once, each within ReadyTimeout, and
// answers 200 when all answer or 503 naming those that do not. Details of a
// failure go to the log, not to the (possibly public) response.
func (s *Site) Readyz(w http.ResponseWriter, r *http.Request) {
	results := make([]error, len(s.Checks))
	var wg sync.WaitGroup
	for i, c := range s.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			results[i] = c.Ping(ctx)
		})
	}
	wg.Wait()
	status := http.StatusOK
	var body strings.Builder
	for i, c := range s.Checks {
		if results[i] != nil {
			status = http.StatusServiceUnavailable
			body.WriteString(c.Name + ": unreachable\n")
			s.Logger.WarnContext(r.Context(), "not ready", "dependency", c.Name, "error", results[i])
		} else {
			body.WriteString(c.Name + ": ok\n")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body.String()))
}
