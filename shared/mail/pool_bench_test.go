package mail_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
)

// benchSenders is how many goroutines send at once, as the campaign
// worker does.
const benchSenders = 8

// cpuTime is the CPU time the process (client and server) has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSend sends b.N list messages through sender from benchSenders
// goroutines and reports messages per second, and the CPU time per
// message of client and server together (which other processes on the
// machine do not inflate, unlike msgs/s).
func benchSend(b *testing.B, srv *mailtest.Server, sender mail.Sender) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	for range benchSenders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := sender.Send(context.Background(), listMessage(subscriber(i))); err != nil {
					b.Errorf("Send %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	b.StopTimer()
	if got := srv.Total(); got != b.N {
		b.Fatalf("the relay received %d messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(srv.Connections()), "conns")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

// BenchmarkSendOneConnectionPerMessage is SMTPSender: connect, EHLO,
// deliver, QUIT for every message.
func BenchmarkSendOneConnectionPerMessage(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly())
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		b.Fatal(err)
	}
	benchSend(b, srv, sender)
}

// BenchmarkSendPool is SMTPPool with 4 connections.
func BenchmarkSendPool(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly())
	pool := mustPool(b, srv.Config(from), 4)
	benchSend(b, srv, pool)
}

// BenchmarkSendPoolSTARTTLS is SMTPPool with 4 connections over STARTTLS
// with AUTH, as against a real relay: the handshakes are paid once per
// connection.
func BenchmarkSendPoolSTARTTLS(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly(), mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "pw"))
	pool := mustPool(b, srv.Config(from), 4)
	benchSend(b, srv, pool)
}

// BenchmarkSendOneConnectionPerMessageSTARTTLS is SMTPSender over STARTTLS
// with AUTH: a TLS handshake per message.
func BenchmarkSendOneConnectionPerMessageSTARTTLS(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly(), mailtest.WithSTARTTLS(), mailtest.WithAuth("mailer", "pw"))
	sender, err := mail.NewSMTP(srv.Config(from))
	if err != nil {
		b.Fatal(err)
	}
	benchSend(b, srv, sender)
}

// BenchmarkSendPoolDKIM is SMTPPool with 4 connections signing every
// message with a 2048-bit RSA key (and BenchmarkSendPoolDKIMEd25519 with
// Ed25519): signing is the main CPU cost of a message.
func BenchmarkSendPoolDKIM(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly())
	cfg := srv.Config(from)
	cfg.DKIM = mustDKIM(b, rsaPEM(b))
	benchSend(b, srv, mustPool(b, cfg, 4))
}

// BenchmarkSendPoolDKIMEd25519: see BenchmarkSendPoolDKIM.
func BenchmarkSendPoolDKIMEd25519(b *testing.B) {
	srv := mailtest.Start(b, mailtest.WithCountOnly())
	cfg := srv.Config(from)
	cfg.DKIM = mustDKIM(b, ed25519PEM(b))
	benchSend(b, srv, mustPool(b, cfg, 4))
}
