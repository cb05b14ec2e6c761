package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

// databaseRetryAfter is the Retry-After (seconds) of a page that failed
// because the database is away: outages the platform rides out (a restart,
// a fail-over) last seconds to a minute.
const databaseRetryAfter = "30"

// databaseAwayMessage is what visitors read on such a page.
const databaseAwayMessage = "This page cannot be shown for a moment: our database is not answering. Please try again shortly."

// outageLogEvery is how often, at most, one process logs that requests
// fail because the database is away: an outage must not bury the log
// under one error per request.
const outageLogEvery = 10 * time.Second

// outageLog logs database outages as warnings, at most once per
// outageLogEvery, counting the requests it did not log.
type outageLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (o *outageLog) log(ctx context.Context, s *Site, r *http.Request, err error, served string) {
	o.mu.Lock()
	now := time.Now()
	if now.Sub(o.last) < outageLogEvery {
		o.suppressed++
		o.mu.Unlock()
		return
	}
	n := o.suppressed
	o.last, o.suppressed = now, 0
	o.mu.Unlock()
	s.Logger.WarnContext(ctx, "database unavailable: requests answered without it", "method", r.Method,
		"path", r.URL.Path, "served", served, "error", err, "not_logged_since_last", n)
}

// databaseAway turns an internal error caused by a database that cannot be
// reached (postgres.Unavailable) into an unavailable one, and reports
// whether it was that.
// Errors that already carry another code (a rate limit failing closed
// because Redis is away is EUnavailable) keep it.
func databaseAway(err error) (error, bool) {
	if models.Code(err) != models.EInternal || !postgres.Unavailable(err) {
		return err, false
	}
	return models.Wrap(models.EUnavailable, databaseAwayMessage, err), true
}

// serveSaved answers a GET or HEAD that failed because the database is away
// with the saved copy of the page (SavedPage), when there is one.
func (s *Site) serveSaved(w http.ResponseWriter, r *http.Request) bool {
	if s.SavedPage == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) || wantsJSON(r) {
		return false
	}
	return s.SavedPage(w, r)
}
