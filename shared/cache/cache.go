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

// Open returns a client for redisURL (redis:// or rediss://). Like the
// database pool it connects lazily and reconnects by itself; timeouts are
// short, because a slow cache must not slow a page more than a missing one.
func Open(redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("cache: parse REDIS_URL: %w", err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = time.Second
	opts.MaxRetries = 1
	return redis.NewClient(opts), nil
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
