package mailtest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
)

const from = "Rose Ash <noreply@rose-ash.test>"

func message(to string) mail.Message {
	return mail.Message{To: to, Subject: "Rose Ash news", Text: "The winter market opens on Saturday.\n"}
}

func send(t *testing.T, s mail.Sender, to string) {
	t.Helper()
	if err := s.Send(context.Background(), message(to)); err != nil {
		t.Fatalf("Send to %s: %v", to, err)
	}
}

func TestCountsMessagesPerRecipient(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	send(t, sender, "Ada@Example.com")
	send(t, sender, "ada@example.com")
	send(t, sender, "grace@example.com")

	if got := srv.CountTo("ADA@example.com"); got != 2 {
		t.Errorf("CountTo(ada) = %d, want 2 (addresses compared without case)", got)
	}
	if got := srv.CountTo("nobody@example.com"); got != 0 {
		t.Errorf("CountTo(nobody) = %d", got)
	}
	rcpts := srv.Recipients()
	if len(rcpts) != 2 || rcpts["ada@example.com"] != 2 || rcpts["grace@example.com"] != 1 {
		t.Errorf("Recipients() = %v", rcpts)
	}
	rcpts["ada@example.com"] = 99 // a copy: the server's count is untouched
	if srv.CountTo("ada@example.com") != 2 {
		t.Error("Recipients returned the server's own map")
	}
	if srv.Total() != 3 || srv.WaitTotal(t, 3, time.Second) != 3 {
		t.Errorf("Total() = %d, want 3", srv.Total())
	}
	// Kept messages still work as before.
	if got := srv.WaitFor(t, "grace@example.com", time.Second); got.Subject != "Rose Ash news" {
		t.Errorf("WaitFor = %+v", got)
	}
	if len(srv.Messages()) != 3 {
		t.Errorf("Messages() has %d, want 3", len(srv.Messages()))
	}
	if srv.Connections() != 3 {
		t.Errorf("Connections() = %d, want 3 (one per SMTPSender.Send)", srv.Connections())
	}
}

func TestCountOnlyKeepsNoMessages(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithCountOnly())
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	srv.Reject("gone@example.com", 550)
	for range 5 {
		send(t, sender, "ada@example.com")
	}
	if err := sender.Send(context.Background(), message("gone@example.com")); err == nil {
		t.Error("a rejected recipient was accepted in count-only mode")
	}
	if srv.CountTo("ada@example.com") != 5 || srv.Total() != 5 || srv.CountTo("gone@example.com") != 0 {
		t.Errorf("counts %v, total %d", srv.Recipients(), srv.Total())
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("Messages() kept %d messages", n)
	}
}

func TestWaitTotalWaitsForLateMessages(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		for _, to := range []string{"a@example.com", "b@example.com"} {
			_ = sender.Send(context.Background(), message(to))
		}
	}()
	if got := srv.WaitTotal(t, 2, 5*time.Second); got != 2 {
		t.Errorf("WaitTotal = %d", got)
	}
}

func TestStopRefusesConnectionsUntilRestart(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	send(t, sender, "before@example.com")
	addr := srv.Addr()

	srv.Stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a stopped server accepted a connection")
	}
	err = sender.Send(context.Background(), message("during@example.com"))
	if err == nil || !mail.IsTemporary(err) {
		t.Errorf("Send to a stopped server = %v, want a temporary error", err)
	}
	srv.Stop() // stopping twice is harmless

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Errorf("restarted on %s, want %s", srv.Addr(), addr)
	}
	send(t, sender, "after@example.com")
	if err := srv.Restart(); err != nil { // restarting a running server is harmless
		t.Errorf("Restart while running: %v", err)
	}
	// What came before the stop is still there.
	if srv.CountTo("before@example.com") != 1 || srv.CountTo("after@example.com") != 1 || srv.Total() != 2 {
		t.Errorf("counts %v", srv.Recipients())
	}
	srv.WaitFor(t, "before@example.com", time.Second)
}

func TestStopCutsOpenConnections(t *testing.T) {
	srv := mailtest.Start(t)
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	greeting := make([]byte, 3)
	if _, err := c.Read(greeting); err != nil || string(greeting) != "220" {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	if srv.OpenConnections() != 1 {
		t.Errorf("OpenConnections() = %d, want 1", srv.OpenConnections())
	}
	srv.Stop()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the connection stayed open after Stop")
			}
			break // closed by the server
		}
	}
	if srv.OpenConnections() != 0 {
		t.Errorf("OpenConnections() = %d after Stop", srv.OpenConnections())
	}
}

func TestDropConnectionsKeepsListening(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS())
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for srv.OpenConnections() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.DropConnections()
	for srv.OpenConnections() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if srv.OpenConnections() != 0 {
		t.Fatalf("OpenConnections() = %d after DropConnections", srv.OpenConnections())
	}
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		t.Fatal(err)
	}
	send(t, sender, "ada@example.com")
	if got := srv.WaitFor(t, "ada@example.com", time.Second); !got.TLS {
		t.Error("delivery after DropConnections was not over TLS")
	}
	if srv.Connections() != 2 {
		t.Errorf("Connections() = %d, want 2", srv.Connections())
	}
}
