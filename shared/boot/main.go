package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// RunFunc is the shape of every service's run function: it serves until ctx
// ends and returns nil after a clean shutdown.
type RunFunc func(ctx context.Context, getenv func(string) string, stdout io.Writer) error

// DefaultGCPercent is the garbage collector's target when GOGC is not set:
// twice Go's default. The services' heaps are a few megabytes, so the extra
// memory is negligible, and collection was about a tenth of a signed-in
// page's CPU at the default.
const DefaultGCPercent = 200

// TuneRuntime applies the platform's runtime settings (DefaultGCPercent
// unless the environment sets GOGC). Every server process calls it first.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

// Main is a service's main: it applies TuneRuntime, runs run with a context
// that ends on SIGINT or SIGTERM, and exits 1 with the error on stderr when
// run fails.
func Main(service string, run RunFunc) {
	TuneRuntime()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}
