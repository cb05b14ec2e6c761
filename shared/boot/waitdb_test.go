package boot

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// lockedBuffer is a log destination safe for the waiting goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// viaHost returns databaseURL with its host:port replaced.
func viaHost(t *testing.T, databaseURL, hostPort string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostPort
	return u.String()
}

func TestWaitForPostgresReturnsAtOnceWhenUp(t *testing.T) {
	var logs lockedBuffer
	start := time.Now()
	if err := WaitForPostgres(context.Background(), pgtest.AdminURL(), 10*time.Second, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("WaitForPostgres: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s with PostgreSQL up, want at once", took)
	}
	if strings.Contains(logs.String(), "waiting") {
		t.Errorf("logged %q with PostgreSQL up, want nothing about waiting", logs.String())
	}
}

// PostgreSQL that comes up during the wait is used as soon as it answers,
// and the wait is logged naming its address.
func TestWaitForPostgresWaitsForPostgreSQLToComeUp(t *testing.T) {
	admin, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.MustStart(t, admin.Host)
	proxy.Cut()
	time.AfterFunc(1500*time.Millisecond, proxy.Restore)
	var logs lockedBuffer
	start := time.Now()
	err = WaitForPostgres(context.Background(), viaHost(t, pgtest.AdminURL(), proxy.Addr()), 20*time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("WaitForPostgres: %v\n%s", err, logs.String())
	}
	if took := time.Since(start); took < time.Second || took > 8*time.Second {
		t.Errorf("returned after %s, want soon after PostgreSQL came up at 1.5s", took)
	}
	if !strings.Contains(logs.String(), "waiting for PostgreSQL at "+proxy.Addr()) {
		t.Errorf("log %q does not say it is waiting for PostgreSQL at %s", logs.String(), proxy.Addr())
	}
}

// With nothing at the address, it gives up after the wait with an error
// naming the address and the setting.
func TestWaitForPostgresGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs lockedBuffer
	start := time.Now()
	err = WaitForPostgres(context.Background(), "postgres://postgres@"+addr+"/roseash?sslmode=disable", 1500*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL at "+addr+" did not accept connections within 1.5s (DATABASE_WAIT)") {
		t.Fatalf("WaitForPostgres: %v, want it to give up naming %s and DATABASE_WAIT", err, addr)
	}
	if took < 1400*time.Millisecond || took > 5*time.Second {
		t.Errorf("gave up after %s, want about 1.5s", took)
	}
	if !strings.Contains(logs.String(), "waiting for PostgreSQL at "+addr) {
		t.Errorf("log %q does not say it is waiting", logs.String())
	}
}

// A server that answers "no such database" will not change its mind: that is
// reported at once rather than after the whole wait.
func TestWaitForPostgresFailsFastOnARefusal(t *testing.T) {
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/roseash_no_such_database_for_waitdb"
	start := time.Now()
	err = WaitForPostgres(context.Background(), u.String(), 30*time.Second, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "refused the connection") || !strings.Contains(err.Error(), "roseash_no_such_database_for_waitdb") {
		t.Fatalf("WaitForPostgres: %v, want a refusal naming the missing database", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s, want an immediate answer", took)
	}
}

// Stopping the service while it waits ends the wait with ctx's error.
func TestWaitForPostgresStopsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = WaitForPostgres(ctx, "postgres://postgres@"+addr+"/roseash?sslmode=disable", time.Minute, slog.New(slog.DiscardHandler))
	if err != context.DeadlineExceeded {
		t.Fatalf("WaitForPostgres: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s after its context ended, want at once", took)
	}
}

func TestDatabaseWait(t *testing.T) {
	for v, want := range map[string]time.Duration{"": DefaultDatabaseWait, "90s": 90 * time.Second, "0": 0, "2m": 2 * time.Minute} {
		got, err := DatabaseWait(func(string) string { return v })
		if err != nil || got != want {
			t.Errorf("DATABASE_WAIT=%q: %s, %v; want %s", v, got, err, want)
		}
	}
	for _, v := range []string{"soon", "-5s", "60"} {
		if _, err := DatabaseWait(func(string) string { return v }); err == nil || !strings.Contains(err.Error(), "DATABASE_WAIT") {
			t.Errorf("DATABASE_WAIT=%q: %v, want an error naming DATABASE_WAIT", v, err)
		}
	}
}
