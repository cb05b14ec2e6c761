package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
)

func mustPool(t testing.TB, cfg mail.SMTPConfig, size int, opts ...mail.PoolOption) *mail.SMTPPool {
	t.Helper()
	p, err := mail.NewSMTPPool(cfg, size, opts...)
	if err != nil {
		t.Fatalf("NewSMTPPool: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func subscriber(i int) string { return fmt.Sprintf("reader%05d@example.com", i) }

// eventually polls cond for up to two seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolSendsManyMessagesOnFewConnections(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithCountOnly())
	const n = 2000
	pool := mustPool(t, srv.Config(from), 3, mail.PoolMaxMessages(n))
	// Never more than 3 connections open at once.
	maxOpen, stop := 0, make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			maxOpen = max(maxOpen, srv.OpenConnections())
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := pool.Send(context.Background(), listMessage(subscriber(i))); err != nil {
					t.Errorf("Send %d: %v", i, err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(stop)
	<-watched

	if maxOpen > 3 {
		t.Errorf("%d connections were open at once, want at most 3", maxOpen)
	}
	if got := srv.Total(); got != n {
		t.Fatalf("the relay received %d messages, want %d", got, n)
	}
	rcpts := srv.Recipients()
	if len(rcpts) != n {
		t.Errorf("%d distinct recipients, want %d", len(rcpts), n)
	}
	for addr, c := range rcpts {
		if c != 1 {
			t.Errorf("%s got %d messages, want 1", addr, c)
		}
	}
	if c := srv.Connections(); c < 1 || c > 3 {
		t.Errorf("%d connections for %d messages, want 1..3 (each may carry them all)", c, n)
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("a count-only server kept %d messages", len(got))
	}
}

func TestPoolRefusedRecipientDoesNotDisturbTheNext(t *testing.T) {
	srv := mailtest.Start(t)
	srv.Reject("gone@example.com", 550)
	srv.Reject("greylisted@example.com", 451)
	pool := mustPool(t, srv.Config(from), 1)
	ctx := context.Background()

	for i, c := range []struct {
		to        string
		temporary bool
		code      int
	}{
		{"first@example.com", false, 0},
		{"gone@example.com", false, 550},
		{"second@example.com", false, 0},
		{"greylisted@example.com", true, 451},
		{"third@example.com", false, 0},
	} {
		err := pool.Send(ctx, listMessage(c.to))
		if c.code == 0 {
			if err != nil {
				t.Errorf("%d: Send to %s: %v", i, c.to, err)
			}
			continue
		}
		var reply *textproto.Error
		if err == nil || !errors.As(err, &reply) || reply.Code != c.code {
			t.Errorf("%d: Send to %s = %v, want the relay's %d", i, c.to, err, c.code)
		}
		if mail.IsTemporary(err) != c.temporary {
			t.Errorf("%d: IsTemporary(%v) = %v, want %v", i, err, mail.IsTemporary(err), c.temporary)
		}
		if mail.PossiblyDelivered(err) {
			t.Errorf("%d: a refused message is reported as possibly delivered", i)
		}
	}
	for _, to := range []string{"first@example.com", "second@example.com", "third@example.com"} {
		if srv.CountTo(to) != 1 {
			t.Errorf("%s got %d messages, want 1", to, srv.CountTo(to))
		}
	}
	if srv.CountTo("gone@example.com")+srv.CountTo("greylisted@example.com") != 0 {
		t.Error("a refused recipient got a message")
	}
	if c := srv.Connections(); c != 1 {
		t.Errorf("%d connections, want 1: a refusal must not cost the connection", c)
	}
}

func TestPoolRedialsAConnectionTheRelayDropped(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 1)
	ctx := context.Background()
	if err := pool.Send(ctx, listMessage("first@example.com")); err != nil {
		t.Fatal(err)
	}
	// The relay drops its idle clients (a restart, an idle timeout).
	srv.DropConnections()
	eventually(t, "connections dropped", func() bool { return srv.OpenConnections() == 0 })

	if err := pool.Send(ctx, listMessage("second@example.com")); err != nil {
		t.Fatalf("Send after the relay dropped the connection: %v", err)
	}
	if srv.CountTo("second@example.com") != 1 {
		t.Errorf("second@ got %d messages, want exactly 1", srv.CountTo("second@example.com"))
	}
	if c := srv.Connections(); c != 2 {
		t.Errorf("%d connections, want 2 (one redial)", c)
	}
}

func TestPoolRelayDownIsTemporaryUntilItIsBack(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 2)
	ctx := context.Background()
	if err := pool.Send(ctx, listMessage("first@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	err := pool.Send(ctx, listMessage("second@example.com"))
	if err == nil {
		t.Fatal("Send while the relay is down succeeded")
	}
	if !mail.IsTemporary(err) || mail.PossiblyDelivered(err) {
		t.Errorf("relay down: IsTemporary %v, PossiblyDelivered %v (%v); want temporary, certainly not sent",
			mail.IsTemporary(err), mail.PossiblyDelivered(err), err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("error %v does not say the relay could not be reached", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Send(ctx, listMessage("second@example.com")); err != nil {
		t.Fatalf("Send once the relay is back: %v", err)
	}
	if srv.CountTo("first@example.com") != 1 || srv.CountTo("second@example.com") != 1 {
		t.Errorf("counts %v, want one each", srv.Recipients())
	}
}

func TestPoolReplacesConnectionsAfterMaxMessages(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 1, mail.PoolMaxMessages(3))
	for i := range 7 {
		if err := pool.Send(context.Background(), listMessage(subscriber(i))); err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Connections(); c != 3 {
		t.Errorf("%d connections for 7 messages at 3 per connection, want 3", c)
	}
	eventually(t, "replaced connections closed", func() bool { return srv.OpenConnections() == 1 })
}

func TestPoolClosesIdleConnections(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 2, mail.PoolIdleTimeout(100*time.Millisecond))
	if err := pool.Send(context.Background(), listMessage("first@example.com")); err != nil {
		t.Fatal(err)
	}
	if pool.Idle() != 1 || srv.OpenConnections() != 1 {
		t.Fatalf("after a send: %d idle, %d open at the relay; want 1", pool.Idle(), srv.OpenConnections())
	}
	eventually(t, "idle connection closed", func() bool { return srv.OpenConnections() == 0 && pool.Idle() == 0 })
	if err := pool.Send(context.Background(), listMessage("second@example.com")); err != nil {
		t.Fatalf("Send after the idle connection was closed: %v", err)
	}
	if c := srv.Connections(); c != 2 {
		t.Errorf("%d connections, want 2", c)
	}
}

func TestPoolCloseReleasesConnections(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 3)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if err := pool.Send(context.Background(), listMessage(subscriber(i))); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "connections closed", func() bool { return srv.OpenConnections() == 0 })
	err := pool.Send(context.Background(), listMessage("late@example.com"))
	if !errors.Is(err, mail.ErrClosed) || !mail.IsTemporary(err) {
		t.Errorf("Send after Close = %v (temporary %v), want ErrClosed, temporary", err, mail.IsTemporary(err))
	}
	if err := pool.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if srv.Total() != 30 {
		t.Errorf("%d messages, want 30", srv.Total())
	}
}

func TestPoolOverSTARTTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "pool-pass"))
	pool := mustPool(t, srv.Config(from), 1)
	for i := range 5 {
		if err := pool.Send(context.Background(), listMessage(subscriber(i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	for i := range 5 {
		got := srv.WaitFor(t, subscriber(i), 5*time.Second)
		if !got.TLS || got.Username != "mailer" {
			t.Errorf("message %d: TLS %v, user %q", i, got.TLS, got.Username)
		}
	}
	if c := srv.Connections(); c != 1 {
		t.Errorf("%d connections, want 1", c)
	}

	wrong := srv.Config(from)
	wrong.Password = "not-the-pool-pass"
	bad := mustPool(t, wrong, 1)
	err := bad.Send(context.Background(), listMessage("ada@example.com"))
	if err == nil || mail.IsTemporary(err) || strings.Contains(err.Error(), wrong.Password) {
		t.Errorf("wrong password: %v (temporary %v); want a permanent error without the password", err, mail.IsTemporary(err))
	}
}

func TestPoolRefusesInvalidMessagesAndDoneContexts(t *testing.T) {
	srv := mailtest.Start(t)
	pool := mustPool(t, srv.Config(from), 1)
	m := listMessage("ada@example.com")
	m.Subject = "two\nlines"
	if err := pool.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) || mail.IsTemporary(err) {
		t.Errorf("invalid message: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool.Send(ctx, listMessage("ada@example.com")); !errors.Is(err, context.Canceled) || !mail.IsTemporary(err) {
		t.Errorf("cancelled context: %v", err)
	}
	if srv.Total() != 0 || srv.Connections() != 0 {
		t.Errorf("%d messages on %d connections, want none", srv.Total(), srv.Connections())
	}
}

func TestNewSMTPPoolRefusesBadSettings(t *testing.T) {
	good := mail.SMTPConfig{Host: "mail.example.com", From: from}
	for name, try := range map[string]func() (*mail.SMTPPool, error){
		"size 0":      func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(good, 0) },
		"size 101":    func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(good, 101) },
		"no host":     func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(mail.SMTPConfig{From: from}, 2) },
		"0 messages":  func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(good, 2, mail.PoolMaxMessages(0)) },
		"idle 0":      func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(good, 2, mail.PoolIdleTimeout(0)) },
		"bad from":    func() (*mail.SMTPPool, error) { return mail.NewSMTPPool(mail.SMTPConfig{Host: "h", From: "x"}, 2) },
		"bad tls":     func() (*mail.SMTPPool, error) { c := good; c.TLS = "ssl"; return mail.NewSMTPPool(c, 2) },
		"neg timeout": func() (*mail.SMTPPool, error) { c := good; c.Timeout = -1; return mail.NewSMTPPool(c, 2) },
	} {
		if p, err := try(); err == nil {
			p.Close()
			t.Errorf("%s: NewSMTPPool succeeded", name)
		}
	}
	p, err := mail.NewSMTPPool(good, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.String(); got != "pool of 4 to smtp://mail.example.com:587 (starttls)" {
		t.Errorf("String() = %q", got)
	}
}

func TestConnectionLostAfterTheMessageIsPossiblyDelivered(t *testing.T) {
	srv := mailtest.Start(t)
	srv.LoseReply("ada@example.com", true)
	single, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	pool := mustPool(t, srv.Config(from), 1)
	for name, sender := range map[string]mail.Sender{"smtp": single, "pool": pool} {
		err := sender.Send(context.Background(), listMessage("ada@example.com"))
		if err == nil {
			t.Fatalf("%s: Send succeeded without the relay's reply", name)
		}
		if !mail.IsTemporary(err) || !mail.PossiblyDelivered(err) {
			t.Errorf("%s: %v: IsTemporary %v, PossiblyDelivered %v; want both", name, err,
				mail.IsTemporary(err), mail.PossiblyDelivered(err))
		}
	}
	// The relay did get them; the pool did not send the message again.
	if got := srv.CountTo("ada@example.com"); got != 2 {
		t.Errorf("the relay got %d messages, want 2 (one per sender, no resend)", got)
	}
	// The pool goes on with a new connection.
	srv.LoseReply("ada@example.com", false)
	if err := pool.Send(context.Background(), listMessage("ada@example.com")); err != nil {
		t.Errorf("Send after a lost reply: %v", err)
	}
	if mail.PossiblyDelivered(nil) {
		t.Error("PossiblyDelivered(nil) = true")
	}
}
