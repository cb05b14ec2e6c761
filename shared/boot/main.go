package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is the shape of every service's run function: it serves until ctx
// ends and returns nil after a clean shutdown.
type RunFunc func(ctx context.Context, getenv func(string) string, stdout io.Writer) error

// Main is a service's main: it runs run with a context that ends on SIGINT
// or SIGTERM, and exits 1 with the error on stderr when run fails.
func Main(service string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}
