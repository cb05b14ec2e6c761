package boot

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"rose-ash.com/platform/shared/config"
)

// HealthcheckTimeout bounds one `<service> healthcheck` run: the container
// runtime runs it every few seconds and counts a slow answer as a failure.
const HealthcheckTimeout = 3 * time.Second

// Healthcheck asks the running service's own /healthz, at the address the
// service listens on (its listen_addr, resolved from the config file and
// NAME_LISTEN_ADDR exactly as the service resolves it). It returns nil when
// /healthz answers 200, and an error when the config cannot be loaded, the
// service does not answer before ctx ends, or it answers another status.
//
// It exists because the production image has no shell or curl: the image's
// HEALTHCHECK runs the service binary itself with the argument
// "healthcheck" (see Main).
func Healthcheck(ctx context.Context, service string, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	target, err := healthzURL(cfg.Service(service).ListenAddr)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	// The service's own address: no proxy from the environment applies.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s, want 200", target, resp.Status)
	}
	return nil
}

// healthzURL turns a listen address into the URL of /healthz on it. A
// wildcard host (":8000", "0.0.0.0:8000", "[::]:8000") is reached on
// loopback, as the check runs inside the service's own container.
func healthzURL(listenAddr string) (string, error) {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil || port == "" {
		return "", fmt.Errorf("listen address %q is not host:port", listenAddr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
