package schedule_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/schedule"
)

type sweepArgs struct {
	Market string `json:"market"`
}

func (sweepArgs) Kind() string                 { return "test_sweep" }
func (sweepArgs) InsertOpts() river.InsertOpts { return schedule.Once("test") }

// A periodic job queued while one of its kind and arguments still waits
// is not queued again (no pile-up while no replica works the queue); other
// arguments are queued.
func TestOnceKeepsOneWaitingJobPerArguments(t *testing.T) {
	db := pgtest.MustPool(t)
	ctx := context.Background()
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := jobs.Insert(ctx, sweepArgs{Market: "hill-farm"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.UniqueSkippedAsDuplicate || first.Job.MaxAttempts != 1 || first.Job.Queue != "test" {
		t.Fatalf("first job: skipped %v, attempts %d, queue %q; want queued, tried once, on test",
			first.UniqueSkippedAsDuplicate, first.Job.MaxAttempts, first.Job.Queue)
	}
	again, err := jobs.Insert(ctx, sweepArgs{Market: "hill-farm"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.UniqueSkippedAsDuplicate || again.Job.ID != first.Job.ID {
		t.Fatalf("the same job while the first waits was queued again (id %d, first %d)", again.Job.ID, first.Job.ID)
	}
	other, err := jobs.Insert(ctx, sweepArgs{Market: "bakehouse"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.UniqueSkippedAsDuplicate {
		t.Fatal("a job with other arguments was taken for a duplicate")
	}
	if p := schedule.Every("test_sweep", 60e9, sweepArgs{}, true); p == nil {
		t.Fatal("Every made no periodic job")
	}
}
