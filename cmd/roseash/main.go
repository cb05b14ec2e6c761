// Command roseash is the operator's tool for development and admin tasks:
//
//	roseash up [--bin DIR]   create the database, migrate, seed, run all six services
//	roseash migrate          apply pending migrations
//	roseash seed             insert the demo records that are missing
//	roseash schema           print the schema after all migrations (schema.sql)
//	roseash signin-link EMAIL   print a single-use sign-in link
//	roseash scrape URL...       import products from supplier pages (dry run)
//	roseash bench [--bin DIR]   measure the blog home against a static page
//	roseash sumup-sandbox       serve the fake SumUp that make up runs
//
// It reads the same configuration as the services (_config/app-config.yaml
// and the environment: DATABASE_URL, REDIS_URL, SECRET_KEY...). In
// development, unset DATABASE_URL, REDIS_URL and SECRET_KEY take make up's
// values (withDevelopmentDefaults); production demands them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "roseash:", err)
		os.Exit(1)
	}
}

const usage = `usage: roseash <command> [flags]

commands:
  up [--bin DIR]   create the database, migrate, seed demo content and run the six
                   services from the binaries in DIR (default .dev/bin) until Ctrl-C;
                   set BLOG_PORT, MARKET_PORT... to move a service off 8001-8006
  migrate          apply pending migrations to MIGRATE_DATABASE_URL, or else DATABASE_URL
  seed             insert the demo records that are missing (idempotent)
  schema           print the schema after all migrations, as schema.sql holds it
  ghost-sync       copy posts, pages, tags and authors from the Ghost site at GHOST_URL
                   (Content API key GHOST_CONTENT_KEY) into the blog, with progress;
                   a Ghost on a private address needs GHOST_ALLOW_PRIVATE_ADDRESS=true
  scrape [-max N] [-selectors JSON] URL [URL...]
                   read the products on supplier pages (product pages, category pages
                   or sitemaps) politely (robots.txt, SCRAPE_DELAY between requests to a
                   host) and list them with their prices; nothing is stored yet. Pages on
                   a private address need SCRAPE_ALLOW_PRIVATE_ADDRESS=true
  signin-link EMAIL
                   print a single-use sign-in link for EMAIL (valid auth.magic_link_ttl)
  bench [--bin DIR] [flags]
                   run the stack on ports 9101-9108 with its own database and Redis
                   prefix and measure the blog home against a static page with wrk
                   (make bench; roseash bench -h lists the flags)
  bench-baseline ADDR
                   serve the benchmark's static 20 KB page on ADDR
  sumup-sandbox [-listen 127.0.0.1:8007] [-public-url URL]
                   serve the SumUp sandbox (a fake SumUp: checkouts, a payment page
                   with Pay, Decline and Let it expire, webhooks, refunds) until
                   Ctrl-C; up runs it by itself on SUMUP_PORT (default 8007) when
                   sumup.api_url is empty or http://sumup.localhost:PORT

In development (APP_ENV or the config file's environment), unset DATABASE_URL,
REDIS_URL and SECRET_KEY take make up's values: the local roseash database
(PGPORT), the local Redis (REDIS_PORT) and .dev/secret-key (ROSEASH_STATE).
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	getenv, err := withDevelopmentDefaults(getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return up(ctx, args[1:], getenv, stdout)
	case "migrate":
		return migrateCmd(ctx, getenv, stdout)
	case "seed":
		return seedCmd(ctx, getenv, stdout)
	case "schema":
		return schemaCmd(ctx, getenv, stdout)
	case "ghost-sync":
		return ghostSyncCmd(ctx, args[1:], getenv, stdout)
	case "scrape":
		return scrapeCmd(ctx, args[1:], getenv, stdout, drySink)
	case "signin-link":
		return signInLinkCmd(ctx, args[1:], getenv, stdout)
	case "bench":
		return bench(ctx, args[1:], getenv, stdout)
	case "bench-baseline":
		return benchBaseline(ctx, args[1:], stdout)
	case "sumup-sandbox":
		return sumupSandboxCmd(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
