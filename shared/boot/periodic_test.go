package boot

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Every service declares the same periodic jobs, so the Ghost sync, the
// blog's scheduled posts, the market's unannounced products, its
// supplier sources' refresh and the cart's sweep of orders are scheduled
// whichever service River elects as leader.
func TestPeriodicJobsAreTheSameForEveryService(t *testing.T) {
	var cfg config.Config
	if n := len(PeriodicJobs(&cfg)); n != 4 {
		t.Fatalf("%d periodic jobs without a Ghost site, want 4 (the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep)", n)
	}
	cfg.Ghost.URL = "https://ghost.example"
	cfg.Ghost.SyncInterval = config.Duration(15 * time.Minute)
	if n := len(PeriodicJobs(&cfg)); n != 5 {
		t.Fatalf("%d periodic jobs with a Ghost site, want the sync, the scheduled posts, the unannounced products, the sources' refresh and the orders' sweep", n)
	}
	cfg.Ghost.SyncInterval = 0
	if n := len(PeriodicJobs(&cfg)); n != 4 {
		t.Fatalf("%d periodic jobs with the sync interval 0, want 4 (the scheduled posts, the unannounced products, the sources' refresh, the orders' sweep)", n)
	}
}
