package main

import (
	"context"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/products"
)

// Reports as wrk 4.1 (Debian's package) prints them.
const wrkOK = `Running 1s test @ http://127.0.0.1:9199/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.40ms    1.54ms  14.56ms   88.68%
    Req/Sec    27.25k     5.38k   47.46k    85.71%
  Latency Distribution
     50%    0.99ms
     75%    1.81ms
     90%    3.14ms
     99%    7.51ms
  56946 requests in 1.10s, 1.09GB read
Requests/sec:  51696.67
Transfer/sec:      0.99GB
`

const wrkErrors = `Running 5s test @ http://127.0.0.1:9101/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   108.27us  224.17us    1.99s    97.63%
    Req/Sec    22.09k     1.32k   23.96k    63.64%
  Latency Distribution
     50%   85.00us
     75%   99.00us
     90%  113.00us
     99%    1.20s
  24158 requests in 5.01s, 4.05MB read
  Socket errors: connect 0, read 3, write 1, timeout 12
  Non-2xx or 3xx responses: 240
Requests/sec:   4821.96
Transfer/sec:      0.81MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOK)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{requests: 56946, elapsed: 1100 * time.Millisecond, rps: 51696.67,
		p50: 990 * time.Microsecond, p99: 7510 * time.Microsecond}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("parseWrk = %+v\nwant       %+v", r, want)
	}
	if r.errors() != 0 {
		t.Errorf("errors = %d, want 0", r.errors())
	}

	r, err = parseWrk(wrkErrors)
	if err != nil {
		t.Fatal(err)
	}
	if r.p50 != 85*time.Microsecond || r.p99 != 1200*time.Millisecond || r.elapsed != 5010*time.Millisecond {
		t.Errorf("p50 %v p99 %v elapsed %v, want 85us 1.2s 5.01s", r.p50, r.p99, r.elapsed)
	}
	if r.non2xx != 240 || r.socketErrors != 16 || r.errors() != 256 {
		t.Errorf("non2xx %d socket %d errors %d, want 240 16 256", r.non2xx, r.socketErrors, r.errors())
	}
}

func TestParseWrkRefusesIncompleteReports(t *testing.T) {
	noLatency := strings.Replace(wrkOK, "     99%    7.51ms\n", "", 1)
	for name, out := range map[string]string{
		"empty":          "",
		"no latency":     noLatency,
		"no total":       strings.Replace(wrkOK, "56946 requests in 1.10s", "", 1),
		"no rate":        strings.Replace(wrkOK, "Requests/sec:", "", 1),
		"connect failed": "unable to connect to 127.0.0.1:9101 Connection refused\n",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: parseWrk accepted it", name)
		}
	}
}

func TestWrkDuration(t *testing.T) {
	for in, want := range map[[2]string]time.Duration{
		{"850.00", "us"}: 850 * time.Microsecond,
		{"2.10", "ms"}:   2100 * time.Microsecond,
		{"1.5", "s"}:     1500 * time.Millisecond,
		{"1.00", "m"}:    time.Minute,
		{"2", "h"}:       2 * time.Hour,
	} {
		got, err := wrkDuration(in[0], in[1])
		if err != nil || got != want {
			t.Errorf("wrkDuration(%q, %q) = %v, %v; want %v", in[0], in[1], got, err, want)
		}
	}
	if _, err := wrkDuration("1", "d"); err == nil {
		t.Error("unknown unit accepted")
	}
}

func TestProcCPUTicks(t *testing.T) {
	// Field 14 utime, 15 stime; the command name may hold spaces and ")".
	stat := "18487 (my (odd) prog) R 18434 18434 10923 0 -1 4194304 100 0 0 0 1234 56 7 8 20 0 1 0 429883 3133440 391"
	got, err := procCPUTicks(stat)
	if err != nil || got != 1290 {
		t.Errorf("procCPUTicks = %d, %v; want 1290 (1234 + 56, not the children's 7 and 8)", got, err)
	}
	for _, bad := range []string{"", "1 (x) R 2 3", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 u s"} {
		if _, err := procCPUTicks(bad); err == nil {
			t.Errorf("procCPUTicks(%q) accepted it", bad)
		}
	}
}

func TestCPUDeltaCountsProcessesInBothSnapshots(t *testing.T) {
	before := map[int]procTicks{10: {"blog", 100, true}, 11: {"cart", 50, true}, 12: {"cart", 7, true},
		20: {"postgres", 30, false}, 21: {"postgres", 5, false}}
	after := map[int]procTicks{10: {"blog", 130, true}, 11: {"cart", 60, true}, 13: {"cart", 999, true}, // 12 stopped, 13 started meanwhile
		20: {"postgres", 45, false}, 21: {"postgres", 9, false}}
	ours, byName := cpuDelta(before, after)
	if ours != 40 {
		t.Errorf("cpuDelta counted %d ticks of the benchmark's processes, want 40", ours)
	}
	if want := map[string]int64{"blog": 30, "cart": 10, "postgres": 19}; !maps.Equal(byName, want) {
		t.Errorf("cpuDelta by name = %v, want %v", byName, want)
	}
	r := wrkResult{requests: 100, clk: 100, byProcess: byName}
	if got, want := fmtByProcess(r), "blog 3000us, postgres 1900us, cart 1000us"; got != want {
		t.Errorf("fmtByProcess = %q, want %q", got, want)
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	runs := []wrkResult{
		{requests: 10000, elapsed: 5 * time.Second, p50: 2 * ms, p99: 9 * ms, cpuTicks: 100},
		{requests: 12000, elapsed: 5 * time.Second, p50: 1 * ms, p99: 7 * ms, cpuTicks: 110, non2xx: 2},
		{requests: 8000, elapsed: 5 * time.Second, p50: 3 * ms, p99: 20 * ms, cpuTicks: 90, socketErrors: 1},
	}
	s := summarize(runs, 100)
	if s.requests != 30000 || s.rps != 2000 {
		t.Errorf("requests %d rps %v, want 30000 and 2000 (all requests / all time)", s.requests, s.rps)
	}
	if s.p50 != 2*ms || s.p99 != 9*ms || s.worstP99 != 20*ms {
		t.Errorf("p50 %v p99 %v worst %v, want the medians 2ms 9ms and the worst 20ms", s.p50, s.p99, s.worstP99)
	}
	if s.cpuPerReq != 100 { // 300 ticks = 3s of CPU over 30000 requests
		t.Errorf("cpu %v us/req, want 100", s.cpuPerReq)
	}
	if s.errors != 3 {
		t.Errorf("errors %d, want 3", s.errors)
	}
	if z := summarize(nil, 100); z.rps != 0 || z.cpuPerReq != 0 || z.p99 != 0 {
		t.Errorf("summarize(nil) = %+v", z)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
		{[]time.Duration{10, 20}, 15},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond:   "850us",
		2149 * time.Microsecond:  "2.15ms",
		31240 * time.Microsecond: "31.2ms",
		312 * time.Millisecond:   "312ms",
		1250 * time.Millisecond:  "1.25s",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	if got := fmtUS(61.4); got != "61us" {
		t.Errorf("fmtUS(61.4) = %q", got)
	}
	if got := fmtUS(4.23); got != "4.2us" {
		t.Errorf("fmtUS(4.23) = %q", got)
	}
	if got := fmtRatio(18250, 39674); got != "x0.46" {
		t.Errorf("fmtRatio = %q, want x0.46", got)
	}
	if got := fmtRatio(1, 0); got != "x?" {
		t.Errorf("fmtRatio(1, 0) = %q, want x?", got)
	}
}

func TestRatioTarget(t *testing.T) {
	if tg := ratioTarget("t", 40, 100, 0.40); !tg.pass || tg.got != "x0.40" {
		t.Errorf("exactly the ratio: %+v, want a pass", tg)
	}
	if tg := ratioTarget("t", 39, 100, 0.40); tg.pass {
		t.Errorf("below the ratio: %+v, want a miss", tg)
	}
	if tg := ratioTarget("t", 39, 0, 0.40); tg.pass {
		t.Errorf("nothing to compare with: %+v, want a miss", tg)
	}
}

func TestBaselinePage(t *testing.T) {
	p := baselinePage(baselineSize)
	if len(p) != 20480 {
		t.Errorf("baseline page is %d bytes, want 20480", len(p))
	}
	s := string(p)
	if !strings.HasPrefix(s, "<!doctype html>") || !strings.HasSuffix(s, "</html>\n") || !strings.Contains(s, "Paragraph 1 ") {
		t.Errorf("baseline page is not the expected HTML:\n%.200s", s)
	}
}

func TestWithDatabaseName(t *testing.T) {
	got, err := withDatabaseName("postgres://u:p@127.0.0.1:5433/roseash?sslmode=disable", "roseash_bench")
	if err != nil || got != "postgres://u:p@127.0.0.1:5433/roseash_bench?sslmode=disable" {
		t.Errorf("withDatabaseName = %q, %v", got, err)
	}
	if _, err := withDatabaseName("not a url", "x"); err == nil {
		t.Error("a DATABASE_URL that is no URL was accepted")
	}
}

func TestBenchFlags(t *testing.T) {
	o, err := parseBenchFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.port != 9101 || o.rounds != 3 || o.duration != 5*time.Second || o.conns != 64 || o.threads != 2 || o.rate != 500 {
		t.Errorf("defaults = %+v", o)
	}
	for _, bad := range [][]string{
		{"--duration", "2500ms"}, {"--duration", "0s"}, {"--rounds", "0"}, {"--port", "65530"},
		{"--connections", "1", "--threads", "2"}, {"--rate", "0"},
	} {
		if _, err := parseBenchFlags(bad); err == nil {
			t.Errorf("parseBenchFlags(%q) accepted it", bad)
		}
	}
}

func TestSignedInName(t *testing.T) {
	page := `<div class="account-bar"><span class="account-name">Rose Ash Admin</span>`
	if got := signedInName(page); got != "Rose Ash Admin" {
		t.Errorf("signedInName = %q", got)
	}
	if got := signedInName(`<a class="account-signin" href="/auth/login">Sign in</a>`); got != "" {
		t.Errorf("signedInName of a signed-out page = %q", got)
	}
}

// The market cases' catalogue: 10,000 distinct products with valid
// addresses, of which the searched word names one in 25 (a page of results
// and many more), each with two prices.
func TestBenchCatalogue(t *testing.T) {
	slugs, names := map[string]bool{}, map[string]bool{}
	matches := 0
	for i := range benchCatalogueSize {
		p := benchProduct(i)
		if err := products.ValidSlug("product", p.Slug, 100); err != nil {
			t.Fatalf("product %d: %v", i, err)
		}
		if slugs[p.Slug] || names[p.Name] {
			t.Fatalf("product %d repeats %s / %s", i, p.Slug, p.Name)
		}
		slugs[p.Slug], names[p.Name] = true, true
		if len(p.Variants) != 2 || p.Variants[0].Price <= 0 || !p.Publish || p.Market != benchMarket {
			t.Fatalf("product %d: %+v", i, p)
		}
		if strings.Contains(strings.ToLower(p.Name), benchSearchWord) {
			matches++
		}
	}
	if want := benchCatalogueSize / len(benchNouns); matches != want {
		t.Errorf("%d products are named %q, want %d", matches, benchSearchWord, want)
	}
	if !strings.Contains(benchNouns[0], "Honey") || !strings.EqualFold(benchNouns[0], benchSearchWord) {
		t.Errorf("case 9 checks its page for %q, the searched word", benchNouns[0])
	}
}

func TestMarketTargets(t *testing.T) {
	sums := map[int]caseSummary{1: {rps: 10000}, 7: {rps: 4000}, 8: {rps: 3900}, 9: {rps: 1000, p99: 31240 * time.Microsecond}}
	got := marketTargets(sums)
	if len(got) != 3 {
		t.Fatalf("%d market targets, want 3", len(got))
	}
	if !got[0].pass || got[1].pass || !got[2].pass {
		t.Errorf("home 0.40x, product 0.39x, search 0.10x: %+v", got)
	}
	if !strings.Contains(got[2].got, "p99 31.2ms") || !strings.HasPrefix(got[2].what, "case 9") {
		t.Errorf("the search target does not show its p99: %+v", got[2])
	}
}

// The bench's catalogue is loaded once through the products store (a
// second run adds nothing), and a search finds the searched word's share.
func TestSeedBenchCatalogue(t *testing.T) {
	dbURL := pgtest.MustDatabaseURL(t)
	ctx := context.Background()
	var out strings.Builder
	if err := seedBenchCatalogue(ctx, dbURL, &out); err != nil {
		t.Fatal(err)
	}
	if err := seedBenchCatalogue(ctx, dbURL, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "added 10000 products") || !strings.Contains(out.String(), "10000 products already there") {
		t.Errorf("the runs said:\n%s", out.String())
	}
	pool, err := cliPool(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var analyzed, vacuumed bool
	if err := pool.QueryRow(ctx, `SELECT last_analyze IS NOT NULL, last_vacuum IS NOT NULL FROM pg_stat_user_tables
WHERE relname = 'products'`).Scan(&analyzed, &vacuumed); err != nil || !analyzed || !vacuumed {
		t.Errorf("the products table was not vacuumed and analyzed after the load (%v): searches would not use the index", err)
	}
	// The search, as the shop runs it, finds its matches through the GIN
	// index, not by reading the 10,000 products.
	var plan strings.Builder
	rows, err := pool.Query(ctx, `EXPLAIN SELECT p.id FROM products p, to_tsquery('english', market_fold('honey:*')) AS tq
WHERE p.status = 'published' AND p.search @@ tq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if rows.Close(); !strings.Contains(plan.String(), "products_search_idx") {
		t.Errorf("the search does not use its index:\n%s", plan.String())
	}
	found, err := products.New(pool).Search(ctx, benchSearchWord, 1, 24)
	if err != nil || found.Total != benchCatalogueSize/len(benchNouns) || len(found.Products) != 24 {
		t.Errorf("searching %q: %d found, %d on the page, %v", benchSearchWord, found.Total, len(found.Products), err)
	}
}
