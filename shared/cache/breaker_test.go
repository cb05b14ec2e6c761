package cache_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/faultproxy"
)

func redisAddr() string {
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		panic(err)
	}
	return opts.Addr
}

// openThrough returns a client of Open that reaches the test Redis through
// a proxy the test can cut or freeze.
func openThrough(t *testing.T) (*redis.Client, *faultproxy.Proxy) {
	t.Helper()
	p := faultproxy.MustStart(t, redisAddr())
	rdb, err := cache.Open("redis://" + p.Addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb, p
}

// burst makes n sequential GETs and returns how long they took and the
// last error.
func burst(rdb *redis.Client, n int) (time.Duration, error) {
	start := time.Now()
	var err error
	for range n {
		err = rdb.Get(context.Background(), "cache-test:absent").Err()
	}
	return time.Since(start), err
}

// TestRedisAwayFailsFastAndRecovers is the drill: with Redis refusing
// connections, then with Redis silent (a black hole), a burst of calls
// fails at once instead of each waiting out timeouts and a retry, and
// calls work again by themselves once Redis is back.
func TestRedisAwayFailsFastAndRecovers(t *testing.T) {
	for _, fault := range []string{"cut", "frozen"} {
		t.Run(fault, func(t *testing.T) {
			rdb, p := openThrough(t)
			ctx := context.Background()
			key := "cache-test:" + fault + time.Now().Format("150405.000000000")
			if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Del(context.Background(), key) })
			// Missing keys are answers, not failures: they never open the circuit.
			if d, err := burst(rdb, 20); !errors.Is(err, redis.Nil) {
				t.Fatalf("GET of a missing key = %v after %s, want redis.Nil", err, d)
			}

			if fault == "cut" {
				p.Cut()
			} else {
				p.Freeze()
			}
			// The old client (1-2 s timeouts and a retry per call) took
			// 100-200 s for this burst.
			d, err := burst(rdb, 50)
			if err == nil {
				t.Fatal("GET succeeded with Redis away")
			}
			if d > 5*time.Second {
				t.Errorf("50 GETs with Redis %s took %s; want them to fail fast (well under 5s)", fault, d)
			}
			if !errors.Is(err, cache.ErrUnavailable) {
				t.Errorf("after the burst, GET = %v, want ErrUnavailable (breaker open)", err)
			}

			p.Restore()
			deadline := time.Now().Add(10 * time.Second)
			for {
				v, err := rdb.Get(ctx, key).Result()
				if err == nil && v == "v" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET still fails 10s after Redis came back: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
