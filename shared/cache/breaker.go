package cache

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrUnavailable is returned (wrapped) by every Redis call made while the
// breaker is open: Redis failed several calls in a row and is not asked
// again until a probe call succeeds.
var ErrUnavailable = errors.New("cache: redis unavailable (circuit open)")

// Breaker settings. Three failures in a row (refused connections or
// timeouts, not missing keys or error replies) open the circuit; after
// breakerOpen one call at a time probes Redis, and its success closes it.
const (
	breakerTrip = 3
	breakerOpen = time.Second
)

// Breaker is a go-redis hook that fails every call at once while Redis is
// away, so that sessions, caches and rate limits do not each wait out a
// timeout on every request. Callers see errors wrapping ErrUnavailable:
// caches fall through to their source, checks that need Redis fail closed.
type Breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}]
}

// NewBreaker returns a breaker hook for one client (Open adds one); state
// changes are logged through slog's default logger, which the services set
// up at start.
func NewBreaker() *Breaker {
	return &Breaker{cb: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     breakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= breakerTrip },
		IsSuccessful: func(err error) bool {
			return !redisAway(err)
		},
		IsExcluded: func(err error) bool {
			// The caller gave up (the visitor went away): says nothing about Redis.
			return errors.Is(err, context.Canceled)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Logged when Redis goes away and when it is back, not at
			// each failed probe (one a second).
			switch {
			case from == gobreaker.StateClosed && to == gobreaker.StateOpen:
				slog.Warn("redis unavailable: calls fail at once until it answers again")
			case to == gobreaker.StateClosed:
				slog.Info("redis answers again")
			}
		},
	})}
}

// redisAway reports whether err means Redis could not be reached or did
// not answer in time, as opposed to an answer (a missing key, an error
// reply such as WRONGTYPE), which proves Redis is there.
func redisAway(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		// An answer from the server; but one still loading its data or a
		// cluster that is down cannot serve.
		msg := reply.Error()
		return strings.HasPrefix(msg, "LOADING") || strings.HasPrefix(msg, "CLUSTERDOWN")
	}
	// Anything else (refused, reset, timed out, pool exhausted, client
	// closed) is a Redis that did not answer.
	return true
}

// guarded marks the context of a call the breaker let through: go-redis
// sets up a new connection (HELLO, SELECT, CLIENT SETINFO) with calls
// that pass through the hooks again, and those are part of the call, not
// calls of their own (in the half-open state they would be refused).
type guarded struct{}

func (b *Breaker) run(ctx context.Context, call func(context.Context) error) error {
	if ctx.Value(guarded{}) != nil {
		return call(ctx)
	}
	_, err := b.cb.Execute(func() (struct{}, error) {
		return struct{}{}, call(context.WithValue(ctx, guarded{}, true))
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return errors.Join(ErrUnavailable, err)
	}
	return err
}

// DialHook passes dials through: a dial happens inside a call, which the
// breaker already guards.
func (b *Breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook guards one command.
func (b *Breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := b.run(ctx, func(ctx context.Context) error { return next(ctx, cmd) })
		if errors.Is(err, ErrUnavailable) {
			cmd.SetErr(err)
		}
		return err
	}
}

// ProcessPipelineHook guards a pipeline (or transaction) as one call.
func (b *Breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := b.run(ctx, func(ctx context.Context) error { return next(ctx, cmds) })
		if errors.Is(err, ErrUnavailable) {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
		}
		return err
	}
}
