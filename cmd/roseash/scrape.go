package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"

	"code.dny.dev/ssrf"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/scrape"
)

// scrapeSinkFunc opens the Sink a scrape records products in, and returns
// what closes it. drySink is today's; the products domain's review queue
// is wired by passing its own from run.
type scrapeSinkFunc func(ctx context.Context, cfg *config.Config) (scrape.Sink, func(), error)

// drySink keeps the products in memory: every product is new, nothing is
// stored, and no database is needed.
func drySink(context.Context, *config.Config) (scrape.Sink, func(), error) {
	return scrape.NewMemorySink(), func() {}, nil
}

// privateRanges are what SCRAPE_ALLOW_PRIVATE_ADDRESS opens: loopback and
// private networks, but not link-local, where cloud metadata lives.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
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
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: roseash scrape [-max N] [-selectors JSON] URL [URL...]")
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
	opts := scrape.FetchOptions{
		UserAgent: cfg.Scrape.UserAgent,
		Delay:     cfg.Scrape.Delay.Std(),
	}
	if opts.UserAgent == "" {
		opts.UserAgent = scrape.UserAgent(cfg.Service("blog").PublicURL)
	}
	if opts.Delay == 0 {
		opts.Delay = -1 // SCRAPE_DELAY=0s: none
	}
	if cfg.Scrape.AllowPrivateAddress { // Load refused it in production
		opts.Allow = privateRanges
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
