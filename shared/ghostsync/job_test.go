package ghostsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/ghostsync/ghosttest"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// The periodic job syncs on its own, again and again: posts added in Ghost
// appear and posts deleted in Ghost go, with no webhook at all.
func TestPeriodicSyncRunsAgainAndAgain(t *testing.T) {
	db := pgtest.MustPool(t)
	g := ghosttest.Start(t)
	first := g.AddPost(post("first", base))

	workers := river.NewWorkers()
	changed := make(chan struct{}, 10)
	river.AddWorker(workers, &ghostsync.Worker{Client: g.Client(t), DB: db,
		Changed: func(context.Context, bool) { changed <- struct{}{} }})
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{ghostsync.Queue: {MaxWorkers: 1}},
		PeriodicJobs: []*river.PeriodicJob{ghostsync.Periodic(time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = jobs.Stop(stop)
		cancel()
	})

	waitFor := func(what, q string, want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count(t, db, q) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no periodic sync did it within 20s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the first post", `SELECT count(*) FROM posts WHERE slug = 'first'`, 1)
	<-changed
	g.AddPost(post("second", time.Now().UTC()))
	waitFor("a post added later", `SELECT count(*) FROM posts WHERE slug = 'second'`, 1)
	// The sync that imported the second post must finish before the first
	// goes from Ghost: otherwise that same sync's deletion pass may see it
	// gone, and one sync would do what this test wants two more to do.
	<-changed
	g.Delete(first)
	waitFor("a post deleted in Ghost", `SELECT count(*) FROM posts WHERE slug = 'first'`, 0)
	if n := count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ghost_sync' AND args->>'reason' = 'periodic'`); n < 3 {
		t.Fatalf("%d periodic sync jobs, want at least 3", n)
	}
}
