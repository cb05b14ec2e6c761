package delivery

import (
	"math/rand/v2"
	"time"
)

// The default numbers, anchored on what Mastodon and GoToSocial do (see
// docs/DECISIONS.md, "ActivityPub delivery").
const (
	// DefaultMaxAttempts is how many times one delivery is tried: with the
	// backoff below the last try comes about 2.7 days after the first, the
	// span Mastodon's 16 attempts cover.
	DefaultMaxAttempts = 16
	// DefaultBackoffBase is the wait after the first failure; it doubles
	// with every further failure.
	DefaultBackoffBase = 30 * time.Second
	// DefaultBackoffMax caps one wait (and a Retry-After).
	DefaultBackoffMax = 12 * time.Hour
	// DefaultBreakerFailures consecutive failures (5xx or network errors)
	// open a host's breaker, as Mastodon opens one per inbox after 10.
	DefaultBreakerFailures = 10
	// DefaultBreakerCooldown is how long an open breaker stops all
	// requests to its host before one probe is let through.
	DefaultBreakerCooldown = 10 * time.Minute
	// DefaultHostConcurrency bounds simultaneous requests to one host per
	// process (the SSRF-safe client keeps 8 idle connections per host).
	DefaultHostConcurrency = 8
	// DefaultHostWait is how long a delivery waits for a free slot of its
	// host before it is snoozed instead, freeing the worker.
	DefaultHostWait = 2 * time.Second
	// DefaultTimeout bounds one delivery attempt: the request and its
	// bookkeeping.
	DefaultTimeout = 30 * time.Second
	// DefaultGiveUpAfter is how old a delivery may grow while its host's
	// breaker stays open before it is given up (waiting on an open breaker
	// costs no attempts).
	DefaultGiveUpAfter = 72 * time.Hour
	// DefaultBatchSize is how many delivery jobs a fan-out inserts at once.
	DefaultBatchSize = 1000
)

// Config holds the delivery numbers. A zero field takes its default
// (the Default* constants); tests shorten them.
type Config struct {
	// MaxAttempts is how many times a delivery is tried before it is
	// marked failed (DefaultMaxAttempts).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the wait before retry n (n = 1 after
	// the first failure): min(BackoffBase * 2^(n-1), BackoffMax), times a
	// random factor in [0.75, 1.25), capped again at BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// BreakerFailures consecutive failures of a host open its breaker
	// (DefaultBreakerFailures).
	BreakerFailures int
	// BreakerCooldown is how long an open breaker stays open
	// (DefaultBreakerCooldown).
	BreakerCooldown time.Duration
	// HostConcurrency bounds simultaneous requests to one host
	// (DefaultHostConcurrency).
	HostConcurrency int
	// HostWait is how long a delivery waits for a slot of its host before
	// being snoozed (DefaultHostWait).
	HostWait time.Duration
	// Timeout bounds one delivery attempt (DefaultTimeout).
	Timeout time.Duration
	// GiveUpAfter is the age at which a delivery held back by an open
	// breaker is given up (DefaultGiveUpAfter).
	GiveUpAfter time.Duration
	// BatchSize is how many jobs a fan-out inserts per statement
	// (DefaultBatchSize).
	BatchSize int
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&c.MaxAttempts, DefaultMaxAttempts)
	def(&c.BackoffBase, DefaultBackoffBase)
	def(&c.BackoffMax, DefaultBackoffMax)
	defInt(&c.BreakerFailures, DefaultBreakerFailures)
	def(&c.BreakerCooldown, DefaultBreakerCooldown)
	defInt(&c.HostConcurrency, DefaultHostConcurrency)
	def(&c.HostWait, DefaultHostWait)
	def(&c.Timeout, DefaultTimeout)
	def(&c.GiveUpAfter, DefaultGiveUpAfter)
	defInt(&c.BatchSize, DefaultBatchSize)
	return c
}

// Backoff returns the wait before the retry that follows failed attempt
// n (1-based): exponential from BackoffBase, capped at BackoffMax, with
// ±25% jitter so that deliveries that failed together do not come back
// together. c must have its defaults filled in.
func (c Config) Backoff(n int) time.Duration {
	d := c.BackoffBase
	for i := 1; i < n && d < c.BackoffMax; i++ { // doubling below the cap cannot overflow
		d *= 2
	}
	d = min(d, c.BackoffMax)
	d = time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	return min(d, c.BackoffMax)
}

// jitter returns a duration in [d, 1.5d): spreads out jobs snoozed at the
// same moment.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/2+1)
}
