package internal

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/newsletters"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// listDesk is the account service (NewServer) with three lists (news:
// public, double opt-in; days: public, single opt-in; board: private,
// double opt-in), an admin and a member, the subscription mails worked
// into a DirSink.
type listDesk struct {
	*newsletterDesk
	admin models.User
	days  newsletters.List
	board newsletters.List
}

func newListDesk(t *testing.T) *listDesk {
	t.Helper()
	ctx := context.Background()
	d := &listDesk{newsletterDesk: &newsletterDesk{db: pgtest.MustPool(t), site: testSite(t)}}
	d.startStore(t)
	d.news = d.mustList(t, newsletters.ListInput{Slug: "news", Name: "Rose Ash news", Public: true, DoubleOptIn: true})
	d.days = d.mustList(t, newsletters.ListInput{Slug: "market-days", Name: "Market days", Public: true})
	d.board = d.mustList(t, newsletters.ListInput{Slug: "board", Name: "Board minutes", DoubleOptIn: true})

	d.member = models.User{Email: "mia@example.org"}
	d.admin = models.User{Email: "ada@example.org", IsAdmin: true}
	for _, u := range []*models.User{&d.member, &d.admin} {
		if err := d.db.QueryRow(ctx, `INSERT INTO users (email, is_admin) VALUES ($1, $2) RETURNING id`, u.Email, u.IsAdmin).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
	}
	handler := NewServer(Deps{Site: d.site, Auth: oauth.NewClient(d.site, scs.New(), nil, http.DefaultClient), Carts: carts.New(d.db),
		Orders: orders.New(d.db, products.New(d.db)), Bookings: bookings.New(d.db), DB: d.db, Newsletters: d.store})
	byID := map[uuid.UUID]models.User{d.member.ID: d.member, d.admin.ID: d.admin}
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
			if u, ok := byID[id]; ok {
				r = r.WithContext(web.WithViewer(r.Context(), u))
			}
		}
		handler.ServeHTTP(w, r)
	})
	d.srv.Start()
	t.Cleanup(d.srv.Close)
	return d
}

// as sends a request as user (uuid.Nil: a visitor) with a form body (nil:
// none), not following redirects.
func (d *listDesk) as(t *testing.T, user uuid.UUID, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	h := map[string]string{}
	if user != uuid.Nil {
		h[testUserHeader] = user.String()
	}
	return d.do(t, method, path, form, h)
}

func (d *listDesk) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// seed subscribes each address to list with status, with a consent row
// whose source is the address's own source (when given).
func (d *listDesk) seed(t *testing.T, list uuid.UUID, status string, emails ...string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids, err := newsletters.SeedSubscribers(ctx, d.db, emails)
	if err != nil {
		t.Fatal(err)
	}
	if err := newsletters.SeedSubscriptions(ctx, d.db, list, ids, status); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestListAdminIsForAdminsOnly(t *testing.T) {
	d := newListDesk(t)
	gets := []string{"/admin/newsletters", "/admin/newsletters/lists/new", listPath(d.news.ID, ""), listPath(d.news.ID, "/delete"),
		listPath(d.news.ID, "/subscribers"), listPath(d.news.ID, "/subscribers.csv"), "/admin/newsletters/suppressions"}
	posts := map[string]url.Values{
		"/admin/newsletters/lists":               {"name": {"Sneaky"}, "slug": {"sneaky"}},
		listPath(d.news.ID, ""):                  {"name": {"Renamed"}, "slug": {"news"}},
		listPath(d.news.ID, "/delete"):           {},
		listPath(d.news.ID, "/subscribers"):      {"email": {"sneaky@example.org"}},
		"/admin/newsletters/suppressions":        {"email": {"victim@example.org"}},
		"/admin/newsletters/suppressions/remove": {"email": {"victim@example.org"}, "confirm": {"1"}},
	}
	for _, p := range gets {
		if res, _ := d.as(t, d.member.ID, "GET", p, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a member's GET %s: %d, want 403", p, res.StatusCode)
		}
		if res, _ := d.as(t, uuid.Nil, "GET", p, nil); res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "next=") {
			t.Errorf("a visitor's GET %s: %d %q, want a redirect to sign in", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for p, f := range posts {
		if res, _ := d.as(t, d.member.ID, "POST", p, f); res.StatusCode != http.StatusForbidden {
			t.Errorf("a member's POST %s: %d, want 403", p, res.StatusCode)
		}
		if res, _ := d.as(t, uuid.Nil, "POST", p, f); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a visitor's POST %s: %d, want a redirect to sign in", p, res.StatusCode)
		}
	}
	// A cross-site form post, even with an admin's session, is refused.
	res, _ := d.do(t, "POST", "/admin/newsletters/lists", url.Values{"name": {"Forged"}, "slug": {"forged"}},
		map[string]string{testUserHeader: d.admin.ID.String(), "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site post: %d, want 403", res.StatusCode)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_lists WHERE slug IN ('sneaky', 'forged')`); n != 0 {
		t.Errorf("%d lists made by refused posts", n)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_suppressions`); n != 0 {
		t.Errorf("%d suppressions made by refused posts", n)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_lists WHERE name = 'Rose Ash news'`); n != 1 {
		t.Error("a member's post renamed or deleted the list")
	}

	// The account's /admin leads to the newsletters' admin.
	res, page := d.as(t, d.admin.ID, "GET", "/admin", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `href="/admin/newsletters"`) ||
		!strings.Contains(page, `href="/admin/newsletters/suppressions"`) || !strings.Contains(page, "Everyone with an account") {
		t.Errorf("/admin: %d\n%s", res.StatusCode, page)
	}
	if res, _ := d.as(t, d.member.ID, "GET", "/admin", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member's /admin: %d", res.StatusCode)
	}
}

func TestListAdminCreatesEditsAndDeletesLists(t *testing.T) {
	d := newListDesk(t)
	ctx := context.Background()
	d.seed(t, d.news.ID, "confirmed", "a@example.org", "b@example.org")
	d.seed(t, d.news.ID, "unconfirmed", "c@example.org")
	d.seed(t, d.news.ID, "unsubscribed", "d@example.org")

	res, page := d.as(t, d.admin.ID, "GET", "/admin/newsletters", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/admin/newsletters: %d", res.StatusCode)
	}
	row := tableRow(page, "Rose Ash news")
	for _, want := range []string{"Public", "Double", "<td>2</td><td>1</td><td>1</td>"} {
		if !strings.Contains(row, want) {
			t.Errorf("the news row lacks %q:\n%s", want, row)
		}
	}
	if row := tableRow(page, "Board minutes"); !strings.Contains(row, "Private") || !strings.Contains(row, "Double") {
		t.Errorf("the private list's row:\n%s", row)
	}
	if row := tableRow(page, "Market days"); !strings.Contains(row, "Single") {
		t.Errorf("the single opt-in list's row:\n%s", row)
	}
	if !strings.Contains(page, `href="/admin/newsletters/campaigns"`) || !strings.Contains(page, `href="/admin/newsletters/suppressions"`) {
		t.Error("the lists page does not link to the campaigns and the suppression list")
	}

	// Refused forms come back with what was typed and the store's sentence.
	res, page = d.as(t, d.admin.ID, "POST", "/admin/newsletters/lists", url.Values{"name": {"  "}, "slug": {"garden"}, "description": {"Keep me"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Please give the list a name.") || !strings.Contains(page, "Keep me") {
		t.Errorf("no name: %d\n%s", res.StatusCode, page)
	}
	res, page = d.as(t, d.admin.ID, "POST", "/admin/newsletters/lists", url.Values{"name": {"Garden"}, "slug": {"Garden Club!"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "may only have lower-case letters, digits and hyphens") {
		t.Errorf("a bad slug: %d", res.StatusCode)
	}
	res, page = d.as(t, d.admin.ID, "POST", "/admin/newsletters/lists", url.Values{"name": {"More news"}, "slug": {"news"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "Another list already has that short name.") || !strings.Contains(page, `value="More news"`) {
		t.Errorf("a taken slug: %d\n%s", res.StatusCode, page)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_lists`); n != 3 {
		t.Fatalf("%d lists after refused forms", n)
	}

	res, _ = d.as(t, d.admin.ID, "POST", "/admin/newsletters/lists", url.Values{"name": {"Garden club"}, "slug": {"garden"},
		"description": {"Seeds & <b>swaps</b>"}, "double_opt_in": {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	garden, err := d.store.ListBySlug(ctx, "garden")
	if err != nil {
		t.Fatal(err)
	}
	if garden.Public || !garden.DoubleOptIn || garden.Description != "Seeds & <b>swaps</b>" {
		t.Errorf("made %+v", garden)
	}
	_, page = d.as(t, d.admin.ID, "GET", res.Header.Get("Location"), nil)
	if !strings.Contains(page, "Saved.") || !strings.Contains(page, "Seeds &amp; &lt;b&gt;swaps&lt;/b&gt;") {
		t.Errorf("the new list's page (escaped description):\n%s", page)
	}
	// Editing: a taken slug is refused, the list keeps its own.
	res, page = d.as(t, d.admin.ID, "POST", listPath(garden.ID, ""), url.Values{"name": {"Garden"}, "slug": {"market-days"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "Another list already has that short name.") {
		t.Errorf("edit to a taken slug: %d", res.StatusCode)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(garden.ID, ""), url.Values{"name": {"Gardeners"}, "slug": {"gardeners"}, "public": {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	if g, _ := d.store.ListByID(ctx, garden.ID); g.Slug != "gardeners" || g.Name != "Gardeners" || !g.Public || g.DoubleOptIn {
		t.Errorf("after the edit: %+v", g)
	}
	if res, _ := d.as(t, d.admin.ID, "GET", listPath(uuid.New(), ""), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown list: %d", res.StatusCode)
	}

	// Deleting asks first and says what goes with it; it is refused while a
	// campaign is going out to the list.
	var campaign uuid.UUID
	if err := d.db.QueryRow(ctx, `INSERT INTO newsletter_campaigns (subject, slug, status) VALUES ('Spring fair', 'spring-fair', 'sending') RETURNING id`).Scan(&campaign); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.Exec(ctx, `INSERT INTO newsletter_campaign_lists (campaign_id, list_id) VALUES ($1, $2)`, campaign, d.news.ID); err != nil {
		t.Fatal(err)
	}
	res, page = d.as(t, d.admin.ID, "GET", listPath(d.news.ID, "/delete"), nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "removes its 4 subscriptions") || !strings.Contains(page, "Spring fair") ||
		!strings.Contains(page, "cannot be undone") {
		t.Errorf("the delete page: %d\n%s", res.StatusCode, page)
	}
	res, page = d.as(t, d.admin.ID, "POST", listPath(d.news.ID, "/delete"), url.Values{})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, `The campaign &#34;Spring fair&#34; is going out to Rose Ash news`) {
		t.Errorf("delete during a sending: %d\n%s", res.StatusCode, page)
	}
	if _, err := d.store.ListByID(ctx, d.news.ID); err != nil {
		t.Fatalf("the list was deleted under a sending campaign: %v", err)
	}
	if _, err := d.db.Exec(ctx, `UPDATE newsletter_campaigns SET status = 'sent', finished_at = now()`); err != nil {
		t.Fatal(err)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.news.ID, "/delete"), url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/newsletters?deleted=1" {
		t.Fatalf("delete: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := d.store.ListByID(ctx, d.news.ID); models.Code(err) != models.ENotFound {
		t.Errorf("the list is still there: %v", err)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_subscriptions WHERE list_id = $1`, d.news.ID); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
	if n := d.count(t, `SELECT count(*) FROM newsletter_subscribers`); n != 4 {
		t.Errorf("%d subscribers left, want the 4 addresses kept", n)
	}
	_, page = d.as(t, d.admin.ID, "GET", "/admin/newsletters?deleted=1", nil)
	if !strings.Contains(page, "The list was deleted.") || strings.Contains(page, "Rose Ash news") {
		t.Errorf("the lists after deleting:\n%s", page)
	}
	if res, _ := d.as(t, d.admin.ID, "POST", listPath(d.news.ID, "/delete"), url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Errorf("deleting it again: %d", res.StatusCode)
	}
}

// tableRow returns the <tr> of page that contains text ("" when none).
func tableRow(page, text string) string {
	i := strings.Index(page, text)
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<tr>")
	end := strings.Index(page[i:], "</tr>")
	if start < 0 || end < 0 {
		return ""
	}
	return page[start : i+end]
}

func TestSubscribersTableSearchFilterPagesAndCSV(t *testing.T) {
	d := newListDesk(t)
	ctx := context.Background()
	ann := d.seed(t, d.days.ID, "confirmed", "ann@example.org", "=hyperlink(1)@example.org")
	d.seed(t, d.days.ID, "unconfirmed", "bob@example.org")
	d.seed(t, d.days.ID, "unsubscribed", "annie@example.net")
	d.seed(t, d.news.ID, "confirmed", "carol@example.org") // another list
	if _, err := d.db.Exec(ctx, `INSERT INTO newsletter_consents (subscriber_id, list_id, action, source, at)
VALUES ($1, $3, 'subscribe', 'https://blog.example/old', now() - interval '1 day'),
       ($1, $3, 'confirm', '-2+3 from the fair', now()),
       ($2, $3, 'subscribe', '@SUM(A1)', now())`, ann[0], ann[1], d.days.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.store.RecordBounce(ctx, newsletters.Bounce{Email: "bob@example.org", Kind: newsletters.BounceSoft}); err != nil {
		t.Fatal(err)
	}

	base := listPath(d.days.ID, "/subscribers")
	res, page := d.as(t, d.admin.ID, "GET", base, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "4 subscribers") || strings.Contains(page, "carol@") {
		t.Fatalf("the table: %d\n%s", res.StatusCode, page)
	}
	row := tableRow(page, "ann@example.org")
	if !strings.Contains(row, "Confirmed") || !strings.Contains(row, "-2+3 from the fair") || strings.Contains(row, "blog.example/old") {
		t.Errorf("ann's row shows the latest consent:\n%s", row)
	}
	if row := tableRow(page, "bob@example.org"); !strings.Contains(row, "Unconfirmed") || !strings.Contains(row, "<td>1</td>") {
		t.Errorf("bob's row (one bounce):\n%s", row)
	}

	_, page = d.as(t, d.admin.ID, "GET", base+"?q=ANN", nil)
	if !strings.Contains(page, "ann@example.org") || !strings.Contains(page, "annie@example.net") || strings.Contains(page, "bob@") ||
		!strings.Contains(page, "2 subscribers") || !strings.Contains(page, `value="ANN"`) {
		t.Errorf("search ann:\n%s", page)
	}
	_, page = d.as(t, d.admin.ID, "GET", base+"?q=ann&status=unsubscribed", nil)
	if !strings.Contains(page, "annie@example.net") || strings.Contains(page, "ann@example.org") || !strings.Contains(page, "1 subscriber") {
		t.Errorf("search ann, unsubscribed:\n%s", page)
	}
	_, page = d.as(t, d.admin.ID, "GET", base+"?q=%25", nil) // a literal %, not a wildcard
	if !strings.Contains(page, "No subscriber matches.") {
		t.Errorf("search %%:\n%s", page)
	}
	res, page = d.as(t, d.admin.ID, "GET", base+"?status=bogus", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "4 subscribers") || !strings.Contains(page, "Choose confirmed, unconfirmed or unsubscribed") {
		t.Errorf("an unknown state: %d", res.StatusCode)
	}

	// CSV: a header, every matching row, formula-leading cells quoted.
	res, body := d.as(t, d.admin.ID, "GET", listPath(d.days.ID, "/subscribers.csv"), nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `filename="market-days-subscribers.csv"`) {
		t.Fatalf("csv: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, body)
	}
	if len(recs) != 5 || strings.Join(recs[0], ",") != strings.Join(subscriberCSVHeader, ",") {
		t.Fatalf("csv rows:\n%s", body)
	}
	byEmail := map[string][]string{}
	for _, r := range recs[1:] {
		byEmail[r[0]] = r
	}
	if r := byEmail["'=hyperlink(1)@example.org"]; r == nil || r[1] != "confirmed" || r[7] != "'@SUM(A1)" {
		t.Errorf("the formula-like address and source are not quoted:\n%s", body)
	}
	if r := byEmail["ann@example.org"]; r == nil || r[6] != "confirm" || r[7] != "'-2+3 from the fair" || r[4] == "" {
		t.Errorf("ann's record: %q", r)
	}
	if r := byEmail["bob@example.org"]; r == nil || r[1] != "unconfirmed" || r[9] != "1" || r[10] != "false" {
		t.Errorf("bob's record: %q", r)
	}
	_, body = d.as(t, d.admin.ID, "GET", listPath(d.days.ID, "/subscribers.csv")+"?status=unsubscribed", nil)
	if recs, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(recs) != 2 || recs[1][0] != "annie@example.net" {
		t.Errorf("the filtered export:\n%s", body)
	}
	_, body = d.as(t, d.admin.ID, "GET", listPath(d.board.ID, "/subscribers.csv"), nil)
	if strings.TrimSpace(body) != strings.Join(subscriberCSVHeader, ",") {
		t.Errorf("an empty list's export: %q", body)
	}

	// Pages of 50, newest change first.
	var many []string
	for i := range 55 {
		many = append(many, fmt.Sprintf("reader%02d@example.com", i))
	}
	d.seed(t, d.board.ID, "confirmed", many...)
	pb := listPath(d.board.ID, "/subscribers")
	_, page = d.as(t, d.admin.ID, "GET", pb+"?q=reader", nil)
	if !strings.Contains(page, "55 subscribers") || !strings.Contains(page, "Page 1 of 2") || strings.Count(page, "<tr><td>reader") != 50 ||
		!strings.Contains(page, `href="`+pb+`?page=2&amp;q=reader"`) {
		t.Errorf("page 1:\n%s", page)
	}
	_, page = d.as(t, d.admin.ID, "GET", pb+"?q=reader&page=2", nil)
	if !strings.Contains(page, "Page 2 of 2") || strings.Count(page, "<tr><td>reader") != 5 {
		t.Errorf("page 2 has %d rows", strings.Count(page, "<tr><td>reader"))
	}
}

func TestAdminAddsAndRemovesAddressesByHand(t *testing.T) {
	d := newListDesk(t)
	ctx := context.Background()
	consents := func(email, list string) string {
		t.Helper()
		rows, _ := d.db.Query(ctx, `SELECT c.action || ':' || c.source FROM newsletter_consents c
JOIN newsletter_subscribers s ON s.id = c.subscriber_id JOIN newsletter_lists l ON l.id = c.list_id
WHERE s.email = $1 AND l.slug = $2 ORDER BY c.id`, email, list)
		var out []string
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	status := func(email string, list uuid.UUID) string {
		t.Helper()
		var s string
		err := d.db.QueryRow(ctx, `SELECT n.status FROM newsletter_subscriptions n JOIN newsletter_subscribers s ON s.id = n.subscriber_id
WHERE s.email = $1 AND n.list_id = $2`, email, list).Scan(&s)
		if err != nil {
			return err.Error()
		}
		return s
	}

	// Single opt-in: confirmed at once, with the welcome message.
	res, _ := d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers"), url.Values{"email": {" Zoe@Example.org "}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", res.StatusCode)
	}
	_, page := d.as(t, d.admin.ID, "GET", res.Header.Get("Location"), nil)
	if !strings.Contains(page, "Added and confirmed") || !strings.Contains(tableRow(page, "zoe@example.org"), "Added by an admin") {
		t.Errorf("after adding:\n%s", page)
	}
	if s := status("zoe@example.org", d.days.ID); s != "confirmed" {
		t.Errorf("zoe on a single opt-in list: %s", s)
	}
	if c := consents("zoe@example.org", "market-days"); c != "admin_add:admin ada@example.org" {
		t.Errorf("consent log %q", c)
	}
	d.waitMail(t, "zoe@example.org", "Welcome")

	// Double opt-in (a private list too): unconfirmed until the mailed link.
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.board.ID, "/subscribers"), url.Values{"email": {"yan@example.org"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "done=confirmation_sent") {
		t.Fatalf("add to double opt-in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if s := status("yan@example.org", d.board.ID); s != "unconfirmed" {
		t.Errorf("yan on a double opt-in list: %s", s)
	}
	m, _ := d.waitMail(t, "yan@example.org", "Confirm")
	if !strings.Contains(m.Subject, "Board minutes") {
		t.Errorf("confirmation subject %q", m.Subject)
	}
	if c := consents("yan@example.org", "board"); c != "admin_add:admin ada@example.org" {
		t.Errorf("consent log %q", c)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.board.ID, "/subscribers"), url.Values{"email": {"yan@example.org"}})
	if !strings.Contains(res.Header.Get("Location"), "done=confirmation_pending") {
		t.Errorf("adding again at once: %q", res.Header.Get("Location"))
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers"), url.Values{"email": {"zoe@example.org"}})
	if !strings.Contains(res.Header.Get("Location"), "done=already_subscribed") {
		t.Errorf("adding a subscribed address: %q", res.Header.Get("Location"))
	}

	// Refusals: not an address, one that unsubscribed itself.
	res, page = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers"), url.Values{"email": {"not an address"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Please enter one email address") || !strings.Contains(page, `value="not an address"`) {
		t.Errorf("a bad address: %d", res.StatusCode)
	}
	left := d.seed(t, d.days.ID, "confirmed", "xia@example.org")
	if err := newsletters.SeedUnsubscribe(ctx, d.db, left[0], d.days.ID); err != nil {
		t.Fatal(err)
	}
	res, page = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers"), url.Values{"email": {"xia@example.org"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "xia@example.org unsubscribed from Market days: only they can subscribe again.") {
		t.Errorf("re-adding one who left: %d\n%s", res.StatusCode, page)
	}
	if s := status("xia@example.org", d.days.ID); s != "unsubscribed" {
		t.Errorf("xia: %s", s)
	}

	// Removing ends the subscription, logged; an admin may add it back.
	var zoe uuid.UUID
	if err := d.db.QueryRow(ctx, `SELECT id FROM newsletter_subscribers WHERE email = 'zoe@example.org'`).Scan(&zoe); err != nil {
		t.Fatal(err)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers/remove"), url.Values{"subscriber": {zoe.String()}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "done=removed") {
		t.Fatalf("remove: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if s := status("zoe@example.org", d.days.ID); s != "unsubscribed" {
		t.Errorf("zoe after removal: %s", s)
	}
	if c := consents("zoe@example.org", "market-days"); c != "admin_add:admin ada@example.org admin_remove:admin ada@example.org" {
		t.Errorf("consent log after removal %q", c)
	}
	_, page = d.as(t, d.admin.ID, "GET", listPath(d.days.ID, "/subscribers?status=unsubscribed"), nil)
	if row := tableRow(page, "zoe@example.org"); !strings.Contains(row, "Removed by an admin") || strings.Contains(row, "Remove</button>") {
		t.Errorf("zoe's row after removal:\n%s", row)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers/remove"), url.Values{"subscriber": {zoe.String()}})
	if !strings.Contains(res.Header.Get("Location"), "done=unchanged") {
		t.Errorf("removing twice: %q", res.Header.Get("Location"))
	}
	if res, _ := d.as(t, d.admin.ID, "POST", listPath(d.news.ID, "/subscribers/remove"), url.Values{"subscriber": {zoe.String()}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("removing from a list it is not on: %d", res.StatusCode)
	}
	res, _ = d.as(t, d.admin.ID, "POST", listPath(d.days.ID, "/subscribers"), url.Values{"email": {"zoe@example.org"}})
	if !strings.Contains(res.Header.Get("Location"), "done=subscribed") || status("zoe@example.org", d.days.ID) != "confirmed" {
		t.Errorf("adding back after an admin's removal: %q", res.Header.Get("Location"))
	}
	if n := d.mailsTo(t, "zoe@example.org"); n != 1 {
		t.Errorf("zoe got %d mails, want the one welcome", n)
	}
}

func TestSuppressionListAddRemoveAndSubscribeRefused(t *testing.T) {
	d := newListDesk(t)
	ctx := context.Background()
	for _, b := range []newsletters.Bounce{{Email: "sam@example.org", Kind: "soft"}, {Email: "sam@example.org", Kind: "soft"},
		{Email: "gone@example.org", Kind: "hard", Detail: "550 no such user"}} {
		if _, err := d.store.RecordBounce(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	d.seed(t, d.days.ID, "confirmed", "sam@example.org")

	res, page := d.as(t, d.admin.ID, "GET", "/admin/newsletters/suppressions", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("suppressions: %d", res.StatusCode)
	}
	if row := tableRow(page, "gone@example.org"); !strings.Contains(row, "Bounced for good") || !strings.Contains(row, "<td>1</td><td>0</td><td>0</td>") {
		t.Errorf("the hard bounce's row:\n%s", row)
	}
	if row := tableRow(page[strings.Index(page, "Bounced, still mailed"):], "sam@example.org"); !strings.Contains(row, "<td>2</td>") {
		t.Errorf("sam's soft bounces:\n%s", page)
	}

	res, page = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions", url.Values{"email": {"sam@"}, "detail": {"asked by phone"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Please enter one email address") || !strings.Contains(page, "asked by phone") {
		t.Errorf("a bad address: %d", res.StatusCode)
	}
	res, _ = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions", url.Values{"email": {"Sam@Example.org"}, "detail": {"asked by phone"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "done=added") {
		t.Fatalf("suppress: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = d.as(t, d.admin.ID, "GET", res.Header.Get("Location"), nil)
	row := tableRow(page, "sam@example.org")
	if !strings.Contains(page, "Suppressed: no newsletter goes to the address") || !strings.Contains(row, "Suppressed by an admin") ||
		!strings.Contains(row, "asked by phone") || !strings.Contains(row, "<td>0</td><td>2</td><td>0</td>") {
		t.Errorf("after suppressing:\n%s", page)
	}
	if strings.Contains(page[strings.Index(page, "</table>"):], "sam@example.org") {
		t.Error("a suppressed address is still listed as bounced and mailed")
	}
	res, _ = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions", url.Values{"email": {"gone@example.org"}})
	if !strings.Contains(res.Header.Get("Location"), "done=already") {
		t.Errorf("suppressing twice: %q", res.Header.Get("Location"))
	}
	var reason string
	d.db.QueryRow(ctx, `SELECT reason FROM newsletter_suppressions WHERE email = 'gone@example.org'`).Scan(&reason)
	if reason != "hard_bounce" {
		t.Errorf("gone's reason became %q", reason)
	}
	_, page = d.as(t, d.admin.ID, "GET", "/admin/newsletters/suppressions?q=gone", nil)
	if !strings.Contains(page, "gone@example.org") || strings.Contains(tableRow(page, "sam@example.org"), "Suppressed by an admin") {
		t.Errorf("search gone:\n%s", page)
	}

	// A suppressed address cannot subscribe, nor be added by hand.
	_, err := d.store.Subscribe(ctx, newsletters.SubscribeRequest{Email: "sam@example.org", ListID: d.news.ID})
	if !errors.Is(err, newsletters.ErrSuppressed) || models.Code(err) != models.EConflict {
		t.Errorf("a suppressed address subscribed: %v", err)
	}
	res, page = d.as(t, d.admin.ID, "POST", listPath(d.news.ID, "/subscribers"), url.Values{"email": {"sam@example.org"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "on the suppression list") {
		t.Errorf("adding a suppressed address: %d", res.StatusCode)
	}
	_, page = d.as(t, d.admin.ID, "GET", listPath(d.days.ID, "/subscribers"), nil)
	if !strings.Contains(tableRow(page, "sam@example.org"), "(suppressed)") {
		t.Errorf("the subscribers table does not mark sam suppressed")
	}

	// Removing asks first, stating the consequence; then Subscribe works.
	res, page = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions/remove", url.Values{"email": {"sam@example.org"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Newsletters will go to this address again") ||
		!strings.Contains(page, "Its 2 bounces and complaints are kept") || !strings.Contains(page, `name="confirm"`) {
		t.Errorf("the removal's question: %d\n%s", res.StatusCode, page)
	}
	if ok, _ := d.store.Suppressed(ctx, "sam@example.org"); !ok {
		t.Fatal("the question removed the suppression")
	}
	res, _ = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions/remove", url.Values{"email": {"sam@example.org"}, "confirm": {"1"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "done=removed") {
		t.Fatalf("remove: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if ok, _ := d.store.Suppressed(ctx, "sam@example.org"); ok {
		t.Error("sam is still suppressed")
	}
	if got, err := d.store.Subscribe(ctx, newsletters.SubscribeRequest{Email: "sam@example.org", ListID: d.news.ID}); err != nil || got.Outcome != newsletters.ConfirmationSent {
		t.Errorf("subscribing after the removal: %+v %v", got, err)
	}
	res, _ = d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions/remove", url.Values{"email": {"sam@example.org"}, "confirm": {"1"}})
	if !strings.Contains(res.Header.Get("Location"), "done=notfound") {
		t.Errorf("removing twice: %q", res.Header.Get("Location"))
	}
	if res, _ := d.as(t, d.admin.ID, "POST", "/admin/newsletters/suppressions/remove", url.Values{"email": {"nobody@example.org"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("asking to remove an address not suppressed: %d", res.StatusCode)
	}
}
