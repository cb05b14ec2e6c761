package activitypub_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/aptest"
)

// BenchmarkInboxThroughput measures how many signed Create(Note) POSTs the
// inbox verifies and stores per second (keys cached, real PostgreSQL),
// against a baseline measured in the same run: bare RSA-2048 signature
// verifications per second on one goroutine. Run it on one core to compare
// with the target (inbox >= 50% of the bare rate):
//
//	go test -run '^$' -bench InboxThroughput -benchtime 1x -cpu 1 ./shared/activitypub/
func BenchmarkInboxThroughput(b *testing.B) {
	const posts = 2000
	p := newPlatformTB(b)
	remote := aptest.NewServer(b)
	alice := remote.AddActor("alice")
	ctx := context.Background()

	// Sign everything first: signing costs ~30 verifies and is the
	// sender's work, not ours.
	reqs := make([]*http.Request, posts)
	bodies := make([][]byte, posts)
	for i := range reqs {
		note := map[string]any{"id": fmt.Sprintf("%s/notes/%d", alice.ID, i), "type": "Note", "attributedTo": alice.ID,
			"content": "<p>Hello number " + fmt.Sprint(i) + " from the benchmark.</p>", "to": []any{activitypub.Public},
			"published": time.Now().UTC().Format(time.RFC3339)}
		act := map[string]any{"@context": activitypub.ContextURL, "id": fmt.Sprintf("%s/notes/%d/activity", alice.ID, i),
			"type": "Create", "actor": alice.ID, "object": note, "to": []any{activitypub.Public}}
		r, err := alice.NewRequest(ctx, p.url+"/inbox", act)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i], _ = io.ReadAll(r.Body)
		reqs[i] = r
	}
	router := chi.NewRouter()
	p.svc.Mount(router)
	serve := func(i int) int {
		r := reqs[i].Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(bodies[i]))
		r.RequestURI = "/inbox"
		w := httptest.NewRecorder()
		router.ServeHTTP(w, r)
		return w.Code
	}
	// Warm up: the first POST fetches and caches alice's key.
	if code := serve(0); code != http.StatusAccepted {
		b.Fatalf("warm-up POST: %d", code)
	}

	bare := bareVerifyRate(b, 2*time.Second)

	b.ResetTimer()
	var next atomic.Int64
	next.Store(1)
	var failed atomic.Int64
	workers := 16 * runtime.GOMAXPROCS(0)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= posts {
					return
				}
				if serve(i) != http.StatusAccepted {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d POSTs were not accepted", failed.Load())
	}
	var stored int
	if err := p.db.QueryRow(ctx, `SELECT count(*) FROM ap_objects`).Scan(&stored); err != nil || stored != posts {
		b.Fatalf("stored %d notes of %d (%v)", stored, posts, err)
	}
	rate := float64(posts-1) / elapsed.Seconds()
	b.ReportMetric(rate, "inbox-posts/s")
	b.ReportMetric(bare, "bare-verifies/s")
	b.ReportMetric(100*rate/bare, "%-of-bare")
	b.Logf("GOMAXPROCS=%d: %.0f signed Create(Note) POSTs verified and stored per second; %.0f bare RSA-2048 verifies per second; inbox = %.1f%% of bare",
		runtime.GOMAXPROCS(0), rate, bare, 100*rate/bare)
}

// bareVerifyRate is RSA-2048 PKCS#1 v1.5 SHA-256 verifications per second
// on one goroutine for about d.
func bareVerifyRate(b *testing.B, d time.Duration) float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("(request-target): post /inbox\nhost: example.org\ndate: now\ndigest: SHA-256=x"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 100 {
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
		n += 100
	}
	return float64(n) / time.Since(start).Seconds()
}
