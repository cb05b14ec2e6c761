package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
)

// up prepares the database and runs the six services until ctx ends, then
// stops them with SIGTERM and waits for them. A service that dies on its own
// stops the others and makes up fail. Outside production, when payments go
// to the SumUp sandbox (http://sumup.localhost:PORT, the development
// default; SUMUP_PORT moves it), up serves the sandbox itself, started
// before the services and stopped after them.
func up(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	started := time.Now()
	if ms, err := strconv.ParseInt(getenv("ROSEASH_UP_STARTED_MS"), 10, 64); err == nil {
		started = time.UnixMilli(ms) // the wrapper script's start, to include the build
	}
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	bin := fs.String("bin", ".dev/bin", "directory holding the service binaries")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// Port overrides change each service's listen address and URLs, for
	// every service, so that the links between them stay right.
	env := map[string]string{}
	for _, name := range config.Services {
		p := getenv(strings.ToUpper(name) + "_PORT")
		if p == "" {
			continue
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s_PORT=%q is not a port number", strings.ToUpper(name), p)
		}
		prefix := strings.ToUpper(name) + "_"
		env[prefix+"LISTEN_ADDR"] = "127.0.0.1:" + p
		env[prefix+"PUBLIC_URL"] = "http://" + name + ".localhost:" + p
		env[prefix+"INTERNAL_URL"] = "http://127.0.0.1:" + p
	}
	if p := getenv("SUMUP_PORT"); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("SUMUP_PORT=%q is not a port number", p)
		}
		env["SUMUP_API_URL"] = "http://sumup.localhost:" + p
	}
	// The services read the environment up was given, with the overrides.
	for _, k := range []string{"CONFIG_FILE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "APP_ENV", "LOG_FORMAT", "LOG_LEVEL", "MAIL_DIR", "MEDIA_DIR", "REDIS_KEY_PREFIX",
		"SUMUP_API_URL", "SUMUP_MERCHANT_CODE", "SUMUP_API_KEY", "CHECKOUT_HOLD"} {
		if v := getenv(k); v != "" {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
	}
	lookup := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return err
	}
	if err := prepareDatabase(ctx, cfg.DatabaseURL, cfg.Media.Dir, stdout); err != nil {
		return err
	}

	out := &lineWriter{w: stdout}
	if addr, ok := sandboxAddress(cfg); ok {
		stopSandbox, err := startSumUpSandbox(addr, cfg.SumUp.APIURL, cfg.SumUp.MerchantCode, cfg.SumUp.APIKey, out.prefixed("sumup"))
		if err != nil {
			return fmt.Errorf("%w (another make up running? set SUMUP_PORT to move it)", err)
		}
		defer stopSandbox() // after the services, which may still be calling it
	}
	procs := make([]*exec.Cmd, 0, len(config.Services))
	exited := make(chan string, len(config.Services))
	var wg sync.WaitGroup
	for _, name := range config.Services {
		path := filepath.Join(*bin, name)
		if _, err := os.Stat(path); err != nil {
			stopAll(procs, &wg)
			return fmt.Errorf("no %s binary in %s (build it with: go build -o %s/ ./%s)", name, *bin, *bin, name)
		}
		cmd := processCommand(path, nil, env, out.prefixed(name), out.prefixed(name))
		if err := cmd.Start(); err != nil {
			stopAll(procs, &wg)
			return fmt.Errorf("start %s: %w", name, err)
		}
		procs = append(procs, cmd)
		wg.Go(func() {
			_ = cmd.Wait()
			exited <- name
		})
	}

	if err := waitHealthy(ctx, cfg, exited); err != nil {
		// A service that started but never answered prints where each of
		// its goroutines waits (SIGQUIT), so that the hang can be found.
		for i, name := range config.Services {
			if i < len(procs) && !answers(cfg.Service(name).InternalURL+"/healthz") {
				_ = procs[i].Process.Signal(syscall.SIGQUIT)
			}
		}
		stopAll(procs, &wg)
		return err
	}
	out.printf("\nRose Ash is running (ready %.1fs after start):\n", time.Since(started).Seconds())
	for _, name := range config.Services {
		out.printf("  %-11s %s\n", name, cfg.Service(name).PublicURL)
	}
	if _, ok := sandboxAddress(cfg); ok {
		out.printf("  %-11s %s\n", "sumup sandbox", cfg.SumUp.APIURL)
	}
	if link, err := signInLink(ctx, cfg, demo.AdminEmail, cfg.Service("blog").PublicURL+"/auth/login?next=/"); err == nil {
		out.printf("\nSign in as the demo admin (%s) within %s:\n  %s\n", demo.AdminEmail, cfg.Auth.MagicLinkTTL.Std(), link)
		out.printf("(later: go run ./cmd/roseash signin-link %s; mail sent in development is at %s/dev/mail)\n",
			demo.AdminEmail, strings.TrimSuffix(cfg.Service("federation").PublicURL, "/"))
	} else {
		out.printf("could not make a sign-in link for the demo admin: %v\n", err)
	}
	out.printf("Press Ctrl-C to stop.\n\n")

	select {
	case <-ctx.Done():
		out.printf("stopping the six services...\n")
		stopAll(procs, &wg)
		out.printf("stopped.\n")
		return nil
	case name := <-exited:
		stopAll(procs, &wg)
		return fmt.Errorf("%s exited unexpectedly; stopped the others", name)
	}
}

// waitHealthy polls every service's /healthz until all answer, a service
// exits, ctx ends, or two minutes pass.
func waitHealthy(ctx context.Context, cfg *config.Config, exited <-chan string) error {
	checks := make([]healthCheck, 0, len(config.Services))
	for _, name := range config.Services {
		checks = append(checks, healthCheck{name: name, url: cfg.Service(name).InternalURL + "/healthz"})
	}
	return waitURLs(ctx, checks, exited, 2*time.Minute)
}

// answers reports whether url answers 200 within a second.
func answers(url string) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// healthCheck is a URL that answers 200 once the named process is up.
type healthCheck struct{ name, url string }

// waitURLs polls every check's URL until all answer 200, a process reports
// its name on exited, ctx ends, or limit passes.
func waitURLs(ctx context.Context, checks []healthCheck, exited <-chan string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	pending := append([]healthCheck(nil), checks...)
	for len(pending) > 0 {
		var still []healthCheck
		for _, c := range pending {
			resp, err := client.Get(c.url)
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				still = append(still, c)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			names := make([]string, len(pending))
			for i, c := range pending {
				names[i] = c.name
			}
			return fmt.Errorf("not healthy after %s: %s", spellDuration(limit), strings.Join(names, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case name := <-exited:
			return fmt.Errorf("%s exited during start-up (see its log above)", name)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// spellDuration writes whole minutes as words ("2 minutes"), anything else
// as Go does ("30s").
func spellDuration(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// processCommand returns the command that runs the program at path with
// args, in the environment of this process plus env (which wins), its output
// going to stdout and stderr.
func processCommand(path string, args []string, env map[string]string, stdout, stderr io.Writer) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	return cmd
}

// stopAll sends SIGTERM to every running service, waits up to 20 seconds for
// them to drain, then kills what is left.
func stopAll(procs []*exec.Cmd, wg *sync.WaitGroup) {
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		for _, p := range procs {
			_ = p.Process.Kill()
		}
		<-done
	}
}

// lineWriter interleaves the services' output line by line, each line
// prefixed with the service's name.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

func (l *lineWriter) prefixed(name string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			l.printf("%-10s | %s\n", name, sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return pw
}
