package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"code.dny.dev/ssrf"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/scrape"
	"rose-ash.com/platform/shared/services/products"
)

// scrapeSinkFunc opens the Sink a scrape records products in, and returns
// what closes it: drySink without -market, queueSinkFor's with it.
type scrapeSinkFunc func(ctx context.Context, cfg *config.Config) (scrape.Sink, func(), error)

// drySink keeps the products in memory: every product is new, nothing is
// stored, and no database is needed.
func drySink(context.Context, *config.Config) (scrape.Sink, func(), error) {
	return scrape.NewMemorySink(), func() {}, nil
}

// queueSinkFor returns the scrapeSinkFunc of -market: what is found goes to
// the review queue of that market, as the market's admin importer puts it
// there (a source per address given, created unless there is one; a
// trusted source's products are applied at once).
func queueSinkFor(market string) scrapeSinkFunc {
	return func(ctx context.Context, cfg *config.Config) (scrape.Sink, func(), error) {
		pool, err := cliPool(ctx, cfg.DatabaseURL, 2)
		if err != nil {
			return nil, nil, err
		}
		mediaStore, err := media.NewDiskStore(cfg.Media.Dir)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		store := products.New(pool)
		if _, err := store.Market(ctx, market); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("-market %s: %s", market, models.Message(err))
		}
		q := &queueSink{im: products.NewImports(cfg, store, mediaStore), market: market, sinks: map[string]scrape.Sink{}}
		return q, func() {
			if q.trusted {
				purgeMarketPages(ctx, cfg)
			}
			pool.Close()
		}, nil
	}
}

// queueSink records each product in the review queue under the source of
// the address its import started from.
type queueSink struct {
	im     *products.Imports
	market string
	sinks  map[string]scrape.Sink
	// trusted says a trusted source was used: what it found was applied,
	// and the market's cached pages are purged.
	trusted bool
}

// Record records item through its source's sink.
func (q *queueSink) Record(ctx context.Context, item scrape.Item) (scrape.Outcome, error) {
	sink, ok := q.sinks[item.SourceURL]
	if !ok {
		src, err := q.source(ctx, item.SourceURL)
		if err != nil {
			return 0, err
		}
		q.trusted = q.trusted || src.Trusted
		sink = q.im.Sink(src)
		q.sinks[item.SourceURL] = sink
	}
	return sink.Record(ctx, item)
}

// source returns the source at address, adding it to the market unless
// there is one.
func (q *queueSink) source(ctx context.Context, address string) (products.Source, error) {
	sources, err := q.im.Store.Sources(ctx)
	if err != nil {
		return products.Source{}, err
	}
	for _, src := range sources {
		if src.URL == address {
			return src, nil
		}
	}
	return q.im.Store.CreateSource(ctx, products.SourceInput{URL: address, Market: q.market})
}

// purgeMarketPages drops the market's cached pages, so that the products
// a trusted source applied show at once.
func purgeMarketPages(ctx context.Context, cfg *config.Config) {
	rdb, err := cache.Open(cfg.RedisURL)
	if err == nil {
		defer rdb.Close()
		err = pagecache.Purge(ctx, rdb, cache.Namespace(cfg.RedisPrefix), "market")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "the market's cached pages were not purged (they expire on their own): %v\n", err)
	}
}

// scrapeCmd imports the products at each URL (a product page, a category
// page or a sitemap) with the scraper's rules (robots.txt, a delay per
// host, Retry-After), showing progress, then prints a summary and each
// product with its price. It fails when no product could be extracted.
// Supplier pages on loopback or a private network need
// SCRAPE_ALLOW_PRIVATE_ADDRESS=true, refused in production.
func scrapeCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, newSink scrapeSinkFunc) error {
	fs := flag.NewFlagSet("scrape", flag.ContinueOnError)
	fs.SetOutput(stdout)
	maxPages := fs.Int("max", scrape.DefaultMaxPages, "the most pages fetched, listings included")
	selectors := fs.String("selectors", "", `CSS selectors for pages without product data, as JSON: {"name":"h1","price":".price",...}`)
	market := fs.String("market", "", "queue what is found for review in this market (its slug); without it nothing is stored")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: roseash scrape [-market SLUG] [-max N] [-selectors JSON] URL [URL...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("scrape needs the address of a product page, a category page or a sitemap")
	}
	var sel scrape.Selectors
	if *selectors != "" {
		if err := json.Unmarshal([]byte(*selectors), &sel); err != nil {
			return fmt.Errorf("-selectors is not a JSON object of selectors: %w", err)
		}
		if err := scrape.CheckSelectors(sel); err != nil {
			return err
		}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	opts := scrape.ConfigOptions(cfg)
	if *market != "" {
		newSink = queueSinkFor(*market)
	}
	sink, closeSink, err := newSink(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeSink()

	tty := isTerminal(stdout)
	im := &scrape.Importer{Fetcher: scrape.NewFetcher(opts), Sink: sink, Selectors: sel, MaxPages: *maxPages,
		Progress: func(p scrape.Progress) {
			switch {
			case p.URL == "" && tty:
				fmt.Fprint(stdout, "\r\033[K")
			case p.URL == "":
			case tty:
				fmt.Fprintf(stdout, "\r\033[K[%d/%d] fetching %s", p.Done+1, p.Total, p.URL)
			default:
				fmt.Fprintf(stdout, "[%d/%d] fetching %s\n", p.Done+1, p.Total, p.URL)
			}
		}}
	sum, err := im.Import(ctx, fs.Args()...)
	printScrapeSummary(stdout, sum)
	switch {
	case *market == "" && sum.Found > 0:
		fmt.Fprintln(stdout, "nothing was stored: with -market SLUG the products go to that market's review queue")
	case *market != "" && sum.New+sum.Changed > 0:
		fmt.Fprintf(stdout, "queued for review: %s\n", cfg.Service("market").PublicURL+"/admin/review")
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("scrape interrupted")
		}
		if errors.Is(err, ssrf.ErrProhibitedIP) {
			err = errors.Join(err, errors.New("a supplier site on this machine or a private network needs SCRAPE_ALLOW_PRIVATE_ADDRESS=true (development only)"))
		}
		if len(sum.Failures) > 1 {
			return fmt.Errorf("nothing could be extracted from the %d pages (errors above)", len(sum.Failures))
		}
		return fmt.Errorf("nothing could be extracted: %w", err)
	}
	return nil
}

// printScrapeSummary writes the counts, each product with its price and
// availability, the conflicts to check and the failures.
func printScrapeSummary(w io.Writer, sum scrape.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "found\tnew\tchanged\tunchanged\terrors\t")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t\n", sum.Found, sum.New, sum.Changed, sum.Unchanged, sum.Errors())
	tw.Flush()
	if sum.NotModified > 0 {
		fmt.Fprintf(w, "%d pages not modified since the last import\n", sum.NotModified)
	}
	if sum.Skipped > 0 {
		fmt.Fprintf(w, "%d more listed pages were left out (-max %d)\n", sum.Skipped, sum.Pages)
	}
	if len(sum.Items) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, it := range sum.Items {
			p := it.Product
			if len(p.Variants) == 0 {
				fmt.Fprintf(tw, "%s\tno price\t\t%s\n", p.Name, it.Outcome)
				continue
			}
			for _, v := range p.Variants {
				name := p.Name
				if v.Name != "" && !strings.Contains(v.Name, p.Name) {
					name += " (" + v.Name + ")"
				} else if v.Name != "" {
					name = v.Name
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, scrape.PriceText(v), scrape.AvailabilityText(v.Availability), it.Outcome)
			}
		}
		tw.Flush()
	}
	if len(sum.Conflicts) > 0 {
		fmt.Fprintln(w, "\nconflicting product data (check before publishing):")
		for _, c := range sum.Conflicts {
			fmt.Fprintln(w, "  "+c)
		}
	}
	if len(sum.Failures) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, f := range sum.Failures {
			fmt.Fprintln(w, "  "+f.Err.Error())
		}
	}
}

// isTerminal reports whether w is a terminal, where progress redraws one
// line instead of printing one per page.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
