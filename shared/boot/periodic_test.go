package boot

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Every service declares the same periodic jobs, so the Ghost sync, the
// blog's scheduled posts, the market's unannounced products, its
// supplier sources' refresh, the cart's sweep of orders and the events'
// recurring dates and announcements are scheduled
// whichever service River elects as leader.
func TestPeriodicJobsAreTheSameForEveryService(t *testing.T) {
	var cfg config.Config
	if n := len(PeriodicJobs(&cfg)); n != 7 {
		t.Fatalf("%d periodic jobs without a Ghost site, want 7 (the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep, the events' dates, announcements and sweep of offers and holds)", n)
	}
	cfg.Ghost.URL = "https://ghost.example"
	cfg.Ghost.SyncInterval = config.Duration(15 * time.Minute)
	if n := len(PeriodicJobs(&cfg)); n != 8 {
		t.Fatalf("%d periodic jobs with a Ghost site, want the sync, the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep, the events' dates and announcements", n)
	}
	cfg.Ghost.SyncInterval = 0
	if n := len(PeriodicJobs(&cfg)); n != 7 {
		t.Fatalf("%d periodic jobs with the sync interval 0, want 7 (the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep, the events' dates, announcements and sweep of offers and holds)", n)
	}
}
