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
// run fails. Run as `<service> healthcheck` it instead checks the running
// service's /healthz (Healthcheck) and exits 0 when healthy, 1 otherwise: the
// container image's HEALTHCHECK, as the image has no shell or curl.
func Main(service string, run RunFunc) {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		ctx, cancel := context.WithTimeout(context.Background(), HealthcheckTimeout)
		err := Healthcheck(ctx, service, os.Getenv)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s healthcheck: %v\n", service, err)
			os.Exit(1)
		}
		return
	}
	TuneRuntime()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
}

// Version is the running build's version: the VCS revision it was built
// from (12 characters, "+dirty" when modified), or "dev".
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return rev[:min(len(rev), 12)] + dirty
}
