package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/sumup/sandbox"
)

// sumupSandboxCmd serves the SumUp sandbox on -listen until ctx ends (make
// up runs it by itself; this is for running it alone). Its merchant and
// key are SUMUP_MERCHANT_CODE and SUMUP_API_KEY when set, otherwise the
// development sandbox's, which the services use when sumup.api_url is
// empty.
func sumupSandboxCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sumup-sandbox", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", "127.0.0.1:8007", "host:port to serve the sandbox on")
	public := fs.String("public-url", "", "base URL of the hosted payment pages (default http://sumup.localhost:PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q is not host:port", *listen)
	}
	publicURL := cmp.Or(*public, "http://sumup.localhost:"+port)
	merchant := cmp.Or(getenv("SUMUP_MERCHANT_CODE"), config.SumUpSandboxMerchant)
	stop, err := startSumUpSandbox(*listen, publicURL, merchant, cmp.Or(getenv("SUMUP_API_KEY"), config.SumUpSandboxKey), stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "SumUp sandbox for merchant %s at %s (listening on %s); Ctrl-C stops it.\n", merchant, publicURL, *listen)
	<-ctx.Done()
	stop()
	fmt.Fprintln(stdout, "stopped.")
	return nil
}

// startSumUpSandbox serves a sandbox on addr whose hosted pages are at
// publicURL, logging its webhook deliveries to logs. The returned stop
// closes the listener, abandons pending webhooks and waits for both. It
// returns an error when addr cannot be bound.
func startSumUpSandbox(addr, publicURL, merchant, key string, logs io.Writer) (stop func(), err error) {
	sb := sandbox.New(sandbox.Options{MerchantCode: merchant, APIKey: key, PublicURL: publicURL,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return serveSandbox(addr, sb, logs)
}

// serveSandbox serves sb on addr until the returned stop, which closes
// the listener, abandons pending webhooks and waits for both. It returns
// an error when addr cannot be bound.
func serveSandbox(addr string, sb *sandbox.Server, logs io.Writer) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the SumUp sandbox cannot listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(logs, "the SumUp sandbox stopped: %v\n", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		sb.Close()
		<-done
	}, nil
}

// sandboxAddress returns where up runs the SumUp sandbox: 127.0.0.1 and
// the port of the configured api_url, when that is the development
// sandbox (http://sumup.localhost:PORT) outside production; ok is false
// otherwise (payments off, or a real SumUp).
func sandboxAddress(cfg *config.Config) (addr string, ok bool) {
	if cfg.Production() || cfg.SumUp.APIURL == "" {
		return "", false
	}
	u, err := url.Parse(cfg.SumUp.APIURL)
	if err != nil || u.Scheme != "http" || u.Hostname() != "sumup.localhost" || u.Port() == "" {
		return "", false
	}
	return net.JoinHostPort("127.0.0.1", u.Port()), true
}
