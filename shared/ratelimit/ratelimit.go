// Package ratelimit counts attempts in fixed windows in Redis, so that every
// replica of a service shares one count. (go-chi/httprate keeps counts per
// process, and its Redis backend is not available here; a fixed-window
// INCR/EXPIRE is all these limits need.)
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/models"
)

// Limiter checks keys against limits.
type Limiter struct {
	rdb  *redis.Client
	keys cache.Namespace
}

// New returns a limiter counting in rdb under keys.
func New(rdb *redis.Client, keys cache.Namespace) *Limiter { return &Limiter{rdb: rdb, keys: keys} }

// Limited is the error for a key over its limit; RetryAfter says when the
// window ends.
type Limited struct {
	RetryAfter time.Duration
}

func (l *Limited) Error() string { return fmt.Sprintf("rate limited; retry after %s", l.RetryAfter) }

// Allow counts one attempt for key and returns nil while it is within limit
// attempts per window; over the limit it returns a *Limited (check with
// errors.As). When Redis cannot count, it fails closed with an EUnavailable error: an unlimited sign-in
// endpoint is worse than a briefly unavailable one.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) error {
	k := l.keys.Key("ratelimit", key)
	pipe := l.rdb.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.ExpireNX(ctx, k, window)
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil {
		return models.Wrap(models.EUnavailable, "This is unavailable for a moment. Please try again shortly.", err)
	}
	if incr.Val() > int64(limit) {
		wait := ttl.Val()
		if wait <= 0 {
			wait = window
		}
		return &Limited{RetryAfter: wait}
	}
	return nil
}
