package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Buffered collects log lines in memory and writes them out in batches, at
// least every flushEvery and whenever 64 KB are waiting. One write system
// call per request line was a measurable share of a cached page's cost.
// Lines still buffered are lost if the process is killed outright; a
// service flushes on every normal exit (Close).
type Buffered struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 100 * time.Millisecond

// NewBuffered returns a buffered writer on w and starts its flusher.
func NewBuffered(w io.Writer) *Buffered {
	b := &Buffered{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushLoop()
	return b
}

// Write buffers p.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out everything buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the flusher and writes out what is left.
func (b *Buffered) Close() error {
	close(b.stop)
	<-b.done
	return b.Flush()
}

func (b *Buffered) flushLoop() {
	defer close(b.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_ = b.Flush()
		}
	}
}
