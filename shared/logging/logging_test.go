package logging_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/logging"
)

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

// Lines reach the output on their own within the flush interval, every
// line carries its request id, and Close writes out what is left.
func TestBufferedLogsArriveAndCarryRequestIDs(t *testing.T) {
	out := &lockedBuffer{}
	buf := logging.NewBuffered(out)
	logger := logging.New(buf, "text", 0, "blog")
	logger.InfoContext(logging.WithRequestID(context.Background(), "req-1"), "hello")
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "request_id=req-1") {
		if time.Now().After(deadline) {
			t.Fatalf("buffered line never written: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	logger.Info("last words")
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "last words") || !strings.Contains(out.String(), "service=blog") {
		t.Fatalf("Close lost a line: %q", out.String())
	}
}
