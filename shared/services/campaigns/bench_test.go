package campaigns_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/campaigns"
)

// BenchmarkCampaign50000 sends a campaign to 50,000 subscribers through a
// pool of SMTP connections into the local test relay with no rate limit,
// then a second campaign to the same people whose worker is stopped
// halfway and started again. It prints messages per second, duplicates and
// missing recipients of each (both must be 0) and fails otherwise. One
// iteration is the whole run (make gobench).
func BenchmarkCampaign50000(b *testing.B) {
	n := 50000
	if v, err := strconv.Atoi(os.Getenv("CAMPAIGN_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v // a quicker run while working on it
	}
	for range b.N {
		h := &harness{db: pgtest.MustPool(b), sink: mailtest.Start(b, mailtest.WithCountOnly())}
		h.with(b, campaigns.Options{Concurrency: 16, BatchSize: 500}, h.sink.Addr())
		pool, err := mail.NewSMTPPool(h.sink.Config("Rose Ash <news@rose-ash.test>"), 16)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = pool.Close() })
		h.worker.Mail = pool
		emails, _ := h.subscribers(b, h.list, "b", n)
		if _, err := h.db.Exec(context.Background(), "ANALYZE"); err != nil { // as autovacuum would
			b.Fatal(err)
		}

		check := func(label string, elapsed time.Duration, base int) {
			got := h.sink.Recipients()
			dup, missing := 0, 0
			for _, e := range emails {
				switch c := got[e] - base; {
				case c == 0:
					missing++
				case c > 1:
					dup += c - 1
				}
			}
			rate := float64(n) / elapsed.Seconds()
			fmt.Printf("campaign to %d subscribers (%s): %.0f messages/s, %d duplicates, %d missing\n", n, label, rate, dup, missing)
			b.ReportMetric(rate, strings.ReplaceAll(label, " ", "-")+"-msgs/s")
			if dup != 0 || missing != 0 {
				b.Errorf("%s: %d duplicates, %d missing", label, dup, missing)
			}
		}

		client := h.run(b)
		began := time.Now()
		id := h.campaign(b, h.list)
		h.waitStatus(b, id, campaigns.StatusSent, 10*time.Minute)
		check("straight", time.Since(began), 0)

		began = time.Now()
		id = h.campaign(b, h.list)
		for h.sink.Total() < n+n/2 {
			time.Sleep(5 * time.Millisecond)
		}
		stop, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := client.StopAndCancel(stop); err != nil {
			b.Fatal(err)
		}
		cancel()
		h.run(b)
		h.waitStatus(b, id, campaigns.StatusSent, 10*time.Minute)
		check("stopped halfway", time.Since(began), 1)
		if st, _ := h.store.Stats(context.Background(), id); st.Uncertain != 0 {
			b.Errorf("%d uncertain after a graceful stop", st.Uncertain)
		}
	}
}
