package campaigns_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/services/newsletters"
)

// harness is a database, an SMTP sink and a campaign worker sending to it.
type harness struct {
	db     *pgxpool.Pool
	sink   *mailtest.Server
	store  *campaigns.Store
	links  newsletters.Links
	worker *campaigns.SendWorker
	jobs   *river.Client[pgx.Tx] // inserts only, never started
	list   uuid.UUID
}

func newHarness(t testing.TB, opts campaigns.Options) *harness {
	t.Helper()
	h := &harness{db: pgtest.MustPool(t), sink: mailtest.Start(t)}
	return h.with(t, opts, h.sink.Addr())
}

// with points the worker at the SMTP server at addr ("host:port").
func (h *harness) with(t testing.TB, opts campaigns.Options, addr string) *harness {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	cfg := h.sink.Config("Rose Ash <news@rose-ash.test>")
	cfg.Host = host
	fmt.Sscan(port, &cfg.Port)
	cfg.Timeout = 2 * time.Second
	sender, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.store = campaigns.New(h.db)
	h.links = newsletters.Links{Key: []byte("test-key-test-key-test-key-32byt"), Base: "https://account.rose-ash.test", Mailto: "unsubscribe@rose-ash.test"}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = 100 * time.Millisecond
	}
	if opts.RelayRetry == 0 {
		opts.RelayRetry = 200 * time.Millisecond
	}
	h.worker = &campaigns.SendWorker{DB: h.db, Mail: sender, Options: opts,
		Renderer: campaigns.Renderer{Links: h.links}}
	h.jobs, err = river.NewClient(riverpgxv5.New(h.db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if h.list == uuid.Nil {
		if h.list, err = newsletters.SeedList(context.Background(), h.db, "news", "Rose Ash news"); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// run starts a River client working campaign jobs; stop it with
// StopAndCancel or let the test end.
func (h *harness) run(t testing.TB) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, h.worker)
	c, err := river.NewClient(riverpgxv5.New(h.db), &river.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{campaigns.Queue: {MaxWorkers: 2}},
		FetchPollInterval: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.StopAndCancel(ctx)
	})
	return c
}

// subscribers adds n confirmed subscribers to list and returns their
// addresses and ids.
func (h *harness) subscribers(t testing.TB, list uuid.UUID, prefix string, n int) ([]string, []uuid.UUID) {
	t.Helper()
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("%s%05d@example.test", prefix, i)
	}
	ids, err := newsletters.SeedSubscribers(context.Background(), h.db, emails)
	if err != nil {
		t.Fatal(err)
	}
	if err := newsletters.SeedSubscriptions(context.Background(), h.db, list, ids, "confirmed"); err != nil {
		t.Fatal(err)
	}
	return emails, ids
}

// campaign creates a campaign to lists and starts it.
func (h *harness) campaign(t testing.TB, lists ...uuid.UUID) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id, err := h.store.Create(ctx, campaigns.Input{Subject: "Spring at the cooperative",
		HTML:    `<h2>Hello</h2><p>The <a href="https://rose-ash.test/market">market</a> opens on Saturday.</p><script>alert(1)</script>`,
		ListIDs: lists, Archive: true}, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Start(ctx, h.jobs, id, 0); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) waitStatus(t testing.TB, id uuid.UUID, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := h.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == want {
			return
		}
		if time.Now().After(deadline) {
			st, _ := h.store.Stats(context.Background(), id)
			t.Fatalf("campaign is %s (%q), not %s, after %s; stats %+v; %d messages in the sink", c.Status, c.StatusNote, want, timeout, st, len(h.sink.Messages()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// perRecipient counts the messages each address received.
func (h *harness) perRecipient() map[string]int {
	out := map[string]int{}
	for _, m := range h.sink.Messages() {
		out[strings.ToLower(m.To)]++
	}
	return out
}

// exactlyOnce fails unless each of want got one message and nobody else any.
func (h *harness) exactlyOnce(t testing.TB, want []string) {
	t.Helper()
	got := h.perRecipient()
	for _, e := range want {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want 1", e, got[e])
		}
		delete(got, e)
	}
	for e, n := range got {
		t.Errorf("%s received %d messages, want none", e, n)
	}
}

func (h *harness) state(t testing.TB, id, subscriber uuid.UUID) string {
	t.Helper()
	var s string
	if err := h.db.QueryRow(context.Background(), `SELECT state FROM newsletter_campaign_recipients WHERE campaign_id = $1 AND subscriber_id = $2`, id, subscriber).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCampaignReachesEachConfirmedSubscriberOnceWithListHeaders(t *testing.T) {
	h := newHarness(t, campaigns.Options{Concurrency: 4, BatchSize: 7})
	ctx := context.Background()
	other, err := newsletters.SeedList(ctx, h.db, "events", "Events")
	if err != nil {
		t.Fatal(err)
	}
	emails, ids := h.subscribers(t, h.list, "a", 25)
	// Ten of them are on both lists: still one message each, through
	// "Events" (first by name).
	if err := newsletters.SeedSubscriptions(ctx, h.db, other, ids[:10], "confirmed"); err != nil {
		t.Fatal(err)
	}
	unconfirmed, _ := newsletters.SeedSubscribers(ctx, h.db, []string{"pending@example.test"})
	if err := newsletters.SeedSubscriptions(ctx, h.db, h.list, unconfirmed, "unconfirmed"); err != nil {
		t.Fatal(err)
	}
	if err := newsletters.SeedSuppression(ctx, h.db, emails[24]); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	id := h.campaign(t, h.list, other)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, emails[:24])

	m := h.sink.WaitFor(t, emails[0], time.Second)
	if m.Subject != "Spring at the cooperative" {
		t.Errorf("subject %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<script") || !strings.Contains(m.HTML, "market</a> opens on Saturday") {
		t.Errorf("HTML body not the sanitized text: %s", m.HTML)
	}
	if !strings.Contains(m.Text, "The market (https://rose-ash.test/market) opens on Saturday.") {
		t.Errorf("plain text: %s", m.Text)
	}
	raw := string(m.Raw)
	if !strings.Contains(raw, "List-Id: Events <events.lists.account.rose-ash.test>") {
		t.Errorf("a subscriber of both lists is not reached through Events:\n%s", raw)
	}
	if !strings.Contains(raw, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") || !strings.Contains(raw, "mailto:unsubscribe@rose-ash.test") {
		t.Errorf("list headers missing:\n%s", raw)
	}
	// The footer's unsubscribe link is the subscriber's own.
	i := strings.Index(m.Text, "Unsubscribe: ")
	link := strings.Fields(m.Text[i+len("Unsubscribe: "):])[0]
	_, token, _ := strings.Cut(link, "?t=")
	tok, err := h.links.Parse(newsletters.PurposeUnsubscribe, strings.ReplaceAll(token, "%3D", "="), time.Now())
	if err != nil || tok.SubscriberID != ids[0] || tok.ListID != other {
		t.Errorf("unsubscribe link %s: token %+v, %v", link, tok, err)
	}
	st, err := h.store.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 24 || st.Sent != 24 || st.Waiting != 0 {
		t.Errorf("stats %+v, want 24 sent of 24", st)
	}
}

func TestUnsubscribedOrSuppressedAfterTheStartAreSkipped(t *testing.T) {
	h := newHarness(t, campaigns.Options{})
	ctx := context.Background()
	emails, ids := h.subscribers(t, h.list, "s", 6)
	id := h.campaign(t, h.list) // not sending yet: no worker runs
	if err := newsletters.SeedUnsubscribe(ctx, h.db, ids[1], h.list); err != nil {
		t.Fatal(err)
	}
	if err := newsletters.SeedSuppression(ctx, h.db, emails[2]); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, []string{emails[0], emails[3], emails[4], emails[5]})
	for _, i := range []int{1, 2} {
		if s := h.state(t, id, ids[i]); s != campaigns.StateSkipped {
			t.Errorf("recipient %d is %s, want skipped", i, s)
		}
	}
	st, _ := h.store.Stats(ctx, id)
	if st.Sent != 4 || st.Skipped != 2 || st.Unsubscribed != 1 {
		t.Errorf("stats %+v, want 4 sent, 2 skipped, 1 unsubscribed", st)
	}
}

func TestStoppingTheWorkerMidSendAndStartingAgainReachesEachRecipientOnce(t *testing.T) {
	h := newHarness(t, campaigns.Options{Rate: 150, Concurrency: 4})
	emails, _ := h.subscribers(t, h.list, "r", 300)
	client := h.run(t)
	id := h.campaign(t, h.list)
	for len(h.sink.Messages()) < 90 {
		time.Sleep(10 * time.Millisecond)
	}
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.StopAndCancel(stop); err != nil {
		t.Fatal(err)
	}
	mid := len(h.sink.Messages())
	st, _ := h.store.Stats(context.Background(), id)
	if mid >= 300 || st.Uncertain != 0 || st.Sent != mid {
		t.Fatalf("after the stop: %d messages, stats %+v; want some left, none uncertain, every message recorded", mid, st)
	}
	h.run(t)
	h.waitStatus(t, id, campaigns.StatusSent, 30*time.Second)
	h.exactlyOnce(t, emails)
	if st, _ := h.store.Stats(context.Background(), id); st.Sent != 300 || st.Uncertain != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestARecipientLeftSendingByADeadWorkerIsUncertainAndNeverResent(t *testing.T) {
	h := newHarness(t, campaigns.Options{})
	emails, ids := h.subscribers(t, h.list, "d", 5)
	id := h.campaign(t, h.list)
	// A worker claimed it, then died before recording what the relay said.
	if _, err := h.db.Exec(context.Background(), `UPDATE newsletter_campaign_recipients SET state = 'sending', claimed_by = 'job-1-dead', claimed_at = now() - interval '1 hour'
WHERE campaign_id = $1 AND subscriber_id = $2`, id, ids[3]); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, append(emails[:3:3], emails[4]))
	if s := h.state(t, id, ids[3]); s != campaigns.StateUncertain {
		t.Errorf("the dead worker's claim is %s, want uncertain", s)
	}
	if st, _ := h.store.Stats(context.Background(), id); st.Uncertain != 1 || st.Sent != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestATemporaryRefusalIsRetriedThenSentAndAPermanentOneFails(t *testing.T) {
	h := newHarness(t, campaigns.Options{RetryAfter: 200 * time.Millisecond, MaxAttempts: 10})
	emails, ids := h.subscribers(t, h.list, "t", 4)
	h.sink.Reject(emails[1], 451)
	h.sink.Reject(emails[2], 550)
	h.run(t)
	id := h.campaign(t, h.list)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var attempts int
		if err := h.db.QueryRow(context.Background(), `SELECT attempts FROM newsletter_campaign_recipients WHERE campaign_id = $1 AND subscriber_id = $2`, id, ids[1]).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the greylisted recipient was tried %d times", attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.sink.Reject(emails[1], 0) // the greylisting ends
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, []string{emails[0], emails[1], emails[3]})
	if s := h.state(t, id, ids[2]); s != campaigns.StateFailed {
		t.Errorf("the refused recipient is %s, want failed", s)
	}
	if st, _ := h.store.Stats(context.Background(), id); st.Sent != 3 || st.Failed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestATemporaryRefusalFailsAfterMaxAttempts(t *testing.T) {
	h := newHarness(t, campaigns.Options{RetryAfter: 20 * time.Millisecond, MaxAttempts: 3})
	emails, ids := h.subscribers(t, h.list, "m", 2)
	h.sink.Reject(emails[0], 452)
	h.run(t)
	id := h.campaign(t, h.list)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	var attempts int
	var state string
	if err := h.db.QueryRow(context.Background(), `SELECT attempts, state FROM newsletter_campaign_recipients WHERE campaign_id = $1 AND subscriber_id = $2`, id, ids[0]).Scan(&attempts, &state); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || state != campaigns.StateFailed {
		t.Errorf("after 3 refusals: %d attempts, %s", attempts, state)
	}
}

// relay is a TCP forwarder in front of the sink that can be switched off
// (connections refused) and on again on the same port.
type relay struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
}

func newRelay(t testing.TB, target string) *relay {
	r := &relay{target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.serve(l)
	t.Cleanup(r.down)
	return r
}

func (r *relay) serve(l net.Listener) {
	r.mu.Lock()
	r.l = l
	r.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", r.target)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				io.Copy(c, s)
			}()
		}
	}()
}

func (r *relay) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.l != nil {
		r.l.Close()
		r.l = nil
	}
}

func (r *relay) up(t testing.TB) {
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	r.serve(l)
}

func TestAnUnreachableRelayPausesTheCampaignUntilItAnswersAgain(t *testing.T) {
	h := &harness{db: pgtest.MustPool(t), sink: mailtest.Start(t)}
	r := newRelay(t, h.sink.Addr())
	h.with(t, campaigns.Options{RelayRetry: 200 * time.Millisecond}, r.addr)
	emails, _ := h.subscribers(t, h.list, "u", 20)
	r.down()
	h.run(t)
	id := h.campaign(t, h.list)
	h.waitStatus(t, id, campaigns.StatusPaused, 20*time.Second)
	c, _ := h.store.Get(context.Background(), id)
	if c.StatusNote != campaigns.NoteRelayUnreachable {
		t.Errorf("paused with note %q", c.StatusNote)
	}
	if st, _ := h.store.Stats(context.Background(), id); st.Waiting != 20 || st.Failed+st.Uncertain != 0 {
		t.Errorf("while the relay is down: %+v, want all 20 still waiting", st)
	}
	time.Sleep(500 * time.Millisecond) // it tries again and stays paused
	r.up(t)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, emails)
}

// stamping records when each message was handed over.
type stamping struct {
	mail.Sender
	mu sync.Mutex
	at []time.Time
}

func (s *stamping) Send(ctx context.Context, m mail.Message) error {
	err := s.Sender.Send(ctx, m)
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return err
}

func TestTheRateLimitIsHonoured(t *testing.T) {
	h := newHarness(t, campaigns.Options{Rate: 50, Concurrency: 4})
	st := &stamping{Sender: h.worker.Mail}
	h.worker.Mail = st
	emails, _ := h.subscribers(t, h.list, "l", 100)
	h.run(t)
	id := h.campaign(t, h.list)
	h.waitStatus(t, id, campaigns.StatusSent, 30*time.Second)
	h.exactlyOnce(t, emails)
	first, last := st.at[0], st.at[0]
	for _, at := range st.at {
		if at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	// 100 messages at 50/s with a burst of 4: at least (100-4)/50 s.
	if span := last.Sub(first); span < 1900*time.Millisecond {
		t.Errorf("100 messages at 50/s went out in %s", span)
	}
}

func TestTheWindowCapHoldsTheRestBack(t *testing.T) {
	h := newHarness(t, campaigns.Options{WindowCap: 5, Window: time.Hour})
	_, _ = h.subscribers(t, h.list, "w", 8)
	h.run(t)
	id := h.campaign(t, h.list)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.sink.Messages()) < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(h.sink.Messages()); n != 5 {
		t.Errorf("%d messages went out under a cap of 5 an hour", n)
	}
	if c, _ := h.store.Get(context.Background(), id); c.Status != campaigns.StatusSending {
		t.Errorf("status %s, want still sending", c.Status)
	}
}

func TestPauseResumeAndCancel(t *testing.T) {
	h := newHarness(t, campaigns.Options{Rate: 40, Concurrency: 2})
	ctx := context.Background()
	emails, _ := h.subscribers(t, h.list, "p", 60)
	h.run(t)
	id := h.campaign(t, h.list)
	for len(h.sink.Messages()) < 10 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.store.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // the messages in flight end
	paused := len(h.sink.Messages())
	time.Sleep(500 * time.Millisecond)
	if n := len(h.sink.Messages()); n != paused || n == 60 {
		t.Fatalf("while paused: %d then %d messages", paused, n)
	}
	if err := h.store.Pause(ctx, id); err == nil {
		t.Error("pausing a paused campaign worked")
	}
	if err := h.store.Resume(ctx, h.jobs, id); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(t, id, campaigns.StatusSent, 30*time.Second)
	h.exactlyOnce(t, emails)

	// Cancelled: what has not gone never goes.
	list2, _ := newsletters.SeedList(ctx, h.db, "later", "Later")
	_, _ = h.subscribers(t, list2, "q", 60)
	id2 := h.campaign(t, list2)
	for len(h.sink.Messages()) < 70 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.store.Cancel(ctx, id2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	n := len(h.sink.Messages())
	time.Sleep(500 * time.Millisecond)
	if m := len(h.sink.Messages()); m != n || m >= 120 {
		t.Errorf("after cancelling: %d then %d messages", n, m)
	}
	if c, _ := h.store.Get(ctx, id2); c.Status != campaigns.StatusCancelled {
		t.Errorf("status %s", c.Status)
	}
}

func TestAScheduledCampaignStartsWhenItsTimeComes(t *testing.T) {
	h := newHarness(t, campaigns.Options{})
	ctx := context.Background()
	emails, _ := h.subscribers(t, h.list, "z", 3)
	id, err := h.store.Create(ctx, campaigns.Input{Subject: "Later", HTML: "<p>Soon</p>", ListIDs: []uuid.UUID{h.list}}, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Schedule(ctx, id, time.Now().Add(-time.Minute), 1); err == nil {
		t.Error("a time in the past was accepted")
	}
	if err := h.store.Schedule(ctx, id, time.Now().Add(time.Hour), 1); err != nil {
		t.Fatal(err)
	}
	if n, err := h.store.StartDue(ctx, h.jobs, time.Now()); err != nil || n != 0 {
		t.Fatalf("before its time: %d started, %v", n, err)
	}
	if n, err := h.store.StartDue(ctx, h.jobs, time.Now().Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("at its time: %d started, %v", n, err)
	}
	h.run(t)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, emails)
}

// A relay that takes a message and then drops the connection without
// answering may or may not have delivered it: that recipient is uncertain
// and never tried again, while everyone else is reached once.
func TestAMessageWhoseReplyWasLostIsUncertainAndNotResent(t *testing.T) {
	h := newHarness(t, campaigns.Options{Concurrency: 2})
	emails, ids := h.subscribers(t, h.list, "l", 6)
	h.sink.LoseReply(emails[2], true)
	h.run(t)
	id := h.campaign(t, h.list)
	h.waitStatus(t, id, campaigns.StatusSent, 20*time.Second)
	h.exactlyOnce(t, emails) // the relay kept the lost-reply message too: once
	if s := h.state(t, id, ids[2]); s != campaigns.StateUncertain {
		t.Errorf("the message whose reply was lost is %s, want uncertain", s)
	}
	if st, _ := h.store.Stats(context.Background(), id); st.Uncertain != 1 || st.Sent != 5 {
		t.Errorf("stats %+v, want 5 sent and 1 uncertain", st)
	}
}
