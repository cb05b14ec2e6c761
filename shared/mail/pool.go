package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of an SMTPPool's connections.
const (
	// DefaultPoolMaxMessages is how many messages one connection carries
	// before the pool replaces it: relays cap messages per connection
	// (Postfix's smtpd default is 100 recipients per transaction, many
	// hosted relays a few hundred messages per session).
	DefaultPoolMaxMessages = 500
	// DefaultPoolIdleTimeout is how long an unused connection is kept
	// open: relays drop idle clients after 60 to 300 seconds.
	DefaultPoolIdleTimeout = 30 * time.Second
)

// ErrClosed is in the chain of the error Send returns after Close: the
// message was not sent. IsTemporary reports it as temporary (another
// replica, or this one after a restart, can send it).
var ErrClosed = errors.New("mail: sender is closed")

// PoolOption changes how NewSMTPPool's connections are kept.
type PoolOption func(*SMTPPool)

// PoolMaxMessages makes each connection carry at most n messages (n >= 1)
// before it is closed and replaced; DefaultPoolMaxMessages otherwise.
func PoolMaxMessages(n int) PoolOption {
	return func(p *SMTPPool) { p.maxMessages = n }
}

// PoolIdleTimeout closes connections unused for d (d > 0);
// DefaultPoolIdleTimeout otherwise.
func PoolIdleTimeout(d time.Duration) PoolOption {
	return func(p *SMTPPool) { p.idleTimeout = d }
}

// SMTPPool is the Sender for many messages (newsletters): it keeps up to
// size connections to the relay open and sends message after message on
// each (MAIL FROM, RCPT TO, DATA per message), so that a caller sending
// from several goroutines at once has up to size deliveries in flight.
// Every message gets its own result, classified by IsTemporary exactly as
// with SMTPSender: a relay refusing one recipient (4xx or 5xx) does not
// disturb the connection for the next message. A connection is replaced
// after a connection fault, after PoolMaxMessages messages and after
// PoolIdleTimeout unused. A reused connection found dropped by the relay
// is redialled once for the message before it is reported as a temporary
// failure. It is safe for concurrent use; Close releases the connections.
type SMTPPool struct {
	s           *SMTPSender
	size        int
	maxMessages int
	idleTimeout time.Duration

	// slots holds one token per connection in use or being dialled: at
	// most size. Idle connections hold none, and a connection is dialled
	// only when none is idle, so at most size are ever open.
	slots chan struct{}
	done  chan struct{} // closed by Close

	mu       sync.Mutex
	idle     []*smtpConn // most recently used last
	closed   bool
	inFlight sync.WaitGroup // Sends past the closed check
	reaped   sync.WaitGroup // the goroutine closing idle connections
}

// NewSMTPPool checks cfg as NewSMTP does and returns a pool of at most
// size connections (1..100). It does not connect: connections are opened
// as Sends need them. It returns NewSMTP's errors, and an error for a
// size or option out of range.
func NewSMTPPool(cfg SMTPConfig, size int, opts ...PoolOption) (*SMTPPool, error) {
	s, err := NewSMTP(cfg)
	if err != nil {
		return nil, err
	}
	if size < 1 || size > 100 {
		return nil, fmt.Errorf("mail: smtp pool size %d: must be 1..100", size)
	}
	p := &SMTPPool{
		s:           s,
		size:        size,
		maxMessages: DefaultPoolMaxMessages,
		idleTimeout: DefaultPoolIdleTimeout,
		slots:       make(chan struct{}, size),
		done:        make(chan struct{}),
	}
	for _, opt := range opts {
		opt(p)
	}
	if p.maxMessages < 1 {
		return nil, fmt.Errorf("mail: smtp pool messages per connection %d: must be at least 1", p.maxMessages)
	}
	if p.idleTimeout <= 0 {
		return nil, fmt.Errorf("mail: smtp pool idle timeout %s: must be positive", p.idleTimeout)
	}
	p.reaped.Add(1)
	go p.reapIdle()
	return p, nil
}

// String describes the pool without the password, e.g.
// "pool of 4 to smtp://user@mail.example.com:587 (starttls)".
func (p *SMTPPool) String() string { return fmt.Sprintf("pool of %d to %s", p.size, p.s.cfg) }

// Send delivers m on one of the pool's connections, signed when the
// config's DKIM is set, waiting for a free connection if all size are
// busy. It returns an error wrapping ErrInvalidMessage for an invalid
// message (nothing is sent); ctx's error if ctx ends before or while
// sending (the message may then still have been delivered if ctx ended
// after it was written); an error wrapping ErrClosed after Close; and
// otherwise the relay's refusal of this message or the connection fault,
// described without the password. IsTemporary tells whether a retry may
// succeed.
func (p *SMTPPool) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("mail: checking message: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: sending via %s: %w", p.s.cfg, err)
	}
	// Rendering and signing take most of the CPU time of a message: they
	// happen before a connection is taken, so that the connections only
	// wait on the network.
	raw, rcpt, err := render(p.s.from, p.s.cfg.DKIM, m, time.Now())
	if err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer p.inFlight.Done()
	for attempt := 1; ; attempt++ {
		// The second try goes on a new connection: the other idle ones
		// are likely to have been dropped too.
		c, err := p.acquire(ctx, attempt > 1)
		if err != nil {
			return p.s.sendError(err)
		}
		reused := c.sent > 0
		st, err := c.deliver(ctx, p.s.from.Address, rcpt, raw)
		p.release(c)
		if err == nil {
			return nil
		}
		// A connection that sat unused may have been dropped by the relay
		// (an idle timeout, a restart) without our noticing: that shows
		// only on the first command, before the relay has any of the
		// message, so one more try on a new connection cannot deliver it
		// twice. A new connection failing is reported as it is.
		if attempt == 1 && reused && c.broken && st == stageEnvelope && ctx.Err() == nil {
			continue
		}
		return p.s.sendError(err)
	}
}

// enter counts a Send in, unless the pool is closed.
func (p *SMTPPool) enter() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("mail: sending via %s: %w", p.s.cfg, ErrClosed)
	}
	p.inFlight.Add(1)
	return nil
}

// acquire returns a connection for one message, holding a slot: an idle
// one that is still fresh (unless dialNew), else a new one. It waits for a
// slot while size connections are busy.
func (p *SMTPPool) acquire(ctx context.Context, dialNew bool) (*smtpConn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, ErrClosed
	}
	var stale []*smtpConn
	var c *smtpConn
	p.mu.Lock()
	for len(p.idle) > 0 && c == nil {
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if dialNew {
			// One idle connection makes way for the new one, so that no
			// more than size are open.
			stale = append(stale, last)
			break
		}
		if p.fresh(last, time.Now()) {
			c = last
		} else {
			stale = append(stale, last)
		}
	}
	p.mu.Unlock()
	for _, s := range stale {
		s.close()
	}
	if c != nil {
		return c, nil
	}
	c, err := p.s.dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// release takes c back after a message and frees its slot: to the idle
// list while it is healthy and may carry more, closed otherwise.
func (p *SMTPPool) release(c *smtpConn) {
	p.mu.Lock()
	keep := !p.closed && !c.broken && c.sent < p.maxMessages
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		c.close()
	}
	<-p.slots
}

// fresh tells whether an idle connection may carry another message.
func (p *SMTPPool) fresh(c *smtpConn, now time.Time) bool {
	return !c.broken && c.sent < p.maxMessages && now.Sub(c.used) < p.idleTimeout
}

// reapIdle closes connections that have been idle too long, so that a pool
// kept for the process's life holds no connections between campaigns.
func (p *SMTPPool) reapIdle() {
	defer p.reaped.Done()
	tick := time.NewTicker(max(p.idleTimeout/2, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			var stale []*smtpConn
			p.mu.Lock()
			kept := p.idle[:0]
			for _, c := range p.idle {
				if p.fresh(c, now) {
					kept = append(kept, c)
				} else {
					stale = append(stale, c)
				}
			}
			clear(p.idle[len(kept):])
			p.idle = kept
			p.mu.Unlock()
			for _, c := range stale {
				c.close()
			}
		}
	}
}

// Idle returns how many connections are open and unused right now.
func (p *SMTPPool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close stops the pool: Sends waiting for a connection return ErrClosed,
// Sends under way finish (each bounded by the config's Timeout), and every
// connection is closed with QUIT. Later Sends return ErrClosed. Close is
// safe to call more than once; it always returns nil.
func (p *SMTPPool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	p.inFlight.Wait()
	p.reaped.Wait()
	return nil
}
