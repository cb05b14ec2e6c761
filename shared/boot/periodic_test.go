package boot

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Every service declares the same periodic jobs, so the Ghost sync, the
// blog's scheduled posts and the market's unannounced products are
// scheduled whichever service River elects as leader.
func TestPeriodicJobsAreTheSameForEveryService(t *testing.T) {
	var cfg config.Config
	if n := len(PeriodicJobs(&cfg)); n != 2 {
		t.Fatalf("%d periodic jobs without a Ghost site, want 2 (the scheduled posts, the unannounced products)", n)
	}
	cfg.Ghost.URL = "https://ghost.example"
	cfg.Ghost.SyncInterval = config.Duration(15 * time.Minute)
	if n := len(PeriodicJobs(&cfg)); n != 3 {
		t.Fatalf("%d periodic jobs with a Ghost site, want the sync, the scheduled posts and the unannounced products", n)
	}
	cfg.Ghost.SyncInterval = 0
	if n := len(PeriodicJobs(&cfg)); n != 2 {
		t.Fatalf("%d periodic jobs with the sync interval 0, want 2 (the scheduled posts, the unannounced products)", n)
	}
}
