package delivery

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub/signature"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
)

// testKey is the site key of every test: RSA 2048 takes a while to make.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// loopback lets the SSRF-safe client reach the fake hosts.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// fastConfig keeps the real shape of the numbers but makes tests quick.
func fastConfig() Config {
	return Config{
		MaxAttempts:     5,
		BackoffBase:     100 * time.Millisecond,
		BackoffMax:      2 * time.Second,
		BreakerFailures: 10,
		BreakerCooldown: 2 * time.Second,
		HostWait:        100 * time.Millisecond,
		Timeout:         5 * time.Second,
	}
}

// env is a platform side: a fresh database, a River client working Queue
// with a Deliverer, and a "local" server that serves the local actor's
// document (remote servers fetch it to verify our signatures).
type env struct {
	db    *pgxpool.Pool
	jobs  *river.Client[pgx.Tx]
	d     *Deliverer
	actor string // the local actor's id
}

func mustPool(tb testing.TB, maxConns int) *pgxpool.Pool {
	tb.Helper()
	u := pgtest.MustDatabaseURL(tb)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	db, err := pgxpool.New(context.Background(), u+sep+"pool_max_conns="+strconv.Itoa(maxConns))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

func startEnv(tb testing.TB, cfg Config) *env {
	tb.Helper()
	db := mustPool(tb, 30)
	key := testKey()
	pem, err := signature.EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "http://" + r.Host + r.URL.Path
		w.Header().Set("Content-Type", mediaType)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       id, "type": "Service", "preferredUsername": "blog",
			"inbox": id + "/inbox", "outbox": id + "/outbox",
			"publicKey": map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pem},
		})
	}))
	tb.Cleanup(local.Close)

	d := &Deliverer{DB: db, Client: safefetch.New(safefetch.Options{Allow: loopback, Timeout: 5 * time.Second}),
		Key: key, Config: cfg, InboxGone: inboxGone}
	workers := river.NewWorkers()
	if err := d.Register(workers); err != nil {
		tb.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Logger: quiet, Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: QueueWorkers}},
		FetchPollInterval: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := jobs.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = jobs.Stop(ctx)
	})
	return &env{db: db, jobs: jobs, d: d, actor: local.URL + "/users/blog"}
}

// emit emits a in its own committed transaction.
func (e *env) emit(tb testing.TB, a Activity) uuid.UUID {
	tb.Helper()
	ctx := context.Background()
	if a.Actor == "" {
		a.Actor = e.actor
	}
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, e.db, func(tx pgx.Tx) error {
		var err error
		id, err = Emit(ctx, tx, e.jobs, a)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// createNote is a Create of a public note by the local actor, to its
// followers.
func (e *env) createNote(text string) Activity {
	note := e.actor + "/notes/" + uuid.NewString()
	return Activity{
		Actor: e.actor, Type: "Create", ObjectURI: note, Listed: true, ToFollowers: true,
		Payload: map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"to":       []string{"https://www.w3.org/ns/activitystreams#Public"},
			"object": map[string]any{"id": note, "type": "Note", "content": "<p>" + text + "</p>",
				"attributedTo": e.actor},
		},
	}
}

// addActor stores a remote actor as the resolver would.
func (e *env) addActor(tb testing.TB, uri, inbox, sharedInbox string) {
	tb.Helper()
	_, err := e.db.Exec(context.Background(), `
		INSERT INTO ap_actors (uri, host, inbox, shared_inbox) VALUES ($1, split_part($1, '/', 3), $2, $3)`,
		uri, inbox, sharedInbox)
	if err != nil {
		tb.Fatal(err)
	}
}

// follow makes uri an accepted follower of the local actor.
func (e *env) follow(tb testing.TB, uri string) {
	tb.Helper()
	if _, err := e.db.Exec(context.Background(), `
		INSERT INTO ap_followers (local_actor, actor_uri, follow_uri) VALUES ($1, $2, $2 || '#follow')`,
		e.actor, uri); err != nil {
		tb.Fatal(err)
	}
}

// followersOn adds n followers on each of hosts in two statements: actor
// uri <host>/users/u<i>, inbox <uri>/inbox, shared inbox <host>/inbox.
func (e *env) followersOn(tb testing.TB, hosts []string, n int) {
	tb.Helper()
	ctx := context.Background()
	_, err := e.db.Exec(ctx, `
		INSERT INTO ap_actors (uri, host, inbox, shared_inbox)
		SELECT h || '/users/u' || i, split_part(h, '/', 3), h || '/users/u' || i || '/inbox', h || '/inbox'
		  FROM unnest($1::text[]) AS h, generate_series(1, $2) AS i`, hosts, n)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = e.db.Exec(ctx, `
		INSERT INTO ap_followers (local_actor, actor_uri, follow_uri)
		SELECT $1, uri, uri || '#follow' FROM ap_actors WHERE host = ANY($2::text[])`,
		e.actor, hostNames(hosts))
	if err != nil {
		tb.Fatal(err)
	}
}

func hostNames(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	}
	return out
}

// delivery is an ap_deliveries row.
type delivery struct {
	Inbox      string
	State      string
	Attempts   int
	LastStatus *int
	LastError  string
}

func (e *env) deliveries(tb testing.TB, activity uuid.UUID) map[string]delivery {
	tb.Helper()
	rows, err := e.db.Query(context.Background(), `
		SELECT inbox, state, attempts, last_status, last_error FROM ap_deliveries WHERE activity_id = $1`, activity)
	if err != nil {
		tb.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[delivery])
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string]delivery{}
	for _, d := range list {
		m[d.Inbox] = d
	}
	return m
}

// settled waits until activity has want deliveries and none is pending.
func (e *env) settled(tb testing.TB, activity uuid.UUID, want int, timeout time.Duration) map[string]delivery {
	tb.Helper()
	var last map[string]delivery
	eventually(tb, timeout, func() bool {
		last = e.deliveries(tb, activity)
		if len(last) != want {
			return false
		}
		for _, d := range last {
			if d.State == "pending" {
				return false
			}
		}
		return true
	}, func() string { return summary(last) })
	return last
}

// summary describes deliveries briefly: how many per state, and a few.
func summary(ds map[string]delivery) string {
	states := map[string]int{}
	var some []delivery
	for _, d := range ds {
		states[d.State]++
		if len(some) < 3 {
			some = append(some, d)
		}
	}
	b, _ := json.Marshal(some)
	return fmt.Sprintf("%d deliveries, by state %v, e.g. %s", len(ds), states, b)
}

// eventually polls cond until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hit is one request a fake host received.
type hit struct {
	Path      string
	At        time.Time
	Date      string
	Signature string
	Body      map[string]any
	// VerifyErr is the result of checking the signature against the site
	// key ("" when valid).
	VerifyErr string
}

// fakeHost is a remote server that answers what respond says and records
// every request. n counts the requests to that path, from 1.
type fakeHost struct {
	*httptest.Server
	mu      sync.Mutex
	hits    []hit
	respond func(path string, n int) (int, http.Header)
}

func newFakeHost(tb testing.TB, respond func(path string, n int) (int, http.Header)) *fakeHost {
	tb.Helper()
	f := &fakeHost{respond: respond}
	pub := &testKey().PublicKey
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{Path: r.URL.Path, At: time.Now(), Date: r.Header.Get("Date"), Signature: r.Header.Get("Signature")}
		_ = json.Unmarshal(body, &h.Body)
		if _, err := signature.Verify(r, body, time.Now(), func(context.Context, string) (crypto.PublicKey, error) {
			return pub, nil
		}); err != nil {
			h.VerifyErr = err.Error()
		}
		if r.Header.Get("Content-Type") != mediaType {
			h.VerifyErr += " content type " + r.Header.Get("Content-Type")
		}
		f.mu.Lock()
		f.hits = append(f.hits, h)
		n := 0
		for _, x := range f.hits {
			if x.Path == h.Path {
				n++
			}
		}
		f.mu.Unlock()
		status, header := respond(r.URL.Path, n)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeHost) received() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

func always(status int) func(string, int) (int, http.Header) {
	return func(string, int) (int, http.Header) { return status, nil }
}

// inboxGone is activitypub.InboxGone, which boot gives the Deliverer; this
// package's tests cannot import activitypub (it imports delivery), so the
// same statements are run here.
func inboxGone(ctx context.Context, tx pgx.Tx, inbox string) (gone, lostShared int64, err error) {
	shared, err := tx.Exec(ctx, `UPDATE ap_actors SET shared_inbox = '' WHERE shared_inbox = $1`, inbox)
	if err != nil {
		return 0, 0, err
	}
	personal, err := tx.Exec(ctx, `UPDATE ap_actors SET gone_at = now() WHERE inbox = $1 AND gone_at IS NULL`, inbox)
	if err != nil {
		return 0, 0, err
	}
	return personal.RowsAffected(), shared.RowsAffected(), nil
}
