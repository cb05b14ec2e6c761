package boot

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Every service declares the same periodic jobs, so the Ghost sync, the
// blog's scheduled posts, the market's unannounced products, its
// supplier sources' refresh, the cart's sweep of orders and the events'
// recurring dates and announcements, the accounts' deletion and the
// campaigns' tick are scheduled
// whichever service River elects as leader.
func TestPeriodicJobsAreTheSameForEveryService(t *testing.T) {
	var cfg config.Config
	if n := len(PeriodicJobs(&cfg)); n != 9 {
		t.Fatalf("%d periodic jobs without a Ghost site, want 9 (the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep, the events' dates, announcements and sweep of offers and holds, the accounts' deletion, the campaigns' tick)", n)
	}
	cfg.Ghost.URL = "https://ghost.example"
	cfg.Ghost.SyncInterval = config.Duration(15 * time.Minute)
	if n := len(PeriodicJobs(&cfg)); n != 10 {
		t.Fatalf("%d periodic jobs with a Ghost site, want 10: the sync and the 9 others", n)
	}
	cfg.Ghost.SyncInterval = 0
	if n := len(PeriodicJobs(&cfg)); n != 9 {
		t.Fatalf("%d periodic jobs with the sync interval 0, want 9 (no sync)", n)
	}
}
