package boot

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/config"
)

// Every service declares the same periodic jobs, so the Ghost sync and the
// blog's scheduled posts are scheduled whichever service River elects as
// leader.
func TestPeriodicJobsAreTheSameForEveryService(t *testing.T) {
	var cfg config.Config
	if n := len(PeriodicJobs(&cfg)); n != 1 {
		t.Fatalf("%d periodic jobs without a Ghost site, want 1 (the scheduled posts)", n)
	}
	cfg.Ghost.URL = "https://ghost.example"
	cfg.Ghost.SyncInterval = config.Duration(15 * time.Minute)
	if n := len(PeriodicJobs(&cfg)); n != 2 {
		t.Fatalf("%d periodic jobs with a Ghost site, want the sync and the scheduled posts", n)
	}
	cfg.Ghost.SyncInterval = 0
	if n := len(PeriodicJobs(&cfg)); n != 1 {
		t.Fatalf("%d periodic jobs with the sync interval 0, want 1 (the scheduled posts)", n)
	}
}
