package newsletters

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
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
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
)

// outbox records the messages sent, as a relay would receive them.
type outbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m)
	return nil
}

func (o *outbox) to(addr string) []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []mail.Message
	for _, m := range o.msgs {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

type env struct {
	db    *pgxpool.Pool
	store *Store
	out   *outbox
	news  List // double opt-in
	days  List // single opt-in
	priv  List // private
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.MustPool(t)
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, jobs, Links{Key: []byte("test-key"), Base: "http://account.test:8006", Mailto: "unsubscribe@rose-ash.test"})
	e := &env{db: db, store: s, out: &outbox{}}
	ctx := context.Background()
	mk := func(in ListInput) List {
		l, err := s.CreateList(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	e.news = mk(ListInput{Slug: "news", Name: "Rose Ash news", Description: "What the cooperative is up to.", Public: true, DoubleOptIn: true})
	e.days = mk(ListInput{Slug: "market-days", Name: "Market days", Public: true})
	e.priv = mk(ListInput{Slug: "board", Name: "Board", DoubleOptIn: true})
	return e
}

// work runs the queued subscription mail jobs the way the account
// service's worker does, and removes them; it returns how many ran.
func (e *env) work(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	rows, _ := e.db.Query(ctx, `DELETE FROM river_job WHERE kind = $1 RETURNING args`, MailArgs{}.Kind())
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		var a MailArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if err := e.store.SendMail(ctx, e.out, a); err != nil {
			t.Fatalf("send %s mail: %v", a.Mail, err)
		}
	}
	return len(raws)
}

var web = Consent{Source: "http://blog.test/posts/hello", IP: netip.MustParseAddr("203.0.113.7"), UserAgent: "Firefox"}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("t")
}

func firstLink(t *testing.T, text, contains string) string {
	t.Helper()
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "http") && strings.Contains(f, contains) {
			return f
		}
	}
	t.Fatalf("no %q link in %q", contains, text)
	return ""
}

func (e *env) consents(t *testing.T, email string) []string {
	t.Helper()
	rows, _ := e.db.Query(context.Background(), `SELECT c.action || ' ' || c.source || ' ' || COALESCE(host(c.ip), '-') || ' ' || c.user_agent
FROM newsletter_consents c JOIN newsletter_subscribers s ON s.id = c.subscriber_id WHERE s.email = $1 ORDER BY c.id`, email)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDoubleOptInConfirmsOnceAndWelcomesOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	addr := "Ann@Example.org"
	res, err := e.store.Subscribe(ctx, SubscribeRequest{Email: addr, ListID: e.news.ID, Consent: web})
	if err != nil || res.Outcome != ConfirmationSent || res.Email != "ann@example.org" {
		t.Fatalf("subscribe: %+v %v", res, err)
	}
	if n := e.work(t); n != 1 {
		t.Fatalf("%d jobs queued, want the confirmation", n)
	}
	got := e.out.to("ann@example.org")
	if len(got) != 1 || !strings.Contains(got[0].Subject, "Confirm") || got[0].List != nil {
		t.Fatalf("mails: %+v", got)
	}
	link := firstLink(t, got[0].Text, "/newsletters/confirm")

	// Asking again before it was confirmed sends nothing within ten minutes...
	res, err = e.store.Subscribe(ctx, SubscribeRequest{Email: addr, ListID: e.news.ID, Consent: web})
	if err != nil || res.Outcome != ConfirmationPending {
		t.Fatalf("second subscribe: %+v %v", res, err)
	}
	if n := e.work(t); n != 0 || len(e.out.to("ann@example.org")) != 1 {
		t.Fatalf("a second confirmation went out within ten minutes")
	}
	// ...and a new one after (the old link still works).
	e.store.now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	if res, _ := e.store.Subscribe(ctx, SubscribeRequest{Email: addr, ListID: e.news.ID, Consent: web}); res.Outcome != ConfirmationSent {
		t.Fatalf("after ten minutes: %+v", res)
	}
	e.work(t)
	if len(e.out.to("ann@example.org")) != 2 {
		t.Fatalf("no second confirmation after ten minutes")
	}
	e.store.now = time.Now

	r, err := e.store.Confirm(ctx, tokenOf(t, link), Consent{Source: "confirmation link"})
	if err != nil || !r.Changed || r.Status != StatusConfirmed || r.List.ID != e.news.ID {
		t.Fatalf("confirm: %+v %v", r, err)
	}
	if r, err := e.store.Confirm(ctx, tokenOf(t, link), Consent{}); err != nil || r.Changed {
		t.Fatalf("confirming twice: %+v %v", r, err)
	}
	e.work(t)
	mails := e.out.to("ann@example.org")
	if len(mails) != 3 {
		t.Fatalf("%d mails, want two confirmations and one welcome", len(mails))
	}
	w := mails[2]
	if w.List == nil || !strings.HasPrefix(w.List.ID, "Rose Ash news <news.lists.account.test>") ||
		!strings.Contains(w.List.UnsubscribeURL, "/newsletters/unsubscribe?t=") || !strings.HasPrefix(w.List.UnsubscribeMailto, "mailto:unsubscribe@rose-ash.test?subject=") {
		t.Fatalf("welcome list headers: %+v", w.List)
	}
	if w.HTML == "" || !strings.Contains(w.Text, "/newsletters/preferences?t=") || !strings.Contains(w.HTML, "/newsletters/preferences?t=") {
		t.Errorf("welcome has no preferences link in its footer: %q", w.Text)
	}

	// Subscribed already: nothing more is sent.
	res, err = e.store.Subscribe(ctx, SubscribeRequest{Email: addr, ListID: e.news.ID, Consent: web})
	if err != nil || res.Outcome != AlreadySubscribed {
		t.Fatalf("subscribing a confirmed address: %+v %v", res, err)
	}
	if n := e.work(t); n != 0 {
		t.Errorf("%d mails queued for a confirmed address", n)
	}
	// The welcome job retried after it sent sends nothing.
	if err := e.store.SendMail(ctx, e.out, MailArgs{Mail: MailWelcome, SubscriberID: res.SubscriberID, ListID: e.news.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SendMail(ctx, e.out, MailArgs{Mail: MailConfirm, SubscriberID: res.SubscriberID, ListID: e.news.ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.out.to("ann@example.org")); n != 3 {
		t.Errorf("a retried job sent again: %d mails", n)
	}

	want := []string{"subscribe http://blog.test/posts/hello 203.0.113.7 Firefox", "subscribe http://blog.test/posts/hello 203.0.113.7 Firefox",
		"confirm confirmation link - "}
	if got := e.consents(t, "ann@example.org"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("consent log %q, want %q", got, want)
	}
}

func TestSingleOptInSubscribesAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "bob@example.org", ListID: e.days.ID, Consent: web})
	if err != nil || res.Outcome != Subscribed {
		t.Fatalf("subscribe: %+v %v", res, err)
	}
	e.work(t)
	got := e.out.to("bob@example.org")
	if len(got) != 1 || !strings.HasPrefix(got[0].Subject, "Welcome") || got[0].List == nil {
		t.Fatalf("mails %+v, want one welcome list message", got)
	}
	// A private list cannot be joined from a form.
	if _, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "bob@example.org", ListID: e.priv.ID}); models.Code(err) != models.ENotFound {
		t.Errorf("subscribing to a private list: %v", err)
	}
}

func TestTokensExpiredOrTamperedAreRefusedDistinctly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "cy@example.org", ListID: e.news.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.work(t)
	tok := tokenOf(t, firstLink(t, e.out.to("cy@example.org")[0].Text, "confirm"))

	e.store.now = func() time.Time { return time.Now().Add(ConfirmLinkTTL + time.Minute) }
	if _, err := e.store.Confirm(ctx, tok, Consent{}); !errors.Is(err, ErrLinkExpired) || models.Code(err) != models.EInvalid {
		t.Errorf("an expired link gives %v", err)
	}
	// Its page offers a new link, which is sent.
	if r, err := e.store.ResendConfirmation(ctx, tok, Consent{Source: "expired link"}); err != nil || r.Outcome != ConfirmationSent {
		t.Errorf("resend from an expired link: %+v %v", r, err)
	}
	e.work(t)
	if n := len(e.out.to("cy@example.org")); n != 2 {
		t.Errorf("%d mails after asking for a new link, want 2", n)
	}
	e.store.now = time.Now
	bad := []byte(tok)
	bad[5] ^= 2
	if _, err := e.store.Confirm(ctx, string(bad), Consent{}); !errors.Is(err, ErrLinkInvalid) || errors.Is(err, ErrLinkExpired) {
		t.Errorf("a tampered link gives %v", err)
	}
	// An unsubscribe token is no confirmation.
	if _, err := e.store.Confirm(ctx, tokenOf(t, e.store.Links.UnsubscribeURL(res.SubscriberID, e.news.ID)), Consent{}); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("an unsubscribe token confirms: %v", err)
	}
	var status string
	_ = e.db.QueryRow(ctx, `SELECT status FROM newsletter_subscriptions`).Scan(&status)
	if status != StatusUnconfirmed {
		t.Errorf("after refused links the subscription is %s", status)
	}
}

func TestUnsubscribeIsIdempotentAndLogged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "dee@example.org", ListID: e.days.ID, Consent: web})
	if err != nil {
		t.Fatal(err)
	}
	e.work(t)
	tok := tokenOf(t, e.out.to("dee@example.org")[0].List.UnsubscribeURL)
	for i, want := range []bool{true, false} {
		r, err := e.store.Unsubscribe(ctx, tok, Consent{Source: "one-click"})
		if err != nil || r.Changed != want || r.Status != StatusUnsubscribed || r.Email != "dee@example.org" {
			t.Fatalf("unsubscribe #%d: %+v %v", i+1, r, err)
		}
	}
	states, err := e.store.MemberLists(ctx, uuid.New(), "dee@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.List.ID == e.days.ID && st.Subscribed() {
			t.Errorf("still subscribed after unsubscribing")
		}
	}
	got := e.consents(t, "dee@example.org")
	if len(got) != 3 || !strings.HasPrefix(got[2], "unsubscribe one-click") {
		t.Errorf("consent log %q: want subscribe, confirm, one unsubscribe", got)
	}
	// Subscribing again is allowed and sends no second welcome.
	if r, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "dee@example.org", ListID: e.days.ID}); err != nil || r.Outcome != Subscribed || r.SubscriberID != res.SubscriberID {
		t.Fatalf("subscribing again: %+v %v", r, err)
	}
	e.work(t)
	if n := len(e.out.to("dee@example.org")); n != 1 {
		t.Errorf("%d mails, the welcome went twice", n)
	}
}

func TestBouncesSuppress(t *testing.T) {
	e := newEnv(t)
	e.store.SoftBounceLimit = 3
	ctx := context.Background()
	if _, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "hard@example.org", ListID: e.news.ID}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.store.RecordBounce(ctx, Bounce{Email: " HARD@example.org", Kind: "hard", Detail: "550 no such user"}); err != nil || !s {
		t.Fatalf("hard bounce: %v %v", s, err)
	}
	// Its pending confirmation is not sent to a suppressed address, and it cannot subscribe again.
	e.work(t)
	if n := len(e.out.to("hard@example.org")); n != 0 {
		t.Errorf("%d mails to a suppressed address", n)
	}
	_, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "hard@example.org", ListID: e.days.ID})
	if !errors.Is(err, ErrSuppressed) || !strings.Contains(models.Message(err), "another address") {
		t.Errorf("subscribing a suppressed address: %v", err)
	}
	if s, _ := e.store.RecordBounce(ctx, Bounce{Email: "spam@example.org", Kind: "complaint"}); !s {
		t.Errorf("a complaint does not suppress")
	}
	for i := 1; i <= 3; i++ {
		s, err := e.store.RecordBounce(ctx, Bounce{Email: "soft@example.org", Kind: "soft", CampaignID: ptr(uuid.New())})
		if err != nil || s != (i == 3) {
			t.Fatalf("soft bounce %d: suppressed %v, %v", i, s, err)
		}
	}
	if s, _ := e.store.Suppressed(ctx, "Soft@Example.org"); !s {
		t.Errorf("Suppressed does not see the soft-bounced address")
	}
	if s, _ := e.store.Suppressed(ctx, "fine@example.org"); s {
		t.Errorf("an address that never bounced is suppressed")
	}
	for _, b := range []Bounce{{Email: "x", Kind: "hard"}, {Email: "a@example.org", Kind: "bounced"}} {
		if _, err := e.store.RecordBounce(ctx, b); models.Code(err) != models.EInvalid {
			t.Errorf("bounce %+v: %v", b, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestAddressesAreChecked(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ in, want string }{
		{"", "Please enter your email address."},
		{"not an address", "one email address"},
		{"a@b.org, c@d.org", "one email address"},
		{"Ann <ann@example.org>", "one email address"},
		{"ann@localhost", "one email address"},
		{strings.Repeat("a", 250) + "@x.org", "too long"},
		{"x@mailinator.com", "Please use a permanent address"},
		{"x@eu.yopmail.com", "Please use a permanent address"},
		{"x@guerrillamail.com", "Please use a permanent address"},
	} {
		_, err := e.store.Subscribe(context.Background(), SubscribeRequest{Email: c.in, ListID: e.news.ID})
		if models.Code(err) != models.EInvalid || !strings.Contains(models.Message(err), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
	var n int
	_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM newsletter_subscribers`).Scan(&n)
	if n != 0 {
		t.Errorf("%d subscribers written for refused addresses", n)
	}
}

func mustUser(t *testing.T, db *pgxpool.Pool, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.QueryRow(context.Background(), `INSERT INTO users (email) VALUES ($1) RETURNING id`, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMemberSubscribesWithoutConfirmationAndExports(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid := mustUser(t, e.db, "mem@example.org")
	res, err := e.store.SubscribeMember(ctx, uid, "mem@example.org", e.news.ID, Consent{Source: "dashboard"})
	if err != nil || res.Outcome != Subscribed {
		t.Fatalf("member subscribe: %+v %v", res, err)
	}
	e.work(t)
	if m := e.out.to("mem@example.org"); len(m) != 1 || !strings.HasPrefix(m[0].Subject, "Welcome") {
		t.Fatalf("member mails %+v, want the welcome only", m)
	}
	states, _ := e.store.MemberLists(ctx, uid, "")
	if len(states) != 2 || states[0].List.ID != e.news.ID || !states[0].Subscribed() || states[1].Status != "" {
		t.Fatalf("member lists %+v", states)
	}
	ex, err := e.store.SubscriptionsExport(ctx, uid, "mem@example.org")
	if err != nil || len(ex.Subscriptions) != 1 || ex.Subscriptions[0].List != "news" || len(ex.ConsentLog) != 2 || ex.ConsentLog[0].Source != "dashboard" {
		t.Fatalf("export %+v %v", ex, err)
	}
	if err := e.store.UnsubscribeMember(ctx, uid, "mem@example.org", e.news.ID, Consent{Source: "dashboard"}); err != nil {
		t.Fatal(err)
	}
	if states, _ := e.store.MemberLists(ctx, uid, "mem@example.org"); states[0].Status != StatusUnsubscribed {
		t.Errorf("after unsubscribing: %+v", states[0])
	}
}

func TestPreferencesManageEveryList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, _ := e.store.Subscribe(ctx, SubscribeRequest{Email: "pat@example.org", ListID: e.days.ID})
	tok := tokenOf(t, e.store.Links.PreferencesURL(res.SubscriberID))
	p, err := e.store.SetPreference(ctx, tok, e.news.ID, true, Consent{Source: "preferences"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ls := range p.Lists {
		if !ls.Subscribed() {
			t.Errorf("%s not subscribed after the preferences page: %s", ls.List.Slug, ls.Status)
		}
	}
	if _, err := e.store.SetPreference(ctx, tok, e.priv.ID, true, Consent{}); models.Code(err) != models.ENotFound {
		t.Errorf("joining a private list from preferences: %v", err)
	}
	p, _ = e.store.SetPreference(ctx, tok, e.days.ID, false, Consent{Source: "preferences"})
	if p.Lists[1].List.ID != e.days.ID || p.Lists[1].Status != StatusUnsubscribed {
		t.Errorf("after leaving market days: %+v", p.Lists)
	}
	if _, err := e.store.Preferences(ctx, "nonsense"); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a bad preferences token: %v", err)
	}
}

func TestMoveUserEmailAndForgetUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid := mustUser(t, e.db, "old@example.org")
	if _, err := e.store.SubscribeMember(ctx, uid, "old@example.org", e.news.ID, Consent{Source: "dashboard"}); err != nil {
		t.Fatal(err)
	}
	// The new address was subscribed to market days as a visitor.
	if _, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "new@example.org", ListID: e.days.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.MoveUserEmail(ctx, uid, "old@example.org", "New@Example.org"); err != nil {
		t.Fatal(err)
	}
	states, _ := e.store.MemberLists(ctx, uid, "new@example.org")
	for _, ls := range states {
		if !ls.Subscribed() {
			t.Errorf("after moving, %s is %q", ls.List.Slug, ls.Status)
		}
	}
	var n int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FROM newsletter_subscribers WHERE email = 'old@example.org'`).Scan(&n)
	if n != 0 {
		t.Errorf("the old address is still a subscriber")
	}
	ex, _ := e.store.SubscriptionsExport(ctx, uid, "new@example.org")
	if len(ex.Subscriptions) != 2 || len(ex.ConsentLog) != 4 {
		t.Errorf("after the move, export %+v", ex)
	}
	// Simple move (no subscriber at the new address).
	if err := e.store.MoveUserEmail(ctx, uid, "new@example.org", "newer@example.org"); err != nil {
		t.Fatal(err)
	}
	if states, _ := e.store.MemberLists(ctx, uid, "newer@example.org"); !states[0].Subscribed() {
		t.Errorf("after the second move: %+v", states)
	}

	if _, err := e.store.RecordBounce(ctx, Bounce{Email: "newer@example.org", Kind: "complaint"}); err != nil {
		t.Fatal(err)
	}
	other, _ := e.store.Subscribe(ctx, SubscribeRequest{Email: "other@example.org", ListID: e.days.ID})
	if err := e.store.ForgetUser(ctx, uid, "newer@example.org"); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM newsletter_subscribers WHERE email = 'newer@example.org'`:                      0,
		`SELECT count(*) FROM newsletter_consents c JOIN newsletter_subscribers s ON s.id = c.subscriber_id`: 2, // other's
		`SELECT count(*) FROM newsletter_bounces`:                                                            0,
		`SELECT count(*) FROM newsletter_suppressions WHERE email = 'newer@example.org'`:                     1,
	} {
		if err := e.db.QueryRow(ctx, q).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", q, n, err, want)
		}
	}
	if st, _ := e.store.MemberLists(ctx, uuid.Nil, "other@example.org"); st[1].Status != StatusConfirmed || other.SubscriberID == uuid.Nil {
		t.Errorf("forgetting one member touched another: %+v", st)
	}
}

func TestListValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		in   ListInput
		code models.ErrorCode
		want string
	}{
		{ListInput{Slug: "x"}, models.EInvalid, "name"},
		{ListInput{Name: "X", Slug: "Bad Slug!"}, models.EInvalid, "short name may only"},
		{ListInput{Name: "Again", Slug: "news"}, models.EConflict, "already has that short name"},
	} {
		_, err := e.store.CreateList(ctx, c.in)
		if models.Code(err) != c.code || !strings.Contains(models.Message(err), c.want) {
			t.Errorf("%+v: %v", c.in, err)
		}
	}
	pub, _ := e.store.PublicLists(ctx)
	all, _ := e.store.Lists(ctx)
	if len(pub) != 2 || len(all) != 3 {
		t.Errorf("%d public lists of %d, want 2 of 3", len(pub), len(all))
	}
	if l, err := e.store.ListBySlug(ctx, "market-days"); err != nil || l.ID != e.days.ID {
		t.Errorf("by slug: %+v %v", l, err)
	}
	if _, err := e.store.ListByID(ctx, uuid.New()); models.Code(err) != models.ENotFound {
		t.Errorf("unknown id: %v", err)
	}
	l, err := e.store.EnsureList(ctx, ListInput{Slug: "news", Name: "Other name"})
	if err != nil || l.ID != e.news.ID || l.Name != "Rose Ash news" {
		t.Errorf("ensure kept the list? %+v %v", l, err)
	}
}
