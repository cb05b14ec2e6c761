package activitypub_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/boot"
)

// BenchmarkInboxThroughput measures how many signed Create(Note) POSTs the
// inbox verifies and stores per second (keys cached, real PostgreSQL; a
// 202 is sent once the activity is committed) against a baseline measured
// in the same run: bare RSA-2048 signature verifications per second on one
// goroutine. It runs rounds, each a baseline then a burst of POSTs from
// many concurrent senders (as when a busy peer's delivery workers, or many
// peers, deliver at once), and reports the median round. It also reports
// how fast the processor then handles what was stored (notes in the
// timeline per second), which is not part of the target. Run it on one
// core to compare with the target (inbox >= 50% of the bare rate):
//
//	go test -run '^$' -bench InboxThroughput -benchtime 1x -cpu 1 ./shared/activitypub/
func BenchmarkInboxThroughput(b *testing.B) {
	const (
		rounds  = 5
		posts   = 6000 // per round
		senders = 64   // concurrent POSTs
	)
	// The garbage collector set as in every server process (boot.TuneRuntime).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(boot.DefaultGCPercent))
	}
	p := newPlatformTB(b)
	remote := aptest.NewServer(b)
	// Eight senders' actors, as a busy inbox hears from many.
	var actors []*aptest.Actor
	for i := range 8 {
		actors = append(actors, remote.AddActor(fmt.Sprintf("sender%d", i)))
	}
	ctx := context.Background()
	router := chi.NewRouter()
	p.svc.Mount(router)

	// Warm up: the first POST of each fetches and caches its key.
	for _, a := range actors {
		warm := signPosts(b, []*aptest.Actor{a}, p.url, -1, 1)
		if code := serveInbox(ctx, router, warm[0]); code != http.StatusAccepted {
			b.Fatalf("warm-up POST: %d", code)
		}
	}
	drainTB(b, p)

	type round struct{ bare, rate, cpu, processed float64 }
	var results []round
	b.ResetTimer()
	for r := range rounds {
		b.StopTimer()
		reqs := signPosts(b, actors, p.url, r*posts, posts)
		bare := bareVerifyRate(b, time.Second)
		b.StartTimer()
		var next atomic.Int64
		var failed atomic.Int64
		cpu0 := processCPU()
		start := time.Now()
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= posts {
						return
					}
					if serveInbox(ctx, router, reqs[i]) != http.StatusAccepted {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu := processCPU() - cpu0
		b.StopTimer()
		if failed.Load() > 0 {
			b.Fatalf("%d POSTs were not accepted", failed.Load())
		}
		if n := countTB(b, p, `SELECT count(*) FROM ap_inbox WHERE processed_at IS NULL`); n != posts {
			b.Fatalf("stored %d activities of %d", n, posts)
		}
		pstart := time.Now()
		drainTB(b, p)
		ptime := time.Since(pstart)
		if n := countTB(b, p, `SELECT count(*) FROM ap_objects`); n != (r+1)*posts+len(actors) {
			b.Fatalf("handled %d notes of %d", n, (r+1)*posts+len(actors))
		}
		results = append(results, round{bare: bare, rate: posts / elapsed.Seconds(),
			cpu: float64(cpu.Microseconds()) / posts, processed: posts / ptime.Seconds()})
		res := results[len(results)-1]
		b.Logf("round %d: %.0f POSTs/s stored, %.0f bare verifies/s: %.1f%% of bare; %.0f us CPU per POST; processed %.0f/s",
			r+1, res.rate, res.bare, 100*res.rate/res.bare, res.cpu, res.processed)
		b.StartTimer()
	}
	b.StopTimer()
	slices.SortFunc(results, func(x, y round) int { return cmp.Compare(x.rate/x.bare, y.rate/y.bare) })
	med := results[len(results)/2]
	b.ReportMetric(med.rate, "inbox-posts/s")
	b.ReportMetric(med.bare, "bare-verifies/s")
	b.ReportMetric(100*med.rate/med.bare, "%-of-bare")
	b.ReportMetric(med.cpu, "cpu-us/post")
	b.ReportMetric(med.processed, "processed/s")
	b.Logf("GOMAXPROCS=%d, %d senders: median round %.0f signed Create(Note) POSTs verified and stored per second; %.0f bare RSA-2048 verifies per second; inbox = %.1f%% of bare (target >= 50%%); then handled %.0f/s",
		runtime.GOMAXPROCS(0), senders, med.rate, med.bare, 100*med.rate/med.bare, med.processed)
}

// signPosts signs n Create(Note) POSTs by the actors in turn to base's
// shared inbox, numbered from first, on every core: signing is the
// senders' work, not the inbox's.
func signPosts(b *testing.B, actors []*aptest.Actor, base string, first, n int) []signedPost {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU()))
	out := make([]signedPost, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				a := actors[i%len(actors)]
				r, err := a.NewRequest(context.Background(), base+"/inbox", noteCreate(a, first+i,
					"<p>Hello number "+fmt.Sprint(first+i)+" from the benchmark.</p>"))
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(r.Body)
				out[i] = signedPost{req: r, body: body}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return out
}

type signedPost struct {
	req  *http.Request
	body []byte
}

// serveInbox hands one POST to the router, as the server would.
func serveInbox(ctx context.Context, router http.Handler, p signedPost) int {
	r := p.req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(p.body))
	r.RequestURI = "/inbox"
	w := httptest.NewRecorder()
	router.ServeHTTP(w, r)
	return w.Code
}

func drainTB(b *testing.B, p *platform) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.svc.Drain(ctx); err != nil {
		b.Fatal(err)
	}
}

func countTB(b *testing.B, p *platform, q string) int {
	var n int
	if err := p.db.QueryRow(context.Background(), q).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
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

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
