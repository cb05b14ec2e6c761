package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// inboxCounter counts the POSTs that 100 fake hosts' shared inboxes
// receive and says when a target count is reached.
type inboxCounter struct {
	mu       sync.Mutex
	n        int
	unsigned int
	first    time.Time
	target   int
	reached  chan struct{}
}

func (c *inboxCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	c.mu.Lock()
	c.n++
	if c.first.IsZero() {
		c.first = time.Now()
	}
	if r.Header.Get("Signature") == "" || r.Header.Get("Digest") == "" {
		c.unsigned++
	}
	if c.n == c.target && c.reached != nil {
		close(c.reached)
		c.reached = nil
	}
	c.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// expect arms the counter for more requests and returns a channel closed
// when they have arrived.
func (c *inboxCounter) expect(more int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.target, c.reached, c.first = c.n+more, ch, time.Time{}
	return ch
}

func (c *inboxCounter) counts() (n, unsigned int, first time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.unsigned, c.first
}

// BenchmarkFanout10kFollowers100Hosts delivers one Create to 10,000
// followers spread over 100 fake hosts that all offer a shared inbox, with
// the default Config. Sub-benchmarks:
//
//   - queue: Emit, then the fan-out and delivery jobs through River until
//     the 100th POST arrives. Metrics: requests/op (100 when shared inboxes
//     are used), ms/op, and first-ms/op (emit to the first POST: the
//     fan-out's latency).
//   - direct: the same 100 signed POSTs sent straight from 50 goroutines
//     (as many as the queue's workers), without the database or the queue:
//     the baseline, so that queue/direct is the queue's overhead.
func BenchmarkFanout10kFollowers100Hosts(b *testing.B) {
	const hosts, perHost = 100, 100
	e := startEnv(b, Config{})
	counter := &inboxCounter{}
	urls := make([]string, hosts)
	for i := range urls {
		srv := httptest.NewServer(counter)
		b.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	e.followersOn(b, urls, perHost)
	var followers int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_followers`).Scan(&followers); err != nil || followers != hosts*perHost {
		b.Fatalf("%d followers (%v), want %d", followers, err, hosts*perHost)
	}

	b.Run("queue", func(b *testing.B) {
		start, _, _ := counter.counts()
		var total, firsts time.Duration
		for i := 0; i < b.N; i++ {
			reached := counter.expect(hosts)
			t0 := time.Now()
			id := e.emit(b, e.createNote("fan-out"))
			select {
			case <-reached:
			case <-time.After(time.Minute):
				n, _, _ := counter.counts()
				b.Fatalf("only %d of %d POSTs within a minute", n-start, hosts*(i+1))
			}
			total += time.Since(t0)
			_, _, first := counter.counts()
			firsts += first.Sub(t0)
			b.StopTimer()
			e.settled(b, id, hosts, 30*time.Second) // every delivery recorded before the next
			b.StartTimer()
		}
		b.StopTimer()
		time.Sleep(100 * time.Millisecond) // any stray retry would show in the count
		n, unsigned, _ := counter.counts()
		if unsigned > 0 {
			b.Fatalf("%d unsigned POSTs", unsigned)
		}
		b.ReportMetric(float64(n-start)/float64(b.N), "requests/op")
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
		b.ReportMetric(float64(firsts.Microseconds())/1000/float64(b.N), "first-ms/op")
	})

	b.Run("direct", func(b *testing.B) {
		body, err := json.Marshal(e.createNote("fan-out").Payload)
		if err != nil {
			b.Fatal(err)
		}
		signer := signature.Signer{KeyID: e.actor + "#main-key", Key: e.d.Key}
		start, _, _ := counter.counts()
		var total time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			sem := make(chan struct{}, QueueWorkers)
			var wg sync.WaitGroup
			for _, u := range urls {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					req, _ := http.NewRequest(http.MethodPost, u+"/inbox", bytes.NewReader(body))
					req.Header.Set("Content-Type", mediaType)
					if err := signer.Sign(req, body); err != nil {
						b.Error(err)
						return
					}
					resp, err := e.d.Client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			wg.Wait()
			total += time.Since(t0)
		}
		n, _, _ := counter.counts()
		b.ReportMetric(float64(n-start)/float64(b.N), "requests/op")
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
	})
}
