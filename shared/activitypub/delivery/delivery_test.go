package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

func TestEmitIsTransactional(t *testing.T) {
	db := mustPool(t, 4)
	// A client that only inserts: nothing works the jobs, so they stay
	// where Emit put them.
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	count := func(sql string) int {
		var n int
		if err := db.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	actor := "http://blog.localhost:8001/users/blog"
	a := Activity{Actor: actor, Type: "Create", ToFollowers: true,
		Payload: map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "object": map[string]any{"type": "Note"}}}

	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Emit(ctx, tx, jobs, a); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, j := count(`SELECT count(*) FROM ap_activities`), count(`SELECT count(*) FROM river_job`); n != 0 || j != 0 {
		t.Fatalf("after a rollback: %d activities and %d jobs remain, want none", n, j)
	}

	a.ID = NewID(actor)
	var id uuid.UUID
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		id, err = Emit(ctx, tx, jobs, a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var uri, gotActor, gotID string
	err = db.QueryRow(ctx, `SELECT uri, payload->>'actor', payload->>'id' FROM ap_activities WHERE id = $1`, id).
		Scan(&uri, &gotActor, &gotID)
	if err != nil {
		t.Fatal(err)
	}
	if uri != a.ID || gotActor != actor || gotID != a.ID {
		t.Errorf("stored uri %q, payload actor %q id %q; want the activity's id and actor filled in", uri, gotActor, gotID)
	}
	var kind, queue, args string
	if err := db.QueryRow(ctx, `SELECT kind, queue, args->>'activity_id' FROM river_job`).Scan(&kind, &queue, &args); err != nil {
		t.Fatalf("the committed activity has no job: %v", err)
	}
	if kind != "ap_fanout" || queue != Queue || args != id.String() {
		t.Errorf("job %s on %s for %s; want ap_fanout on %s for %s", kind, queue, args, Queue, id)
	}
	if _, ok := a.Payload["id"]; ok {
		t.Error("Emit changed the caller's payload")
	}
}

func TestEmitRefusesAnInconsistentActivity(t *testing.T) {
	db := mustPool(t, 4)
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	actor := "http://blog.localhost:8001/users/blog"
	for name, a := range map[string]Activity{
		"no actor":          {Type: "Create", Payload: map[string]any{}},
		"no payload":        {Actor: actor, Type: "Create"},
		"another actor":     {Actor: actor, Type: "Create", Payload: map[string]any{"actor": "http://evil.example/users/x"}},
		"another id":        {ID: NewID(actor), Actor: actor, Type: "Create", Payload: map[string]any{"id": NewID(actor)}},
		"another type":      {Actor: actor, Type: "Create", Payload: map[string]any{"type": "Delete"}},
		"a numeric id":      {Actor: actor, Type: "Create", Payload: map[string]any{"id": 7}},
		"an object as type": {Actor: actor, Type: "Create", Payload: map[string]any{"type": map[string]any{}}},
	} {
		err := pgx.BeginFunc(context.Background(), db, func(tx pgx.Tx) error {
			_, err := Emit(context.Background(), tx, jobs, a)
			return err
		})
		if !errors.Is(err, ErrInvalidActivity) {
			t.Errorf("%s: err = %v, want ErrInvalidActivity", name, err)
		}
	}
}

func TestNewIDIsFreshAndUnderTheActor(t *testing.T) {
	actor := "https://blog.example/users/blog"
	seen := map[string]bool{}
	for range 1000 {
		id := NewID(actor)
		if !strings.HasPrefix(id, actor+"/activities/") {
			t.Fatalf("NewID = %q, not under %s/activities/", id, actor)
		}
		if _, err := uuid.Parse(strings.TrimPrefix(id, actor+"/activities/")); err != nil {
			t.Fatalf("NewID = %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRetriesServerErrorsWithBackoff(t *testing.T) {
	cfg := fastConfig()
	cfg.BackoffBase = 600 * time.Millisecond
	cfg.BackoffMax = 10 * time.Second
	e := startEnv(t, cfg)
	host := newFakeHost(t, func(_ string, n int) (int, http.Header) {
		switch n {
		case 1:
			return http.StatusServiceUnavailable, nil
		case 2:
			return http.StatusBadGateway, nil
		}
		return http.StatusAccepted, nil
	})
	e.addActor(t, host.URL+"/users/bob", host.URL+"/users/bob/inbox", "")
	e.follow(t, host.URL+"/users/bob")

	id := e.emit(t, e.createNote("hello"))
	got := e.settled(t, id, 1, 15*time.Second)[host.URL+"/users/bob/inbox"]
	if got.State != "delivered" || got.Attempts != 3 || got.LastStatus == nil || *got.LastStatus != 202 {
		t.Fatalf("delivery = %+v, want delivered on the third attempt", got)
	}
	hits := host.received()
	if len(hits) != 3 {
		t.Fatalf("%d requests, want 3 (two failures, one success)", len(hits))
	}
	for i, h := range hits {
		if h.VerifyErr != "" {
			t.Errorf("request %d: %s", i+1, h.VerifyErr)
		}
	}
	// Exponential: the second wait is about twice the first (each within
	// ±25% of 600 ms and 1.2 s).
	first, second := hits[1].At.Sub(hits[0].At), hits[2].At.Sub(hits[1].At)
	if first < 450*time.Millisecond || first > 1500*time.Millisecond {
		t.Errorf("first retry after %s, want 450-750 ms (plus polling)", first)
	}
	if second < 900*time.Millisecond || second > 2500*time.Millisecond {
		t.Errorf("second retry after %s, want 900-1500 ms (plus polling)", second)
	}
	// At least 1.35 s separate the first and last attempts: a re-signed
	// request carries a later Date.
	if hits[0].Date == hits[2].Date || hits[0].Signature == hits[2].Signature {
		t.Errorf("retries reuse Date %q / the signature: every attempt must be signed afresh", hits[0].Date)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	cfg := fastConfig()
	cfg.MaxAttempts = 3
	e := startEnv(t, cfg)
	host := newFakeHost(t, always(http.StatusInternalServerError))
	e.addActor(t, host.URL+"/users/bob", host.URL+"/users/bob/inbox", "")
	e.follow(t, host.URL+"/users/bob")

	id := e.emit(t, e.createNote("hello"))
	got := e.settled(t, id, 1, 10*time.Second)[host.URL+"/users/bob/inbox"]
	if got.State != "failed" || got.Attempts != 3 || !strings.Contains(got.LastError, "500") {
		t.Fatalf("delivery = %+v, want failed after 3 attempts with the 500 recorded", got)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(host.received()); n != 3 {
		t.Fatalf("%d requests, want exactly MaxAttempts = 3", n)
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	cfg := fastConfig()
	cfg.BackoffBase = 50 * time.Millisecond
	cfg.BreakerFailures = 1 // a 429 must not count against the host
	cfg.BreakerCooldown = time.Minute
	e := startEnv(t, cfg)
	host := newFakeHost(t, func(_ string, n int) (int, http.Header) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}
		}
		return http.StatusAccepted, nil
	})
	e.addActor(t, host.URL+"/users/bob", host.URL+"/users/bob/inbox", "")
	e.follow(t, host.URL+"/users/bob")

	id := e.emit(t, e.createNote("hello"))
	got := e.settled(t, id, 1, 10*time.Second)[host.URL+"/users/bob/inbox"]
	if got.State != "delivered" || got.Attempts != 2 {
		t.Fatalf("delivery = %+v, want delivered on the second attempt", got)
	}
	hits := host.received()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want 2", len(hits))
	}
	if wait := hits[1].At.Sub(hits[0].At); wait < 1900*time.Millisecond {
		t.Fatalf("retried %s after a 429 with Retry-After: 2; want at least 2 s", wait)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"Sun, 01 Mar 2026 12:01:30 GMT", 90 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true}, // in the past: now
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
	} {
		got, ok := retryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestBackoffIsExponentialJitteredAndCapped(t *testing.T) {
	c := Config{}.withDefaults()
	if c.MaxAttempts != 16 || c.BackoffBase != 30*time.Second || c.BackoffMax != 12*time.Hour ||
		c.BreakerFailures != 10 || c.BreakerCooldown != 10*time.Minute || c.HostConcurrency != 8 {
		t.Fatalf("defaults %+v differ from the documented numbers", c)
	}
	var total time.Duration
	for n := 1; n < c.MaxAttempts; n++ {
		nominal := min(c.BackoffBase*time.Duration(1<<(n-1)), c.BackoffMax)
		lo, hi := time.Duration(float64(nominal)*0.75), min(time.Duration(float64(nominal)*1.25), c.BackoffMax)
		distinct := map[time.Duration]bool{}
		for range 200 {
			d := c.Backoff(n)
			if d < lo || d > hi {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, lo, hi)
			}
			distinct[d] = true
		}
		if len(distinct) < 50 {
			t.Errorf("Backoff(%d) took %d distinct values in 200 draws: no jitter", n, len(distinct))
		}
		total += nominal
	}
	// The span the retries cover, as Mastodon's cover 2-3 days.
	if total < 60*time.Hour || total > 72*time.Hour {
		t.Errorf("retries span %s, want about 2.7 days", total)
	}
	if d := c.Backoff(1000); d > c.BackoffMax || d < c.BackoffMax*3/4 {
		t.Errorf("Backoff(1000) = %s, want near the cap %s", d, c.BackoffMax)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	e := startEnv(t, fastConfig())
	statuses := []int{400, 401, 403, 404, 405, 413, 422}
	host := newFakeHost(t, func(path string, _ int) (int, http.Header) {
		var s int
		fmt.Sscanf(path, "/users/s%d/inbox", &s)
		return s, nil
	})
	for _, s := range statuses {
		uri := fmt.Sprintf("%s/users/s%d", host.URL, s)
		e.addActor(t, uri, uri+"/inbox", "")
		e.follow(t, uri)
	}
	id := e.emit(t, e.createNote("hello"))
	got := e.settled(t, id, len(statuses), 10*time.Second)
	time.Sleep(time.Second) // ten backoffs' worth: a retry would show
	for _, s := range statuses {
		d := got[fmt.Sprintf("%s/users/s%d/inbox", host.URL, s)]
		if d.State != "failed" || d.Attempts != 1 || d.LastStatus == nil || *d.LastStatus != s {
			t.Errorf("answer %d: delivery %+v, want failed after one attempt", s, d)
		}
	}
	if n := len(host.received()); n != len(statuses) {
		t.Fatalf("%d requests for %d inboxes: a client error was retried", n, len(statuses))
	}
	// The host answered: its breaker stays closed.
	if st := e.d.hosts.get(strings.TrimPrefix(host.URL, "http://")).breaker.State().String(); st != "closed" {
		t.Errorf("breaker %s after client errors, want closed", st)
	}
}

func TestGoneMarksTheActor(t *testing.T) {
	e := startEnv(t, fastConfig())
	host := newFakeHost(t, func(path string, _ int) (int, http.Header) {
		if strings.HasPrefix(path, "/users/gone/") {
			return http.StatusGone, nil
		}
		return http.StatusAccepted, nil
	})
	for _, name := range []string{"gone", "here"} {
		uri := host.URL + "/users/" + name
		e.addActor(t, uri, uri+"/inbox", "")
		e.follow(t, uri)
	}
	id := e.emit(t, e.createNote("first"))
	got := e.settled(t, id, 2, 10*time.Second)
	if d := got[host.URL+"/users/gone/inbox"]; d.State != "gone" || d.Attempts != 1 {
		t.Errorf("delivery to the 410 inbox = %+v, want gone after one attempt", d)
	}
	var goneAt, hereGoneAt *time.Time
	_ = e.db.QueryRow(context.Background(), `SELECT gone_at FROM ap_actors WHERE uri = $1`, host.URL+"/users/gone").Scan(&goneAt)
	_ = e.db.QueryRow(context.Background(), `SELECT gone_at FROM ap_actors WHERE uri = $1`, host.URL+"/users/here").Scan(&hereGoneAt)
	if goneAt == nil || hereGoneAt != nil {
		t.Fatalf("gone_at: answered 410 %v, answered 202 %v; want only the first marked", goneAt, hereGoneAt)
	}

	id = e.emit(t, e.createNote("second"))
	got = e.settled(t, id, 1, 10*time.Second)
	if _, ok := got[host.URL+"/users/here/inbox"]; !ok {
		t.Fatalf("second activity went to %v, want only the actor still here", got)
	}
	if n := len(host.received()); n != 3 {
		t.Fatalf("%d requests, want 3: the gone actor is not delivered to again", n)
	}
}

func TestGoneSharedInboxFallsBackToPersonalInboxes(t *testing.T) {
	e := startEnv(t, fastConfig())
	host := newFakeHost(t, func(path string, _ int) (int, http.Header) {
		switch path {
		case "/inbox", "/users/left/inbox":
			return http.StatusGone, nil
		}
		return http.StatusAccepted, nil
	})
	for _, name := range []string{"left", "stayed"} {
		uri := host.URL + "/users/" + name
		e.addActor(t, uri, uri+"/inbox", host.URL+"/inbox")
		e.follow(t, uri)
	}
	id := e.emit(t, e.createNote("hello"))
	got := e.settled(t, id, 3, 10*time.Second)
	want := map[string]string{host.URL + "/inbox": "gone", host.URL + "/users/left/inbox": "gone",
		host.URL + "/users/stayed/inbox": "delivered"}
	for inbox, state := range want {
		if got[inbox].State != state {
			t.Errorf("%s: %s, want %s", inbox, got[inbox].State, state)
		}
	}
	rows, _ := e.db.Query(context.Background(), `SELECT uri, shared_inbox, gone_at IS NOT NULL FROM ap_actors ORDER BY uri`)
	type actor struct {
		URI, Shared string
		Gone        bool
	}
	actors, err := pgx.CollectRows(rows, pgx.RowToStructByPos[actor])
	if err != nil {
		t.Fatal(err)
	}
	if len(actors) != 2 || actors[0].Shared != "" || !actors[0].Gone || actors[1].Shared != "" || actors[1].Gone {
		t.Fatalf("actors %+v; want both without the shared inbox, only 'left' gone", actors)
	}
}

func TestBreakerStopsHammeringADeadHost(t *testing.T) {
	cfg := fastConfig()
	cfg.BreakerFailures = 3
	cfg.BreakerCooldown = 1500 * time.Millisecond
	cfg.HostConcurrency = 2
	cfg.MaxAttempts = 20
	cfg.BackoffBase = 50 * time.Millisecond
	cfg.BackoffMax = 200 * time.Millisecond
	e := startEnv(t, cfg)
	var alive atomic.Bool
	dead := newFakeHost(t, func(string, int) (int, http.Header) {
		if alive.Load() {
			return http.StatusAccepted, nil
		}
		return http.StatusServiceUnavailable, nil
	})
	healthy := newFakeHost(t, always(http.StatusAccepted))
	e.addActor(t, dead.URL+"/users/d", dead.URL+"/users/d/inbox", "")
	e.follow(t, dead.URL+"/users/d")

	const activities = 20
	ids := make([]uuid.UUID, activities)
	for i := range ids {
		ids[i] = e.emit(t, e.createNote(fmt.Sprint("post ", i)))
	}
	eventually(t, 5*time.Second, func() bool { return len(dead.received()) >= cfg.BreakerFailures },
		func() string { return "the dead host was never tried" })
	time.Sleep(time.Second) // within the cool-down
	// Without the breaker, 20 deliveries retrying every 50-200 ms would
	// have sent well over a hundred requests by now.
	if n := len(dead.received()); n > cfg.BreakerFailures+cfg.HostConcurrency {
		t.Fatalf("%d requests to a dead host during the cool-down, want at most %d (threshold + in flight)",
			n, cfg.BreakerFailures+cfg.HostConcurrency)
	}

	// Held-back deliveries do not block others: a healthy host is served
	// meanwhile.
	e.addActor(t, healthy.URL+"/users/h", healthy.URL+"/users/h/inbox", "")
	other := e.emit(t, Activity{Actor: e.actor, Type: "Like", Recipients: []string{healthy.URL + "/users/h"},
		Payload: map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "object": healthy.URL + "/notes/1"}})
	start := time.Now()
	e.settled(t, other, 1, 2*time.Second)
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("a healthy host waited %s behind a dead one", waited)
	}
	var spent int
	if err := e.db.QueryRow(context.Background(), `SELECT coalesce(sum(attempts), 0) FROM ap_deliveries WHERE inbox = $1`,
		dead.URL+"/users/d/inbox").Scan(&spent); err != nil {
		t.Fatal(err)
	}
	if spent > cfg.BreakerFailures+cfg.HostConcurrency {
		t.Errorf("%d attempts spent while the breaker was open: holding back must not spend attempts", spent)
	}

	// The host comes back: after the cool-down a probe succeeds and every
	// held-back delivery goes through.
	alive.Store(true)
	for _, id := range ids {
		if d := e.settled(t, id, 1, 10*time.Second)[dead.URL+"/users/d/inbox"]; d.State != "delivered" {
			t.Fatalf("after the host came back: %+v", d)
		}
	}
	if n := len(dead.received()); n > activities+cfg.BreakerFailures+cfg.HostConcurrency+2 {
		t.Errorf("%d requests in all for %d deliveries", n, activities)
	}
}

func TestSharedInboxDedupe(t *testing.T) {
	e := startEnv(t, fastConfig())
	var hosts []*fakeHost
	var urls []string
	for range 3 {
		h := newFakeHost(t, always(http.StatusAccepted))
		hosts = append(hosts, h)
		urls = append(urls, h.URL)
	}
	e.followersOn(t, urls, 334) // 1,002 followers; trimmed to 1,000 below
	if _, err := e.db.Exec(context.Background(), `DELETE FROM ap_actors WHERE uri IN ($1, $2)`,
		urls[1]+"/users/u1", urls[2]+"/users/u1"); err != nil {
		t.Fatal(err)
	}
	var followers int
	_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_followers`).Scan(&followers)
	if followers != 1000 {
		t.Fatalf("%d followers, want 1000", followers)
	}

	id := e.emit(t, e.createNote("to everyone"))
	got := e.settled(t, id, 3, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	for i, h := range hosts {
		if d := got[urls[i]+"/inbox"]; d.State != "delivered" {
			t.Errorf("host %d: delivery %+v", i, d)
		}
		hits := h.received()
		if len(hits) != 1 || hits[0].Path != "/inbox" || hits[0].VerifyErr != "" {
			t.Errorf("host %d got %d requests (%+v), want one signed POST to its shared inbox", i, len(hits), hits)
		}
	}
}

func TestFanoutSkipsGonePendingAndUnknownActors(t *testing.T) {
	e := startEnv(t, fastConfig())
	host := newFakeHost(t, always(http.StatusAccepted))
	for _, name := range []string{"ok", "gone", "pending", "direct"} {
		uri := host.URL + "/users/" + name
		e.addActor(t, uri, uri+"/inbox", "")
	}
	e.follow(t, host.URL+"/users/ok")
	e.follow(t, host.URL+"/users/gone")
	e.follow(t, host.URL+"/users/pending")
	ctx := context.Background()
	_, _ = e.db.Exec(ctx, `UPDATE ap_actors SET gone_at = now() WHERE uri = $1`, host.URL+"/users/gone")
	_, _ = e.db.Exec(ctx, `UPDATE ap_followers SET state = 'pending' WHERE actor_uri = $1`, host.URL+"/users/pending")

	a := e.createNote("hello")
	a.Recipients = []string{host.URL + "/users/direct", host.URL + "/users/ok", "https://unknown.example/users/x"}
	a.Payload["bcc"] = []string{host.URL + "/users/direct"}
	id := e.emit(t, a)
	got := e.settled(t, id, 2, 10*time.Second)
	for _, name := range []string{"ok", "direct"} {
		if got[host.URL+"/users/"+name+"/inbox"].State != "delivered" {
			t.Errorf("%s: %+v", name, got)
		}
	}
	hits := host.received()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want 2 (a follower also named as recipient gets one)", len(hits))
	}
	for _, h := range hits {
		if _, ok := h.Body["bcc"]; ok {
			t.Errorf("bcc was delivered to %s", h.Path)
		}
	}
}

func TestGivesUpOnAHostDownTooLong(t *testing.T) {
	cfg := fastConfig()
	cfg.BreakerFailures = 1
	cfg.BreakerCooldown = 5 * time.Second
	cfg.BackoffBase = 300 * time.Millisecond // the retry comes after GiveUpAfter, within the cool-down
	cfg.GiveUpAfter = 200 * time.Millisecond
	cfg.MaxAttempts = 100
	e := startEnv(t, cfg)
	host := newFakeHost(t, always(http.StatusServiceUnavailable))
	e.addActor(t, host.URL+"/users/bob", host.URL+"/users/bob/inbox", "")
	e.follow(t, host.URL+"/users/bob")

	id := e.emit(t, e.createNote("hello"))
	d := e.settled(t, id, 1, 10*time.Second)[host.URL+"/users/bob/inbox"]
	if d.State != "failed" || !strings.Contains(d.LastError, "given up") {
		t.Fatalf("delivery %+v, want failed once held back longer than GiveUpAfter", d)
	}
	if n := len(host.received()); n != 1 {
		t.Errorf("%d requests, want 1: the open breaker held the rest back", n)
	}
}
