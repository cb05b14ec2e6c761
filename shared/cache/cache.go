// Package cache connects to the platform's Redis, which holds page and
// fragment caches, rate-limit counters and short-lived grant checks. Nothing
// in Redis is the only copy of anything: callers fall through to PostgreSQL
// when it is down, and checks that depend on it fail closed.
package cache

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts of every Redis call. Redis answers in well under a millisecond
// on the platform's network, so a call that takes longer than these is a
// Redis that is away (they are several times shorter than go-redis's
// defaults, and wide enough that a busy machine does not open the breaker
// by itself); the breaker then keeps every other call from waiting at all.
const (
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 300 * time.Millisecond
)

// Open returns a client for redisURL (redis:// or rediss://). Like the
// database pool it connects lazily and reconnects by itself. Its timeouts
// are short and a circuit breaker stands in front of it (see Breaker): while
// Redis is away every call fails at once with ErrUnavailable instead of
// waiting out a timeout, so a page costs no more than it would without a
// cache. It returns an error only for a malformed URL.
func Open(redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("cache: parse REDIS_URL: %w", err)
	}
	opts.DialTimeout = dialTimeout
	opts.ReadTimeout = ioTimeout
	opts.WriteTimeout = ioTimeout
	// One retry on a fresh connection covers a pooled connection that the
	// server closed while idle (a Redis restart); the breaker keeps retries
	// from doubling every wait while Redis is away.
	opts.MaxRetries = 1
	// Waiting for a free connection is bounded like a call.
	opts.PoolTimeout = dialTimeout + ioTimeout
	rdb := redis.NewClient(opts)
	rdb.AddHook(NewBreaker())
	return rdb, nil
}

// Namespace prefixes every Redis key the platform writes, so that several
// deployments (or test runs) can share one Redis without seeing each
// other's sessions, caches or counters.
type Namespace string

// Key joins parts under the namespace: Namespace("roseash").Key("session", "blog")
// is "roseash:session:blog".
func (n Namespace) Key(parts ...string) string {
	return string(n) + ":" + strings.Join(parts, ":")
}
