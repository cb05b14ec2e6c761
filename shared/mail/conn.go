package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// smtpConn is one open, authenticated connection to the relay. One
// goroutine uses it at a time.
type smtpConn struct {
	c       *smtp.Client
	tcp     net.Conn // under c (and under TLS): for deadlines and closing
	timeout time.Duration
	opened  time.Time
	used    time.Time // when the last message on it finished
	sent    int       // messages tried on it
	broken  bool      // a connection fault happened: close it, never reuse it
}

// stage says how far a delivery got when it failed.
type stage int

const (
	// stageEnvelope: MAIL FROM, RCPT TO or the DATA command; the server
	// has none of the message yet, so sending it again cannot deliver it
	// twice.
	stageEnvelope stage = iota
	// stageReply: the message was written; the server may have accepted
	// it even if its reply was lost.
	stageReply
)

// connLostError is a connection fault during a delivery: the server closed
// the connection, it was reset, or it timed out. It is temporary.
// afterData marks one after the message was written and before the
// relay's reply to it: the relay may have accepted the message.
type connLostError struct {
	err       error
	afterData bool
}

// PossiblyDelivered reports whether a failed Send may nevertheless have
// delivered the message: true only when the connection was lost, or ctx
// ended, after the whole message was written and before the relay
// replied to it. For every other error (refused, relay unreachable,
// connection lost earlier in the conversation, invalid message) the
// message certainly did not go, so sending it again cannot make a
// duplicate. False for nil.
func PossiblyDelivered(err error) bool {
	var lost connLostError
	return errors.As(err, &lost) && lost.afterData
}

func (e connLostError) Error() string { return "connection lost: " + e.err.Error() }
func (e connLostError) Unwrap() error { return e.err }

// deliver sends one message on the connection: MAIL FROM, RCPT TO, DATA
// with raw as it is. A refusal (an SMTP reply) leaves the connection
// usable for the next message: the transaction is reset with RSET. A
// connection fault marks the connection broken and comes back as a
// connLostError; ctx ending cuts the conversation short, marks the
// connection broken and comes back wrapping ctx's error. The stage tells
// the pool whether sending again on a new connection could deliver twice.
func (c *smtpConn) deliver(ctx context.Context, from, to string, raw []byte) (stage, error) {
	c.sent++
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.tcp.SetDeadline(deadline); err != nil {
		c.broken = true
		return stageEnvelope, connLostError{err: err}
	}
	// Cancelling ctx (shutdown) ends the conversation at once rather than
	// at the deadline: a deadline in the past fails the pending read or
	// write.
	stop := context.AfterFunc(ctx, func() { _ = c.tcp.SetDeadline(time.Unix(1, 0)) })
	st, err := c.transaction(from, to, raw)
	cut := !stop()
	c.used = time.Now()
	if cut {
		c.broken = true
		if err != nil {
			return st, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
	}
	return st, err
}

func (c *smtpConn) transaction(from, to string, raw []byte) (stage, error) {
	if err := c.c.Mail(from); err != nil {
		return stageEnvelope, c.refused("mail from", err)
	}
	if err := c.c.Rcpt(to); err != nil {
		return stageEnvelope, c.refused("rcpt to", err)
	}
	w, err := c.c.Data()
	if err != nil {
		return stageEnvelope, c.refused("data", err)
	}
	if _, err := w.Write(raw); err != nil {
		c.broken = true
		w.Close()
		// Not all of it reached the relay, which discards a message cut
		// short.
		return stageEnvelope, connLostError{err: fmt.Errorf("writing message: %w", err)}
	}
	if err := w.Close(); err != nil {
		err = c.refused("end of data", err)
		var lost connLostError
		if errors.As(err, &lost) {
			lost.afterData = true
			err = lost
		}
		return stageReply, err
	}
	return stageReply, nil
}

// refused describes a failed command. An SMTP reply keeps the connection
// (after RSET, so the next message starts a clean transaction) unless it
// is 421, the server closing it; anything else is a connection fault.
func (c *smtpConn) refused(command string, err error) error {
	err = fmt.Errorf("%s: %w", command, err)
	var reply *textproto.Error
	if !errors.As(err, &reply) {
		c.broken = true
		return connLostError{err: err}
	}
	if reply.Code == 421 {
		c.broken = true
		return err
	}
	if rerr := c.c.Reset(); rerr != nil {
		c.broken = true
	}
	return err
}

// close says QUIT to a healthy connection and closes it; a broken one is
// closed at once.
func (c *smtpConn) close() {
	if !c.broken {
		_ = c.tcp.SetDeadline(time.Now().Add(min(c.timeout, 5*time.Second)))
		if c.c.Quit() == nil {
			return
		}
	}
	_ = c.tcp.Close()
}
