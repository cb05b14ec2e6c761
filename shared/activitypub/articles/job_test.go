package articles_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub/articles"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// A post scheduled for a time that has now come is announced by the
// periodic job on its own, with no edit to trigger it; a post still
// scheduled for later is not.
func TestTheScheduledPostsJobAnnouncesDuePosts(t *testing.T) {
	db := pgtest.MustPool(t)
	ctx := context.Background()
	const blogURL = "https://blog.example"
	var due, later string
	if err := db.QueryRow(ctx, `INSERT INTO posts (slug, title, status, published_at) VALUES ('due', 'Due', 'published', now() - interval '1 minute') RETURNING id`).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `INSERT INTO posts (slug, title, status, published_at) VALUES ('later', 'Later', 'published', now() + interval '1 day') RETURNING id`).Scan(&later); err != nil {
		t.Fatal(err)
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &articles.DueWorker{BlogURL: blogURL, DB: db})
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{articles.Queue: {MaxWorkers: 1}},
		PeriodicJobs: []*river.PeriodicJob{articles.Periodic(time.Second)}, SkipUnknownJobCheck: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	if err := jobs.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = jobs.Stop(stop)
		cancel()
	})

	pub := &articles.Publisher{BlogURL: blogURL}
	announced := func(id string) int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM ap_activities WHERE object_uri = $1 AND type = 'Create'`,
			pub.Actor()+"/articles/"+id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for announced(due) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the due post was not announced by the periodic job within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := announced(later); n != 0 {
		t.Errorf("the post scheduled for tomorrow was announced %d times", n)
	}
}

// While no blog replica works the queue, the periodic job does not pile
// up: one waits, however many intervals pass.
func TestScheduledPostsJobsDoNotPileUp(t *testing.T) {
	db := pgtest.MustPool(t)
	ctx := context.Background()
	// A client that knows the job but does not work the blog's queue (as
	// every service but a federating blog).
	workers := river.NewWorkers()
	river.AddWorker(workers, &articles.DueWorker{BlogURL: "https://blog.example", DB: db})
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Workers: workers, Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		PeriodicJobs: []*river.PeriodicJob{articles.Periodic(200 * time.Millisecond)}, SkipUnknownJobCheck: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = jobs.Stop(stop)
	})
	count := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, articles.DueArgs{}.Kind()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled-posts job was queued within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // ten intervals
	if n := count(); n != 1 {
		t.Fatalf("%d scheduled-posts jobs wait for a blog, want 1", n)
	}
}
