package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/faultproxy"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/sumup/sandbox"
	"rose-ash.com/platform/shared/web"
)

// The benchmark's own database and Redis namespace, so that it can run while
// a development stack (make up) is up on the same servers.
const (
	benchDatabase = "roseash_bench"
	benchPrefix   = "roseash-bench"
	// baselineSize is the size of the baseline server's static page.
	baselineSize = 20 << 10
)

type benchOptions struct {
	bin      string        // the six service binaries
	logs     string        // the processes' logs and the mail sink
	port     int           // first of eleven consecutive ports
	rounds   int           // rounds of the eleven cases
	duration time.Duration // one wrk run
	threads  int           // wrk -t
	conns    int           // wrk -c
	warmup   int           // requests per case before measuring
	rate     int           // fixed-rate runs: requests per second
	rateFor  time.Duration // fixed-rate runs: length
}

func parseBenchFlags(args []string) (benchOptions, error) {
	var o benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", ".dev/bin", "directory holding the service binaries")
	fs.StringVar(&o.logs, "logs", ".dev/bench", "directory for the processes' logs (overwritten on each run)")
	fs.IntVar(&o.port, "port", 9101, "first of eleven consecutive ports: six services, the cold blog, the baseline, the blog whose Redis is cut, the market keeping no search results, the SumUp sandbox")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the eleven cases")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one wrk run (whole seconds)")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.IntVar(&o.conns, "connections", 64, "wrk connections")
	fs.IntVar(&o.warmup, "warmup", 300, "requests per case before measuring")
	fs.IntVar(&o.rate, "rate", 500, "requests per second of the fixed-rate runs")
	fs.DurationVar(&o.rateFor, "rate-duration", 5*time.Second, "length of each fixed-rate run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.port < 1 || o.port+10 > 65535:
		return o, fmt.Errorf("--port %d: the eleven ports from it must be valid", o.port)
	case o.rounds < 1:
		return o, errors.New("--rounds must be at least 1")
	case o.duration < time.Second || o.duration%time.Second != 0:
		return o, errors.New("--duration must be whole seconds (wrk counts in seconds)")
	case o.threads < 1 || o.conns < o.threads:
		return o, errors.New("--connections must be at least --threads, which must be at least 1")
	case o.rate < 1 || o.rateFor < time.Second:
		return o, errors.New("--rate must be positive and --rate-duration at least 1s")
	}
	return o, nil
}

// benchCase is one kind of request the benchmark measures.
type benchCase struct {
	n      int
	name   string
	target httpTarget
	// What its page must show, checked before and after the runs: who is
	// signed in ("" for nobody), markers it must and must not hold.
	as         string
	has, lacks []string
	// before and after run around each measured run (case 5 stops the cart).
	before, after func(context.Context) error
}

// httpTarget is a request wrk, vegeta and the warm-up send: to url (an IP
// address, as wrk resolves names itself) with the Host header host.
type httpTarget struct {
	url, host, cookie string
}

// bench runs the benchmark: see the usage text and README's "Benchmark".
// Its sections: the settings, the processes, the cases, their checks and
// warm-up, the measured rounds, the fixed-rate runs, and the report.
func bench(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	started := time.Now()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = errors.New("bench interrupted")
		}
	}()
	b, err := newBenchRun(args, getenv, stdout)
	if err != nil {
		return err
	}
	redisProxy, redisDownURL, err := redisThroughProxy(b.cfg.RedisURL)
	if err != nil {
		return err
	}
	defer redisProxy.Close()
	b.redisProxy = redisProxy
	b.envs["blog-redis-down"]["REDIS_URL"] = redisDownURL

	fmt.Fprintf(stdout, "bench: database %s, Redis prefix %s, ports %d-%d, log level %s, logs in %s\n",
		benchDatabase, benchPrefix, b.o.port, b.o.port+10, b.cfg.Log.Level, b.o.logs)
	if err := prepareDatabase(ctx, b.dbURL, b.cfg.Media.Dir, stdout); err != nil {
		return err
	}
	if err := seedBenchCatalogue(ctx, b.dbURL, stdout); err != nil {
		return err
	}
	if b.cart, err = seedBenchCart(ctx, b.dbURL, stdout); err != nil {
		return err
	}
	// The SumUp sandbox the cart pays in (SUMUP_API_URL), in this process:
	// the checkout run pays its checkouts through its Go API.
	sandboxLog, err := os.Create(filepath.Join(b.o.logs, "sumup-sandbox.log"))
	if err != nil {
		return err
	}
	defer sandboxLog.Close()
	sb, stopSandbox, err := startBenchSandbox(b.sumupPort, sandboxLog)
	if err != nil {
		return err
	}
	defer stopSandbox()
	b.sandbox = sb
	rdb, err := cache.Open(b.cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	b.rdb = rdb
	if _, err := dropKeys(ctx, rdb, benchPrefix); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if n, err := dropKeys(cctx, rdb, benchPrefix); err != nil {
			fmt.Fprintf(stdout, "could not drop the Redis keys %s:*: %v\n", benchPrefix, err)
		} else {
			fmt.Fprintf(stdout, "dropped %d Redis keys %s:*\n", n, benchPrefix)
		}
	}()

	b.st = &benchStack{logs: b.o.logs, exited: make(chan string, 64), procs: map[string]*benchProc{}}
	defer func() {
		n := b.st.stopAll()
		fmt.Fprintf(stdout, "stopped the %d processes the benchmark started\n", n)
	}()
	if err := b.startProcesses(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "started %s (%.1fs after start)\n", strings.Join(b.st.names(), ", "), time.Since(started).Seconds())

	cases, err := b.cases(ctx)
	if err != nil {
		return err
	}
	if err := b.prepare(ctx, cases); err != nil {
		return err
	}
	results, err := b.rounds(ctx, cases)
	if err != nil {
		return err
	}
	fixedRuns, err := b.fixedRate(ctx, cases[1:3])
	if err != nil {
		return err
	}
	checkout, err := b.checkoutRun(ctx)
	if err != nil {
		return fmt.Errorf("checkout run: %w", err)
	}
	b.report(cases, results, fixedRuns, checkout, started)
	return nil
}

// benchRun is one run of the benchmark: its options, the stack's settings,
// and what it has started.
type benchRun struct {
	o      benchOptions
	stdout io.Writer
	wrk    string // wrk's path
	self   string // this program, which serves the baseline
	clk    int64  // clock ticks per second
	dbURL  string // the bench's own database
	cfg    *config.Config
	// envs are the environments of the processes that run a service
	// binary, by process name: the six services, the cold blog and the
	// Redis-down blog.
	envs map[string]map[string]string
	// ports of the cold blog, the baseline server and the Redis-down blog.
	coldPort, basePort, redisDownPort, searchPort string
	sumupPort                                     string // the SumUp sandbox's

	cart    benchCartSetup  // the cart's cases' records
	sandbox *sandbox.Server // the SumUp sandbox the cart pays in

	redisProxy *faultproxy.Proxy // between the Redis-down blog and Redis
	rdb        *redis.Client
	st         *benchStack
	client     *http.Client // checks the pages (plainClient)
}

// newBenchRun checks what the benchmark needs (wrk, the databases, the
// service binaries) and settles the stack's settings: the config file and
// this environment, with the bench's own database, Redis prefix, ports and
// a throw-away secret.
func newBenchRun(args []string, getenv func(string) string, stdout io.Writer) (*benchRun, error) {
	o, err := parseBenchFlags(args)
	if err != nil {
		return nil, err
	}
	b := &benchRun{o: o, stdout: stdout, client: plainClient()}
	if b.wrk, err = exec.LookPath("wrk"); err != nil {
		return nil, errors.New("wrk is not installed (apt-get install wrk; make bench installs it when run as root)")
	}
	devDB, err := databaseURL(getenv)
	if err != nil {
		return nil, err
	}
	if b.dbURL, err = withDatabaseName(devDB, benchDatabase); err != nil {
		return nil, err
	}
	if getenv("REDIS_URL") == "" {
		return nil, errors.New("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	if b.self, err = os.Executable(); err != nil {
		return nil, err
	}
	for _, name := range config.Services {
		if _, err := os.Stat(filepath.Join(o.bin, name)); err != nil {
			return nil, fmt.Errorf("no %s binary in %s (build them with: go build -o %s/ ./blog ./market ...)", name, o.bin, o.bin)
		}
	}
	if err := os.MkdirAll(filepath.Join(o.logs, "mail"), 0o700); err != nil {
		return nil, err
	}
	b.clk = clockTicks()

	port := func(i int) string { return strconv.Itoa(o.port + i) }
	env := map[string]string{
		"DATABASE_URL":     b.dbURL,
		"REDIS_KEY_PREFIX": benchPrefix,
		"SECRET_KEY":       randomSecret(),
		"MAIL_TRANSPORT":   "dir",
		"MAIL_DIR":         filepath.Join(o.logs, "mail"),
		"RUN_MIGRATIONS":   "false",
		// The SumUp sandbox this process serves (startBenchSandbox); the
		// cart's return_url, on cart.localhost, is dialled on loopback.
		"SUMUP_API_URL":       "http://127.0.0.1:" + port(len(config.Services)+4),
		"SUMUP_MERCHANT_CODE": config.SumUpSandboxMerchant,
		"SUMUP_API_KEY":       config.SumUpSandboxKey,
	}
	for i, name := range config.Services {
		p := strings.ToUpper(name) + "_"
		env[p+"LISTEN_ADDR"] = "127.0.0.1:" + port(i)
		env[p+"PUBLIC_URL"] = "http://" + name + ".localhost:" + port(i)
		env[p+"INTERNAL_URL"] = "http://127.0.0.1:" + port(i)
	}
	if b.cfg, err = config.Load(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}); err != nil {
		return nil, err
	}
	b.envs = map[string]map[string]string{}
	for _, name := range config.Services {
		b.envs[name] = env
	}
	// The cold blog is the same blog (same public URL, so the same session
	// cookie works there) on its own port, with both caches off; its nav-tree
	// comes from itself.
	b.coldPort, b.basePort = port(len(config.Services)), port(len(config.Services)+1)
	b.envs["blog-cold"] = maps.Clone(env)
	maps.Copy(b.envs["blog-cold"], map[string]string{
		"BLOG_LISTEN_ADDR":    "127.0.0.1:" + b.coldPort,
		"BLOG_INTERNAL_URL":   "http://127.0.0.1:" + b.coldPort,
		"FRAGMENTS_TTL":       "0s",
		"PAGE_CACHE_TTL":      "0s",
		"PAGE_CACHE_LISTINGS": "0s",
	})
	// The Redis-down blog is the same blog again on its own port, reaching
	// Redis through a proxy that case 6 cuts (the Redis-down drill under
	// load; bench sets its REDIS_URL to the proxy's); it shares the page
	// cache's keys with the warm blog, as replicas do.
	b.redisDownPort = port(len(config.Services) + 2)
	b.envs["blog-redis-down"] = maps.Clone(env)
	b.envs["blog-redis-down"]["BLOG_LISTEN_ADDR"] = "127.0.0.1:" + b.redisDownPort
	// The uncached-search market is the market on its own port keeping no
	// pages of results (case 10: every search runs in PostgreSQL); its
	// header fragments are cached as the market's are.
	b.searchPort = port(len(config.Services) + 3)
	b.sumupPort = port(len(config.Services) + 4)
	b.envs["market-search"] = maps.Clone(env)
	maps.Copy(b.envs["market-search"], map[string]string{
		"MARKET_LISTEN_ADDR":  "127.0.0.1:" + b.searchPort,
		"PAGE_CACHE_LISTINGS": "0s",
	})
	return b, nil
}

// startProcesses starts the six services, the cold blog, the Redis-down
// blog and the baseline server, and waits until they all serve.
func (b *benchRun) startProcesses(ctx context.Context) error {
	st, bin := b.st, b.o.bin
	for _, name := range config.Services {
		if err := st.start(name, filepath.Join(bin, name), nil, b.envs[name], b.cfg.Service(name).InternalURL+"/readyz"); err != nil {
			return err
		}
	}
	if err := st.start("blog-cold", filepath.Join(bin, "blog"), nil, b.envs["blog-cold"], "http://127.0.0.1:"+b.coldPort+"/readyz"); err != nil {
		return err
	}
	if err := st.start("blog-redis-down", filepath.Join(bin, "blog"), nil, b.envs["blog-redis-down"], "http://127.0.0.1:"+b.redisDownPort+"/readyz"); err != nil {
		return err
	}
	if err := st.start("market-search", filepath.Join(bin, "market"), nil, b.envs["market-search"], "http://127.0.0.1:"+b.searchPort+"/readyz"); err != nil {
		return err
	}
	if err := st.start("baseline", b.self, []string{"bench-baseline", "127.0.0.1:" + b.basePort}, nil, "http://127.0.0.1:"+b.basePort+"/healthz"); err != nil {
		return err
	}
	return st.waitReady(ctx, st.names()...)
}

// cases signs the demo admin in on the blog, the market and the cart, as a
// browser would, and returns the eleven cases: the blog's six, the
// market's four and the cart's one.
func (b *benchRun) cases(ctx context.Context) ([]benchCase, error) {
	cookies, err := signInBrowser(ctx, b.cfg, demo.AdminEmail, "market", "cart")
	if err != nil {
		return nil, fmt.Errorf("signing in the demo admin: %w", err)
	}
	cookie := cookies["blog"]
	blogHost := hostOf(b.cfg.Service("blog").PublicURL)
	warmURL := b.cfg.Service("blog").InternalURL + "/"
	coldURL := "http://127.0.0.1:" + b.coldPort + "/"
	anon := httpTarget{url: warmURL, host: blogHost}
	signed := httpTarget{url: warmURL, host: blogHost, cookie: cookie}
	cold := httpTarget{url: coldURL, host: blogHost, cookie: cookie}
	base := httpTarget{url: "http://127.0.0.1:" + b.basePort + "/", host: "127.0.0.1:" + b.basePort}
	redisDown := httpTarget{url: "http://127.0.0.1:" + b.redisDownPort + "/", host: blogHost}
	marketHost, marketURL := hostOf(b.cfg.Service("market").PublicURL), b.cfg.Service("market").InternalURL
	marketHome := httpTarget{url: marketURL + "/", host: marketHost}
	product := benchProduct(benchCatalogueSize / 2)
	productPage := httpTarget{url: marketURL + "/products/" + product.Slug, host: marketHost}
	// Signed in, so that the page cache (anonymous visitors only) does not
	// answer: every request renders the page, with the results the market
	// keeps for page_cache.listings (1 s), as it does for signed-in
	// shoppers; case 10 keeps none, and every request searches PostgreSQL.
	search := httpTarget{url: marketURL + "/search?q=" + benchSearchWord, host: marketHost, cookie: cookies["market"]}
	uncached := httpTarget{url: "http://127.0.0.1:" + b.searchPort + "/search?q=" + benchSearchWord, host: marketHost, cookie: cookies["market"]}
	basket := httpTarget{url: b.cfg.Service("cart").InternalURL + "/", host: hostOf(b.cfg.Service("cart").PublicURL), cookie: cookies["cart"]}

	st, rdb, redisProxy := b.st, b.rdb, b.redisProxy
	dropCartMini := func(ctx context.Context) error {
		_, err := dropKeys(ctx, rdb, benchPrefix+":fragment:cart:"+fragments.CartMini)
		return err
	}
	// The page parts: the fragments (nav-tree, account-nav, cart-mini,
	// upcoming) as they mark themselves.
	parts := []string{`class="site-menu"`, `class="account-menu"`, `class="cart-mini"`, `class="section upcoming"`}
	// The basket's page: its five lines, by title, and its Checkout button.
	basketHas := []string{parts[0], "<button>Checkout</button>"}
	for _, t := range b.cart.titles {
		basketHas = append(basketHas, html.EscapeString(t))
	}
	const admin = "Rose Ash Admin"
	return []benchCase{
		{n: 1, name: "baseline: static 20 KB page", target: base, has: []string{"Paragraph 1 "}},
		{n: 2, name: "anon blog home (page cache)", target: anon, has: []string{parts[0], parts[3]}},
		{n: 3, name: "signed-in blog home (fragments warm)", target: signed, as: admin, has: parts},
		{n: 4, name: "signed-in blog home, cold blog (no caches)", target: cold, as: admin, has: parts},
		{n: 5, name: "signed-in blog home, cart stopped", target: signed, as: admin,
			has: []string{parts[0], parts[1], parts[3]}, lacks: []string{parts[2]},
			before: func(ctx context.Context) error {
				st.stop("cart")
				// Its fragment must be fetched (and fail) on every request.
				return dropCartMini(ctx)
			},
			after: func(ctx context.Context) error {
				if err := st.restart("cart"); err != nil {
					return err
				}
				if err := st.waitReady(ctx, "cart"); err != nil {
					return err
				}
				_, err := warm(ctx, signed, 20) // cache cart-mini again before case 3
				return err
			}},
		{n: 6, name: "anon blog home, Redis cut", target: redisDown, has: []string{parts[0], parts[3]},
			before: func(context.Context) error { redisProxy.Cut(); return nil },
			after:  func(context.Context) error { redisProxy.Restore(); return nil }},
		{n: 7, name: "anon market home (page cache)", target: marketHome, has: []string{parts[0]}},
		{n: 8, name: "anon product page (page cache)", target: productPage, has: []string{parts[0], product.Name}},
		{n: 9, name: fmt.Sprintf("signed-in search of %d products", benchCatalogueSize), target: search, as: admin,
			has: []string{parts[0], benchNouns[0] + " "}},
		{n: 10, name: "signed-in search, no results kept", target: uncached, as: admin,
			has: []string{parts[0], benchNouns[0] + " "}},
		{n: 11, name: fmt.Sprintf("signed-in basket, %d items", len(b.cart.titles)), target: basket, as: admin, has: basketHas},
	}, nil
}

// prepare checks what each case serves, before anything is measured, and
// warms the caches and the connections (case 5 shares case 3's; case 6's
// is warmed with Redis there).
func (b *benchRun) prepare(ctx context.Context, cases []benchCase) error {
	prepared := slices.DeleteFunc(slices.Clone(cases), func(c benchCase) bool { return c.n == 5 })
	client := b.client
	var sizes []string
	for _, c := range prepared {
		body, err := checkPage(ctx, client, c)
		if err != nil {
			return err
		}
		sizes = append(sizes, fmt.Sprintf("case %d %.1f KB", c.n, float64(len(body))/1024))
	}
	fmt.Fprintf(b.stdout, "pages: %s\n", strings.Join(sizes, ", "))

	for _, c := range prepared {
		n, err := warm(ctx, c.target, b.o.warmup)
		if err != nil {
			return fmt.Errorf("warming case %d: %w", c.n, err)
		}
		if n > 0 {
			return fmt.Errorf("warming case %d: %d of %d requests failed", c.n, n, b.o.warmup)
		}
	}
	for _, c := range cases {
		if c.n != 2 && c.n != 7 && c.n != 8 {
			continue
		}
		if _, h, _, err := fetch(ctx, client, c.target); err != nil || h.Get("X-Cache") != "HIT" {
			return fmt.Errorf("case %d (%s) is not served from the page cache after warming (X-Cache %q, %v)", c.n, c.name, h.Get("X-Cache"), err)
		}
	}
	fmt.Fprintf(b.stdout, "warmed: %d requests per case (case 5 shares case 3's caches)\n", b.o.warmup)
	return nil
}

// checkPageSettled is checkPage, tried up to five times a second apart
// until the page has what the case serves; the last error otherwise.
func checkPageSettled(ctx context.Context, client *http.Client, c benchCase) error {
	var err error
	for try := 0; try < 5; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		if _, err = checkPage(ctx, client, c); err == nil {
			return nil
		}
	}
	return err
}

// rounds measures every case with wrk, round after round, and returns the
// runs by case number.
func (b *benchRun) rounds(ctx context.Context, cases []benchCase) (map[int][]wrkResult, error) {
	o := b.o
	fmt.Fprintf(b.stdout, "%d rounds of wrk -t%d -c%d -d%s --latency per case; cpu: utime+stime of all %d server processes per request\n",
		o.rounds, o.threads, o.conns, o.duration, len(b.st.names()))
	client := b.client
	results := map[int][]wrkResult{}
	for round := 1; round <= o.rounds; round++ {
		for _, c := range cases {
			if c.before != nil {
				if err := c.before(ctx); err != nil {
					return nil, fmt.Errorf("case %d: %w", c.n, err)
				}
			}
			res, err := b.st.measure(ctx, b.clk, func(ctx context.Context) (wrkResult, error) {
				return runWrk(ctx, b.wrk, o, c.target)
			})
			if err != nil {
				return nil, fmt.Errorf("case %d: %w", c.n, err)
			}
			results[c.n] = append(results[c.n], res)
			// A run must not have changed what is measured (a dropped session
			// would make the next runs measure an anonymous page). The check
			// is tried again for a few seconds: the run's last requests may
			// still hold the service busy, and a fragment that misses its
			// deadline then is left out of the page, as it should be.
			if err := checkPageSettled(ctx, client, c); err != nil {
				return nil, fmt.Errorf("after round %d: %w", round, err)
			}
			fmt.Fprintf(b.stdout, "round %d/%d case %d  req/s %6.0f  p50 %s  p99 %s  cpu %s/req  errors %d\n",
				round, o.rounds, c.n, res.rps, fmtDur(res.p50), fmtDur(res.p99), fmtUS(res.cpuPerReq()), res.errors())
			fmt.Fprintf(b.stdout, "  cpu/req by process: %s\n", fmtByProcess(res))
			if c.after != nil {
				if err := c.after(ctx); err != nil {
					return nil, fmt.Errorf("case %d: %w", c.n, err)
				}
			}
		}
	}
	return results, nil
}

// fixedRun is one case's open-loop run.
type fixedRun struct {
	c   benchCase
	res rateResult
}

// fixedRate runs the cases in an open loop: a fixed rate, as real visitors
// arrive, whatever the latency.
func (b *benchRun) fixedRate(ctx context.Context, cases []benchCase) ([]fixedRun, error) {
	var runs []fixedRun
	for _, c := range cases {
		res, err := attackAtRate(ctx, c.target, b.o.rate, b.o.rateFor)
		if err != nil {
			return nil, fmt.Errorf("case %d at %d req/s: %w", c.n, b.o.rate, err)
		}
		runs = append(runs, fixedRun{c, res})
	}
	return runs, nil
}

// report prints the results of every case and how they fare against the
// targets.
func (b *benchRun) report(cases []benchCase, results map[int][]wrkResult, fixedRuns []fixedRun, checkout checkoutResult, started time.Time) {
	o, stdout := b.o, b.stdout
	sums := map[int]caseSummary{}
	fmt.Fprintf(stdout, "\nresults over %d rounds (req/s: all requests / all time; p50, p99: median of the rounds; worst: highest p99 of a round)\n", o.rounds)
	for _, c := range cases {
		s := summarize(results[c.n], b.clk)
		sums[c.n] = s
		rel := ""
		switch c.n {
		case 2, 3:
			rel = "  " + fmtRatio(s.rps, sums[1].rps) + " of case 1"
		case 4, 5:
			rel = "  " + fmtRatio(s.rps, sums[3].rps) + " of case 3"
		case 6:
			rel = "  " + fmtRatio(s.rps, sums[2].rps) + " of case 2"
		case 7, 8, 9, 10, 11:
			rel = "  " + fmtRatio(s.rps, sums[1].rps) + " of case 1"
		}
		fmt.Fprintf(stdout, "case %d %-44s req/s %6.0f  p50 %s  p99 %s  worst p99 %s  cpu %s/req  errors %d%s\n",
			c.n, c.name, s.rps, fmtDur(s.p50), fmtDur(s.p99), fmtDur(s.worstP99), fmtUS(s.cpuPerReq), s.errors, rel)
	}
	for _, f := range fixedRuns {
		fmt.Fprintf(stdout, "case %d at a fixed %d req/s for %s (vegeta): sent %d  p50 %s  p99 %s  max %s  errors %d\n",
			f.c.n, o.rate, o.rateFor, f.res.requests, fmtDur(f.res.p50), fmtDur(f.res.p99), fmtDur(f.res.max), f.res.errors)
	}
	reportCheckout(stdout, checkout)

	deadline := b.cfg.Fragments.Deadline.Std()
	limit5 := deadline + 50*time.Millisecond
	targets := []benchTarget{
		ratioTarget("case 2 req/s >= 0.40x case 1", sums[2].rps, sums[1].rps, 0.40),
		ratioTarget("case 3 req/s >= 0.20x case 1", sums[3].rps, sums[1].rps, 0.20),
		ratioTarget("case 4 req/s >= 0.50x case 3", sums[4].rps, sums[3].rps, 0.50),
		{what: fmt.Sprintf("case 5 no errors, worst p99 < %s (fragment deadline %s + 50ms)", fmtDur(limit5), deadline),
			got:  fmt.Sprintf("errors %d, worst p99 %s", sums[5].errors, fmtDur(sums[5].worstP99)),
			pass: sums[5].errors == 0 && sums[5].worstP99 < limit5},
		ratioTarget("case 6 req/s >= 0.50x case 2 (Redis cut)", sums[6].rps, sums[2].rps, 0.50),
	}
	targets = append(targets, marketTargets(sums)...)
	targets = append(targets, cartTargets(sums, checkout)...)
	for _, f := range fixedRuns {
		targets = append(targets, benchTarget{
			what: fmt.Sprintf("case %d at %d req/s: p99 <= 5ms, no errors", f.c.n, o.rate),
			got:  fmt.Sprintf("p99 %s, errors %d", fmtDur(f.res.p99), f.res.errors),
			pass: f.res.p99 <= 5*time.Millisecond && f.res.errors == 0,
		})
	}
	fmt.Fprintf(stdout, "\ntargets\n")
	missed := 0
	for _, t := range targets {
		verdict := "PASS"
		if !t.pass {
			verdict = "MISS"
			missed++
		}
		fmt.Fprintf(stdout, "  %s  %s: %s\n", verdict, t.what, t.got)
	}
	fmt.Fprintf(stdout, "%d of %d targets met; the benchmark took %s\n", len(targets)-missed, len(targets), time.Since(started).Round(time.Second))
}

// marketTargets are the market's targets: its home and a product page
// from the page cache at least 0.40x the static page's rate, and a search
// of the whole catalogue at least 0.10x, with its p99.
func marketTargets(sums map[int]caseSummary) []benchTarget {
	search := ratioTarget("case 9 req/s >= 0.10x case 1 (search)", sums[9].rps, sums[1].rps, 0.10)
	search.got += ", p99 " + fmtDur(sums[9].p99)
	if uncached, ok := sums[10]; ok {
		search.got += fmt.Sprintf(" (no results kept, case 10: %s, p99 %s)", fmtRatio(uncached.rps, sums[1].rps), fmtDur(uncached.p99))
	}
	return []benchTarget{
		ratioTarget("case 7 req/s >= 0.40x case 1 (market home)", sums[7].rps, sums[1].rps, 0.40),
		ratioTarget("case 8 req/s >= 0.40x case 1 (product page)", sums[8].rps, sums[1].rps, 0.40),
		search,
	}
}

// benchTarget is one of the performance targets and how it fared.
type benchTarget struct {
	what, got string
	pass      bool
}

func ratioTarget(what string, got, of, want float64) benchTarget {
	return benchTarget{what: what, got: fmtRatio(got, of), pass: of > 0 && got/of >= want}
}

// --- processes ---------------------------------------------------------------

// benchStack is the set of processes the benchmark runs.
type benchStack struct {
	logs   string
	mu     sync.Mutex
	procs  map[string]*benchProc
	order  []string
	exited chan string // names of processes that ended without being stopped
}

type benchProc struct {
	name, path string
	args       []string
	env        map[string]string
	ready      string // URL that answers 200 once it serves
	cmd        *exec.Cmd
	done       chan struct{} // closed when cmd has ended
	stopping   *atomic.Bool  // set when the benchmark ends cmd itself
}

// start runs a process, its output appended to logs/NAME.log (truncated on
// the first start of a run).
func (st *benchStack) start(name, path string, args []string, env map[string]string, ready string) error {
	p := &benchProc{name: name, path: path, args: args, env: env, ready: ready}
	st.mu.Lock()
	st.procs[name] = p
	st.order = append(st.order, name)
	st.mu.Unlock()
	return st.launch(p, os.O_TRUNC)
}

func (st *benchStack) launch(p *benchProc, mode int) error {
	logf, err := os.OpenFile(filepath.Join(st.logs, p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|mode, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	cmd := processCommand(p.path, p.args, p.env, logf, logf)
	// Should this process die without stopping them, they stop too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done, stopping := make(chan struct{}), new(atomic.Bool)
	p.cmd, p.done, p.stopping = cmd, done, stopping
	go func() {
		_ = cmd.Wait()
		if !stopping.Load() {
			st.exited <- p.name
		}
		close(done)
	}()
	return nil
}

// restart starts a stopped process again, appending to its log.
func (st *benchStack) restart(name string) error {
	return st.launch(st.proc(name), 0)
}

func (st *benchStack) proc(name string) *benchProc {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.procs[name]
}

func (st *benchStack) names() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.order)
}

// waitReady waits until the named processes answer their ready URLs.
func (st *benchStack) waitReady(ctx context.Context, names ...string) error {
	checks := make([]healthCheck, 0, len(names))
	for _, n := range names {
		checks = append(checks, healthCheck{name: n, url: st.proc(n).ready})
	}
	if err := waitURLs(ctx, checks, st.exited, time.Minute); err != nil {
		// Where a process that never answered waits, in its log (SIGQUIT
		// makes a Go program print its goroutines and exit).
		for _, c := range checks {
			if p := st.proc(c.name); p != nil && p.cmd != nil && !answers(c.url) {
				p.stopping.Store(true)
				_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			}
		}
		return fmt.Errorf("%w (logs in %s; a process that never answered printed its goroutines there)", err, st.logs)
	}
	return nil
}

// alive reports an error naming a process that ended by itself.
func (st *benchStack) alive() error {
	select {
	case name := <-st.exited:
		return fmt.Errorf("%s exited unexpectedly (see %s)", name, filepath.Join(st.logs, name+".log"))
	default:
		return nil
	}
}

// stop ends one process: SIGTERM, then SIGKILL after 20 seconds.
func (st *benchStack) stop(name string) {
	p := st.proc(name)
	if p == nil || p.cmd == nil {
		return
	}
	p.stopping.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stopAll stops every process at once and returns how many there were.
func (st *benchStack) stopAll() int {
	names := st.names()
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() { st.stop(n) })
	}
	wg.Wait()
	return len(names)
}

// procTicks is one process's CPU time in clock ticks, with the name it is
// reported under: the benchmark's name for the processes it started, the
// command for the database servers.
type procTicks struct {
	name  string
	ticks int64
	ours  bool // started by the benchmark (counted in cpu/req)
}

// databaseCommands are the shared servers whose CPU each round reports
// beside the services': what a request costs them is part of its price.
var databaseCommands = map[string]bool{"postgres": true, "redis-server": true, "pgbouncer": true}

// cpuTicks returns the CPU time of each running process the benchmark
// started and of each PostgreSQL, Redis and PgBouncer process, by pid.
func (st *benchStack) cpuTicks() map[int]procTicks {
	out := map[int]procTicks{}
	for _, n := range st.names() {
		p := st.proc(n)
		select {
		case <-p.done:
			continue // stopped
		default:
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		if t, err := procCPUTicks(string(b)); err == nil {
			out[p.cmd.Process.Pid] = procTicks{name: n, ticks: t, ours: true}
		}
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if _, ok := out[pid]; ok {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		stat := string(b)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open || !databaseCommands[stat[open+1:end]] {
			continue
		}
		if t, err := procCPUTicks(stat); err == nil {
			out[pid] = procTicks{name: stat[open+1 : end], ticks: t}
		}
	}
	return out
}

// measure runs one load run and adds the server CPU it cost.
func (st *benchStack) measure(ctx context.Context, clk int64, run func(context.Context) (wrkResult, error)) (wrkResult, error) {
	if err := st.alive(); err != nil {
		return wrkResult{}, err
	}
	before := st.cpuTicks()
	res, err := run(ctx)
	after := st.cpuTicks()
	if err != nil {
		return res, err
	}
	if err := st.alive(); err != nil {
		return res, err
	}
	res.cpuTicks, res.byProcess = cpuDelta(before, after)
	res.clk = clk
	return res, nil
}

// --- load ----------------------------------------------------------------------

// runWrk runs wrk once against t and parses what it reports.
func runWrk(ctx context.Context, wrk string, o benchOptions, t httpTarget) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	defer cancel()
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.conns),
		"-d" + strconv.Itoa(int(o.duration/time.Second)) + "s", "--latency", "-H", "Host: " + t.host}
	if t.cookie != "" {
		args = append(args, "-H", "Cookie: "+t.cookie)
	}
	out, err := exec.CommandContext(ctx, wrk, append(args, t.url)...).CombinedOutput()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("%w\n%s", err, out)
	}
	return res, nil
}

// warm sends n requests to t from eight workers and returns how many did
// not answer 200.
func warm(ctx context.Context, t httpTarget, n int) (int, error) {
	client := plainClient()
	var failed, next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				status, _, _, err := fetch(ctx, client, t)
				if err != nil {
					once.Do(func() { firstErr = err })
					failed.Add(1)
				} else if status != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if firstErr != nil {
		return int(failed.Load()), firstErr
	}
	return int(failed.Load()), nil
}

// rateResult is what an open-loop run at a fixed rate measured.
type rateResult struct {
	requests, errors uint64
	p50, p99, max    time.Duration
}

// attackAtRate sends requests to t at rate per second for d, whatever the
// latency (an open loop, as real visitors arrive), and measures them.
func attackAtRate(ctx context.Context, t httpTarget, rate int, d time.Duration) (rateResult, error) {
	h := http.Header{"Host": {t.host}}
	if t.cookie != "" {
		h.Set("Cookie", t.cookie)
	}
	atk := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true), vegeta.Redirects(vegeta.NoFollow))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var m vegeta.Metrics
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: t.url, Header: h})
	for res := range atk.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, d, "bench") {
		m.Add(res)
	}
	m.Close()
	if ctx.Err() != nil {
		return rateResult{}, ctx.Err()
	}
	var errs uint64
	for code, n := range m.StatusCodes {
		if c, _ := strconv.Atoi(code); c < 200 || c > 299 {
			errs += uint64(n)
		}
	}
	return rateResult{requests: m.Requests, errors: errs,
		p50: m.Latencies.P50, p99: m.Latencies.P99, max: m.Latencies.Max}, nil
}

// plainClient talks to the services' addresses directly, without cookies
// or redirects, keeping connections for the warm-up's workers.
func plainClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func fetch(ctx context.Context, c *http.Client, t httpTarget) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Host = t.host
	if t.cookie != "" {
		req.Header.Set("Cookie", t.cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

// signInBrowser signs email in on the blog by magic link, as a browser
// does (cookies kept, *.localhost dialled on loopback), then on each
// service of also through the single sign-on (its "Sign in" link), and
// returns the Cookie header each service then gets, by service name.
func signInBrowser(ctx context.Context, cfg *config.Config, email string, also ...string) (map[string]string, error) {
	blog := strings.TrimSuffix(cfg.Service("blog").PublicURL, "/")
	link, err := signInLink(ctx, cfg, email, blog+"/auth/login?next=/")
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if host == "localhost" || strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		}}}
	// The link shows a confirmation form; its POST signs in.
	lu, err := url.Parse(link)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lu.Scheme+"://"+lu.Host+"/auth/magic",
		strings.NewReader(url.Values{"token": {lu.Query().Get("token")}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if name := signedInName(string(b)); name == "" {
		return nil, fmt.Errorf("the sign-in link ended on %s (%d) without a signed-in user", resp.Request.URL, resp.StatusCode)
	}
	for _, name := range also {
		base := strings.TrimSuffix(cfg.Service(name).PublicURL, "/")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/auth/login?next=/", nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("signing in on the %s: %w", name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	cookies := map[string]string{}
	for _, name := range append([]string{"blog"}, also...) {
		u, _ := url.Parse(strings.TrimSuffix(cfg.Service(name).PublicURL, "/") + "/")
		var parts []string
		for _, ck := range jar.Cookies(u) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		if len(parts) == 0 {
			return nil, fmt.Errorf("the %s set no cookie", name)
		}
		cookies[name] = strings.Join(parts, "; ")
	}
	return cookies, nil
}

// checkPage fetches c's page and checks that it shows what the case means
// to measure; it returns the page.
func checkPage(ctx context.Context, client *http.Client, c benchCase) (string, error) {
	status, _, body, err := fetch(ctx, client, c.target)
	if err != nil {
		return "", fmt.Errorf("case %d: %w", c.n, err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("case %d: %s answered %d", c.n, c.target.url, status)
	}
	if got := signedInName(body); got != c.as {
		return "", fmt.Errorf("case %d: the page is signed in as %q, want %q", c.n, got, c.as)
	}
	for _, m := range c.has {
		if !strings.Contains(body, m) {
			return "", fmt.Errorf("case %d: the page lacks %s", c.n, m)
		}
	}
	for _, m := range c.lacks {
		if strings.Contains(body, m) {
			return "", fmt.Errorf("case %d: the page shows %s", c.n, m)
		}
	}
	return body, nil
}

// signedInName returns the name the page's account bar shows, or "".
func signedInName(page string) string {
	_, rest, ok := strings.Cut(page, `<span class="account-name">`)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "</span>")
	return name
}

// dropKeys deletes every Redis key under prefix (prefix:*) and returns how
// many there were.
func dropKeys(ctx context.Context, rdb *redis.Client, prefix string) (int, error) {
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var batch []string
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// --- the baseline server -------------------------------------------------------

// benchBaseline serves a static 20 KB HTML page from memory at / (and
// /healthz) on addr until ctx ends: a bare chi router behind the same
// http.Server the services use, the reference the blog is compared with.
func benchBaseline(ctx context.Context, args []string, stdout io.Writer) error {
	boot.TuneRuntime() // the same runtime settings as the services
	if len(args) != 1 {
		return errors.New("usage: roseash bench-baseline ADDR")
	}
	page := baselinePage(baselineSize)
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	logger := slog.New(slog.NewTextHandler(stdout, nil)).With("service", "bench-baseline")
	return web.Serve(ctx, args[0], r, 5*time.Second, logger)
}

// baselinePage returns an HTML page of exactly size bytes (at least 200).
func baselinePage(size int) []byte {
	const head = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Baseline</title></head>\n<body><main>\n"
	const tail = "</main></body></html>\n"
	var b bytes.Buffer
	b.WriteString(head)
	for i := 1; ; i++ {
		p := fmt.Sprintf("<p>Paragraph %d of the baseline page, a fixed text served from memory.</p>\n", i)
		if b.Len()+len(p)+len(tail) > size {
			break
		}
		b.WriteString(p)
	}
	for b.Len()+len(tail) < size {
		b.WriteByte('\n')
	}
	b.WriteString(tail)
	return b.Bytes()
}

// --- pure helpers ----------------------------------------------------------------

// wrkResult is what one wrk run reported, plus the server CPU it cost.
type wrkResult struct {
	requests     int64
	elapsed      time.Duration
	rps          float64
	p50, p99     time.Duration
	non2xx       int64 // wrk counts statuses >= 400 here
	socketErrors int64 // connect + read + write + timeout
	cpuTicks     int64
	clk          int64
	// byProcess is the CPU ticks of the run by process name, PostgreSQL
	// and Redis included.
	byProcess map[string]int64
}

func (r wrkResult) errors() int64 { return r.non2xx + r.socketErrors }

// cpuPerReq is the server CPU time per request in microseconds.
func (r wrkResult) cpuPerReq() float64 {
	if r.requests == 0 || r.clk == 0 {
		return 0
	}
	return float64(r.cpuTicks) / float64(r.clk) * 1e6 / float64(r.requests)
}

var (
	wrkTotalRE   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),`)
	wrkRPSRE     = regexp.MustCompile(`(?m)^Requests/sec:\s*([\d.]+)`)
	wrkLatencyRE = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$`)
	wrkSocketRE  = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xxRE  = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads the report of `wrk --latency`.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkTotalRE.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("wrk: no \"N requests in T\" line")
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	var err error
	if r.elapsed, err = wrkDuration(m[2], m[3]); err != nil {
		return r, err
	}
	if m = wrkRPSRE.FindStringSubmatch(out); m == nil {
		return r, errors.New("wrk: no Requests/sec line")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	found := 0
	for _, m := range wrkLatencyRE.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(m[2], m[3])
		if err != nil {
			return r, err
		}
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
		found++
	}
	if found != 2 {
		return r, errors.New("wrk: no 50% and 99% latency lines (run it with --latency)")
	}
	if m = wrkSocketRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.socketErrors += n
		}
	}
	if m = wrkNon2xxRE.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// wrkDuration converts a figure in wrk's units (us, ms, s, m, h).
func wrkDuration(num, unit string) (time.Duration, error) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("wrk: bad number %q", num)
	}
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"m": time.Minute, "h": time.Hour}[unit]
	if scale == 0 {
		return 0, fmt.Errorf("wrk: unknown unit %q", unit)
	}
	return time.Duration(f * float64(scale)), nil
}

// procCPUTicks returns utime+stime, in clock ticks, from the text of
// /proc/PID/stat (fields 14 and 15; the command name, field 2, may hold
// spaces and parentheses, so fields are counted after its last ')').
func procCPUTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("proc stat: utime or stime is not a number")
	}
	return utime + stime, nil
}

// cpuDelta sums the CPU ticks each process used between two snapshots,
// counting only processes present in both: the benchmark's own processes
// in ours, and every process's by the name it is reported under.
func cpuDelta(before, after map[int]procTicks) (ours int64, byName map[string]int64) {
	byName = map[string]int64{}
	for pid, a := range after {
		if b, ok := before[pid]; ok && a.ticks >= b.ticks && a.name == b.name {
			byName[a.name] += a.ticks - b.ticks
			if a.ours {
				ours += a.ticks - b.ticks
			}
		}
	}
	return ours, byName
}

// fmtByProcess lists the CPU per request of the processes that used the
// most during a run, busiest first: where a case's time goes.
func fmtByProcess(r wrkResult) string {
	if r.requests == 0 || r.clk == 0 {
		return ""
	}
	names := make([]string, 0, len(r.byProcess))
	for n, t := range r.byProcess {
		if t > 0 {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(r.byProcess[b], r.byProcess[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(names))
	for _, n := range names[:min(len(names), 8)] {
		us := float64(r.byProcess[n]) / float64(r.clk) * 1e6 / float64(r.requests)
		parts = append(parts, n+" "+fmtUS(us))
	}
	return strings.Join(parts, ", ")
}

// clockTicks returns the kernel's clock ticks per second (getconf CLK_TCK),
// 100 when it cannot be asked.
func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

// caseSummary aggregates a case's rounds.
type caseSummary struct {
	requests           int64
	rps                float64 // all requests / all time
	p50, p99, worstP99 time.Duration
	cpuPerReq          float64 // microseconds
	errors             int64
}

func summarize(runs []wrkResult, clk int64) caseSummary {
	var s caseSummary
	var elapsed time.Duration
	var ticks int64
	var p50s, p99s []time.Duration
	for _, r := range runs {
		s.requests += r.requests
		elapsed += r.elapsed
		ticks += r.cpuTicks
		s.errors += r.errors()
		p50s = append(p50s, r.p50)
		p99s = append(p99s, r.p99)
		s.worstP99 = max(s.worstP99, r.p99)
	}
	if elapsed > 0 {
		s.rps = float64(s.requests) / elapsed.Seconds()
	}
	if s.requests > 0 && clk > 0 {
		s.cpuPerReq = float64(ticks) / float64(clk) * 1e6 / float64(s.requests)
	}
	s.p50, s.p99 = median(p50s), median(p99s)
	return s
}

// median returns the middle value (the mean of the middle two for an even
// count), 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fmtDur writes a latency the way wrk does, at a precision that suits it:
// 850us, 2.15ms, 31.2ms, 312ms, 1.25s.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// fmtUS writes microseconds of CPU: 61us, 4.2us.
func fmtUS(us float64) string {
	if us < 10 {
		return fmt.Sprintf("%.1fus", us)
	}
	return fmt.Sprintf("%.0fus", us)
}

// fmtRatio writes a as a multiple of b: "x0.46" ("x?" when b is 0).
func fmtRatio(a, b float64) string {
	if b <= 0 {
		return "x?"
	}
	return fmt.Sprintf("x%.2f", a/b)
}

// withDatabaseName returns dbURL naming database name instead.
func withDatabaseName(dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("DATABASE_URL is not a URL: %q", dbURL)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// redisThroughProxy starts a fault proxy in front of the Redis of redisURL
// and returns it with the URL that reaches Redis through it.
func redisThroughProxy(redisURL string) (*faultproxy.Proxy, string, error) {
	u, err := url.Parse(redisURL)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("REDIS_URL is not a URL: %q", redisURL)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "6379")
	}
	p, err := faultproxy.Start(target)
	if err != nil {
		return nil, "", err
	}
	u.Host = p.Addr()
	return p, u.String(), nil
}

// hostOf returns the host:port of a URL.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// randomSecret returns a fresh SECRET_KEY for one run.
func randomSecret() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
