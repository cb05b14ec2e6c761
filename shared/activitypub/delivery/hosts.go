package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Outcomes reported to a host's breaker besides success (nil).
var (
	// errHostFailed counts towards opening the breaker: a 5xx, a timeout,
	// a refused connection.
	errHostFailed = errors.New("delivery: host failed")
	// errNotCounted leaves the breaker's counts alone: a 429 (the host is
	// up, and its Retry-After is honoured per delivery), our own shutdown,
	// a signing failure.
	errNotCounted = errors.New("delivery: outcome not counted")
)

// host is what this process knows of one remote host: its breaker and the
// slots bounding concurrent requests to it. Both are per process; with
// several replicas each keeps its own, which is enough to stop hammering.
type host struct {
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	slots   chan struct{}

	mu        sync.Mutex
	openUntil time.Time // when the breaker last opened, plus the cool-down
}

// hosts holds a host per host name, created on first use. It grows with
// the number of distinct hosts delivered to, which ap_actors bounds.
type hosts struct {
	cfg    Config
	logger *slog.Logger

	mu sync.Mutex
	m  map[string]*host
}

func newHosts(cfg Config, logger *slog.Logger) *hosts {
	return &hosts{cfg: cfg, logger: logger, m: map[string]*host{}}
}

// get returns name's host, creating it.
func (hs *hosts) get(name string) *host {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h, ok := hs.m[name]; ok {
		return h
	}
	h := &host{slots: make(chan struct{}, hs.cfg.HostConcurrency)}
	threshold := uint32(hs.cfg.BreakerFailures)
	h.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe when the cool-down ends
		Timeout:     hs.cfg.BreakerCooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsSuccessful: func(err error) bool {
			return err == nil
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				h.mu.Lock()
				h.openUntil = time.Now().Add(hs.cfg.BreakerCooldown)
				h.mu.Unlock()
				hs.logger.Warn("delivery: host unreachable; holding its deliveries", "host", name,
					"cooldown", hs.cfg.BreakerCooldown)
			} else if to == gobreaker.StateClosed {
				hs.logger.Info("delivery: host reachable again", "host", name)
			}
		},
	})
	hs.m[name] = h
	return h
}

// acquire takes one of h's slots, waiting at most wait; false when none
// came free (or ctx ended).
func (h *host) acquire(ctx context.Context, wait time.Duration) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (h *host) release() { <-h.slots }

// reopensIn is how long until the open breaker lets a probe through.
func (h *host) reopensIn() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(time.Until(h.openUntil), 0)
}
