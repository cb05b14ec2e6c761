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
