package internal

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/sumup/sandbox"
	"rose-ash.com/platform/shared/web"
)

const (
	deskMerchant = "MADMINDESK"
	deskKey      = "sup_sk_test_admin_desk"
	deskPickup   = "The Hive, Market Street"
)

// sentMail is a mail.Sender that keeps what it is asked to send.
type sentMail struct {
	mu  sync.Mutex
	all []mail.Message
}

func (m *sentMail) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.all = append(m.all, msg)
	return nil
}

// about returns the messages whose subject contains s.
func (m *sentMail) about(s string) []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail.Message
	for _, msg := range m.all {
		if strings.Contains(msg.Subject, s) {
			out = append(out, msg)
		}
	}
	return out
}

// desk is the cart as NewServer serves it, with the orders of the shop
// of newShop (plus an orchard market selling apple juice), SumUp's
// sandbox served over HTTP, the mail kept, an admin (Ada) and a shopper
// (Ann). A test browser names its user in a header: the stand-in for
// the sign-in middleware (which, with no session, lets it through).
type desk struct {
	*shop
	orders   *orders.Store
	payments *Payments
	sb       *sandbox.Server
	sbSrv    *httptest.Server
	srv      *httptest.Server
	mail     *sentMail
	admin    models.User
	juice    uuid.UUID // Apple juice from the Orchard, £3.00
	users    map[uuid.UUID]models.User
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	ctx := context.Background()
	d := &desk{shop: newShop(t), mail: &sentMail{}, users: map[uuid.UUID]models.User{}}
	if _, err := d.db.Exec(ctx, `UPDATE markets SET pickup_places = ARRAY[$1], delivery_fee_minor = 350`, deskPickup); err != nil {
		t.Fatal(err)
	}
	cat := products.New(d.db)
	if _, err := cat.CreateMarket(ctx, products.MarketInput{Slug: "orchard", Name: "The Orchard"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.Exec(ctx, `UPDATE markets SET pickup_places = ARRAY[$1] WHERE slug = 'orchard'`, deskPickup); err != nil {
		t.Fatal(err)
	}
	juice, err := cat.CreateProduct(ctx, products.ProductInput{Market: "orchard", Name: "Apple juice", Currency: "GBP", Publish: true,
		Variants: []products.VariantInput{{Price: 300}}})
	if err != nil {
		t.Fatal(err)
	}
	d.juice = juice.Variants[0].ID
	d.shopper.Email = "ann@example.org"
	d.admin = models.User{Email: "ada@example.org", DisplayName: "Ada", IsAdmin: true}
	if err := d.db.QueryRow(ctx, `INSERT INTO users (email, username, display_name, is_admin) VALUES ('ada@example.org', 'ada', 'Ada', true) RETURNING id`).
		Scan(&d.admin.ID); err != nil {
		t.Fatal(err)
	}
	d.users[d.admin.ID], d.users[d.shopper.ID] = d.admin, d.shopper

	d.sbSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.sb.ServeHTTP(w, r) }))
	d.sb = sandbox.New(sandbox.Options{MerchantCode: deskMerchant, APIKey: deskKey, PublicURL: d.sbSrv.URL,
		Retry: []time.Duration{50 * time.Millisecond}})
	t.Cleanup(func() { d.sbSrv.Close(); d.sb.Close() })

	d.orders = orders.New(d.db, cat)
	d.payments = &Payments{Site: d.site, Orders: d.orders, Mail: d.mail, Secret: []byte(strings.Repeat("k", 32)), Baskets: d.carts,
		SumUp: sumup.New(sumup.Options{APIURL: d.sbSrv.URL, APIKey: deskKey, MerchantCode: deskMerchant, Timeout: 3 * time.Second})}
	sm := scs.New()
	handler := NewServer(Deps{Site: d.site, Auth: oauth.NewClient(d.site, sm, nil, http.DefaultClient), Carts: d.carts,
		Catalogue: cat, Sessions: sm, Payments: d.payments})
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
			r = r.WithContext(web.WithViewer(r.Context(), d.users[id]))
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	svc := d.site.Config.Services["cart"]
	svc.PublicURL = d.srv.URL
	d.site.Config.Services["cart"] = svc
	return d
}

// place places an order of the lines for email, picked up.
func (d *desk) place(t *testing.T, email string, lines ...orders.LineInput) models.Order {
	t.Helper()
	o, _, err := d.orders.Place(context.Background(), orders.PlaceInput{Email: email, Fulfilment: models.FulfilPickup,
		PickupPlace: deskPickup, AcceptTerms: true, Lines: lines, UserID: d.shopper.ID})
	if err != nil {
		t.Fatalf("place: %v", err)
	}
	return o
}

// paid places an order and pays it on SumUp's sandbox, settled as the
// browser's return settles it; it returns the paid order.
func (d *desk) paid(t *testing.T, email string, lines ...orders.LineInput) models.Order {
	t.Helper()
	ctx := context.Background()
	o, at, err := d.orders.Place(ctx, orders.PlaceInput{Email: email, Fulfilment: models.FulfilPickup,
		PickupPlace: deskPickup, AcceptTerms: true, Lines: lines, UserID: d.shopper.ID})
	if err != nil {
		t.Fatalf("place: %v", err)
	}
	co, err := d.payments.checkoutFor(ctx, o, at)
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	if err := d.sb.Pay(co.ID, "PAID"); err != nil {
		t.Fatal(err)
	}
	// The sandbox's webhook may settle it first: either way it is paid once.
	if _, _, err := d.payments.verify(ctx, co.ID); err != nil {
		t.Fatalf("verify: %v", err)
	}
	paid := d.order(t, o.ID)
	if paid.Status != models.OrderPaid || paid.Attempts[0].TransactionID == "" {
		t.Fatalf("after paying on SumUp the order is %s, transaction %q", paid.Status, paid.Attempts[0].TransactionID)
	}
	return paid
}

func (d *desk) order(t *testing.T, id uuid.UUID) models.Order {
	t.Helper()
	o, err := d.orders.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// do sends a request to the cart as user (nil: signed out), without
// following redirects.
func (d *desk) do(t *testing.T, user *models.User, method, path string, form url.Values) (response, http.Header) {
	t.Helper()
	body := strings.NewReader("")
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != nil {
		req.Header.Set(testUserHeader, user.ID.String())
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}, resp.Header
}

func (d *desk) get(t *testing.T, path string) response {
	t.Helper()
	r, _ := d.do(t, &d.admin, http.MethodGet, path, nil)
	return r
}

func (d *desk) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	r, _ := d.do(t, &d.admin, http.MethodPost, path, form)
	return r
}

func line(v uuid.UUID, n int) orders.LineInput { return orders.LineInput{VariantID: v, Quantity: n} }

func TestAdminOrderListFiltersAndCSV(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	honey := d.paid(t, "ann@example.org", line(d.large, 1))        // £7.25, paid, 1 March
	formula := d.place(t, "=cmd@example.org", line(d.small, 2))    // £11.00, awaiting payment, 15 March
	juice := d.place(t, "cider.fan@example.org", line(d.juice, 3)) // £9.00 from the Orchard, 31 March
	for id, day := range map[uuid.UUID]string{honey.ID: "2026-03-01 10:00", formula.ID: "2026-03-15 23:59", juice.ID: "2026-03-31 09:00"} {
		if _, err := d.db.Exec(ctx, `UPDATE orders SET created_at = $2::timestamptz WHERE id = $1`, id, day+"Z"); err != nil {
			t.Fatal(err)
		}
	}
	num := func(o models.Order) string { return ">" + itoa64(o.Number) + "</a>" }
	shows := func(query string, want ...models.Order) {
		t.Helper()
		r := d.get(t, "/admin/orders"+query)
		if r.status != http.StatusOK {
			t.Fatalf("GET /admin/orders%s = %d\n%s", query, r.status, r.body)
		}
		for _, o := range []models.Order{honey, formula, juice} {
			wanted := false
			for _, w := range want {
				wanted = wanted || w.ID == o.ID
			}
			if got := strings.Contains(r.body, num(o)); got != wanted {
				t.Errorf("GET /admin/orders%s lists %s: %v, want %v", query, o.Name(), got, wanted)
			}
		}
	}
	shows("", honey, formula, juice)
	shows("?status=paid", honey)
	shows("?status=pending_payment", formula, juice)
	shows("?market=orchard", juice)
	shows("?market=hive", honey, formula)
	shows("?from=2026-03-02&to=2026-03-15", formula) // both days included
	shows("?from=2026-03-31", juice)
	shows("?to=2026-03-01", honey)
	shows("?q=cider", juice)
	shows("?q="+itoa64(formula.Number), formula)
	shows("?q=%25")                                             // a % is searched as itself: no email has one
	shows("?market=hive&status=pending_payment&q=cmd", formula) // filters together

	r := d.get(t, "/admin/orders?from=31/03/2026")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "From must be a date such as 2026-03-31") {
		t.Errorf("a bad date = %d, want 422 saying what to type\n%s", r.status, r.body)
	}
	r = d.get(t, "/admin/orders?from=2026-04-01&to=2026-03-01")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "wrong way round") {
		t.Errorf("dates the wrong way round = %d, want 422\n%s", r.status, r.body)
	}
	r = d.get(t, "/admin/orders?market=hive&status=paid")
	mustContain(t, "the list's export link", r.body, `href="/admin/orders.csv?market=hive&amp;status=paid"`, "The Orchard", "The Hive")
	mustContain(t, "the list links each order's admin page", r.body, `href="/admin/orders/`+honey.ID.String()+`"`)

	// The export: the same filters, every column, exact decimals, and
	// the formula-like email made harmless.
	resp, hdr := d.do(t, &d.admin, http.MethodGet, "/admin/orders.csv?market=hive", nil)
	if resp.status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="orders-`) {
		t.Fatalf("GET /admin/orders.csv = %d %q %q\n%s", resp.status, hdr.Get("Content-Type"), hdr.Get("Content-Disposition"), resp.body)
	}
	rows, err := csv.NewReader(strings.NewReader(resp.body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, resp.body)
	}
	want := [][]string{
		{"number", "placed_at_utc", "email", "status", "fulfilment", "currency", "subtotal", "delivery", "total", "vat", "refunded"},
		{itoa64(formula.Number), "2026-03-15T23:59:00Z", "'=cmd@example.org", "pending_payment", "pickup", "GBP", "11.00", "0.00", "11.00", "1.83", "0.00"},
		{itoa64(honey.Number), "2026-03-01T10:00:00Z", "ann@example.org", "paid", "pickup", "GBP", "7.25", "0.00", "7.25", "1.21", "0.00"},
	}
	if len(rows) != len(want) {
		t.Fatalf("the export has %d rows, want %d:\n%s", len(rows), len(want), resp.body)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("export row %d = %q, want %q", i, rows[i], want[i])
		}
	}
	if resp, _ := d.do(t, &d.admin, http.MethodGet, "/admin/orders.csv?to=nonsense", nil); resp.status != http.StatusUnprocessableEntity {
		t.Errorf("an export with a bad date = %d, want 422", resp.status)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestAdminOrderPageMovesAndEmails(t *testing.T) {
	d := newDesk(t)
	o := d.paid(t, "ann@example.org", line(d.large, 1), line(d.juice, 2))
	path := "/admin/orders/" + o.ID.String()

	r := d.get(t, path)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s = %d\n%s", path, r.status, r.body)
	}
	at := o.Attempts[0]
	mustContain(t, "the order's admin page", r.body, "<h3>The Hive</h3>", "<h3>The Orchard</h3>", "Heather honey", "Apple juice",
		"£13.25", deskPickup, at.Reference, at.CheckoutID, at.TransactionID, "Payment confirmed by SumUp", "Order placed",
		`value="ready_for_pickup"`, `value="dispatched"`, `value="completed"`, `name="amount"`, `value="13.25"`)

	// Ready for pickup, then completed: each logged with who and why,
	// each emailed.
	r = d.post(t, path+"/move", url.Values{"to": {"ready_for_pickup"}, "reason": {"Packed in the blue crate"}})
	if r.status != http.StatusSeeOther || r.location != path+"?done=ready_for_pickup" {
		t.Fatalf("move to ready = %d to %q\n%s", r.status, r.location, r.body)
	}
	if got := d.order(t, o.ID).Status; got != models.OrderReadyForPickup {
		t.Fatalf("status after the move = %s", got)
	}
	ready := d.mail.about("ready for pickup")
	if len(ready) != 1 || ready[0].To != "ann@example.org" || !strings.Contains(ready[0].Text, deskPickup) ||
		!strings.Contains(ready[0].HTML, "The Hive, Market Street") {
		t.Fatalf("ready emails = %+v, want one to ann saying where", ready)
	}
	if strings.Contains(ready[0].Text, "blue crate") {
		t.Error("the admin's reason was sent to the shopper")
	}
	r = d.get(t, path+"?done=ready_for_pickup")
	mustContain(t, "the page after the move", r.body, "Marked ready for pickup", "Ada", "Packed in the blue crate",
		"Paid → Paid, ready for pickup", `value="completed"`)

	// A move the state does not allow: 409, the page says why.
	r = d.post(t, path+"/move", url.Values{"to": {"dispatched"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "cannot be made Paid, dispatched") {
		t.Errorf("a move the state does not allow = %d\n%s", r.status, r.body)
	}
	r = d.post(t, path+"/move", url.Values{"to": {"shipped to the moon"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown move = %d, want 422", r.status)
	}

	r = d.post(t, path+"/move", url.Values{"to": {"completed"}, "reason": {"Collected by Ann"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("move to completed = %d\n%s", r.status, r.body)
	}
	done := d.order(t, o.ID)
	if done.Status != models.OrderCompleted {
		t.Fatalf("status = %s, want completed", done.Status)
	}
	last := done.Events[len(done.Events)-1]
	if last.Actor != "Ada" || last.Reason != "Collected by Ann" || last.From != models.OrderReadyForPickup || !last.ActorID.Valid || last.ActorID.UUID != d.admin.ID {
		t.Errorf("last history entry = %+v", last)
	}
	if got := d.mail.about("is complete"); len(got) != 1 {
		t.Errorf("completed emails = %d, want 1", len(got))
	}
	r = d.get(t, path)
	mustContain(t, "a completed order's page", r.body, "Paid, ready for pickup → Completed", "Collected by Ann")

	// An unpaid order may only be cancelled; its stock comes back.
	before := d.stockOf(t, d.small)
	unpaid := d.place(t, "ann@example.org", line(d.small, 2))
	r = d.get(t, "/admin/orders/"+unpaid.ID.String())
	if strings.Contains(r.body, `value="completed"`) || strings.Contains(r.body, `name="amount"`) || !strings.Contains(r.body, `value="cancelled"`) {
		t.Errorf("an unpaid order's page offers the wrong actions\n%s", r.body)
	}
	r = d.post(t, "/admin/orders/"+unpaid.ID.String()+"/move", url.Values{"to": {"cancelled"}, "reason": {"Asked by phone"}})
	if r.status != http.StatusSeeOther || d.order(t, unpaid.ID).Status != models.OrderCancelled || d.stockOf(t, d.small) != before {
		t.Errorf("cancel = %d, status %s, stock %d want %d", r.status, d.order(t, unpaid.ID).Status, d.stockOf(t, d.small), before)
	}
	if got := d.mail.about("was cancelled"); len(got) != 1 {
		t.Errorf("cancel emails = %d, want 1", len(got))
	}

	if r := d.get(t, "/admin/orders/"+uuid.NewString()); r.status != http.StatusNotFound {
		t.Errorf("an order that does not exist = %d, want 404", r.status)
	}
	if r := d.get(t, "/admin/orders/nonsense"); r.status != http.StatusNotFound {
		t.Errorf("a malformed order id = %d, want 404", r.status)
	}
}

func (d *desk) stockOf(t *testing.T, v uuid.UUID) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(context.Background(), `SELECT stock FROM product_variants WHERE id = $1`, v).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAdminRefunds(t *testing.T) {
	d := newDesk(t)
	o := d.paid(t, "ann@example.org", line(d.large, 2)) // £14.50
	path := "/admin/orders/" + o.ID.String()
	tx := o.Attempts[0].TransactionID
	refund := func(amount string) response {
		t.Helper()
		return d.post(t, path+"/refund", url.Values{"amount": {amount}, "reason": {"One jar broken"}})
	}

	// Partial: SumUp refunds exactly that, the order says so.
	if r := refund("5"); r.status != http.StatusSeeOther || r.location != path+"?done=refunded" {
		t.Fatalf("refund 5 = %d to %q\n%s", r.status, r.location, r.body)
	}
	if got := d.sb.Refunds(tx); len(got) != 1 || got[0] != (models.Money{Minor: 500, Currency: "GBP"}) {
		t.Fatalf("SumUp's refunds = %v, want one of £5.00", got)
	}
	after := d.order(t, o.ID)
	if after.Status != models.OrderPartiallyRefunded || after.Refunded != 500 || len(after.Refunds) != 1 {
		t.Fatalf("after a £5 refund: %s, refunded %d, %d refunds", after.Status, after.Refunded, len(after.Refunds))
	}
	if got := d.mail.about("refund of £5.00"); len(got) != 1 || !strings.Contains(got[0].Text, "£5.00") {
		t.Errorf("refund emails = %+v", got)
	}
	r := d.get(t, path+"?done=refunded")
	mustContain(t, "the page after a partial refund", r.body, "Refunded through SumUp", "Paid, partially refunded",
		"Refunded £5.00: One jar broken", "£9.50 is left to refund", `value="9.50"`)

	// More than is left, or no amount at all: 422, nothing refunded.
	for amount, says := range map[string]string{
		"10.00": "£9.50 is left to refund",
		"5.005": "at most 2 decimal places",
		"abc":   "must be a number such as 7.25",
		"-1":    "must be a number such as 7.25",
		"0":     "more than nothing",
		"":      "Give the amount to refund",
	} {
		r := refund(amount)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, says) {
			t.Errorf("refund %q = %d, want 422 saying %q\n%s", amount, r.status, says, r.body)
		}
	}
	if got := d.sb.Refunds(tx); len(got) != 1 {
		t.Fatalf("SumUp's refunds after refused amounts = %v, want the first only", got)
	}

	// SumUp away: a clear message, nothing recorded.
	d.sbSrv.Close()
	r = refund("1.00")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "SumUp cannot be reached") {
		t.Errorf("refund with SumUp away = %d\n%s", r.status, r.body)
	}
	if got := d.order(t, o.ID); got.Refunded != 500 || len(got.Refunds) != 1 {
		t.Errorf("with SumUp away the order recorded a refund: refunded %d", got.Refunded)
	}
	d.sbSrv = httptest.NewServer(d.sb)
	d.payments.SumUp = sumup.New(sumup.Options{APIURL: d.sbSrv.URL, APIKey: deskKey, MerchantCode: deskMerchant, Timeout: 3 * time.Second})
	t.Cleanup(d.sbSrv.Close)

	// The rest, as "£9.50": refunded in full, no more refund form.
	if r := refund("£9.50"); r.status != http.StatusSeeOther {
		t.Fatalf("refund the rest = %d\n%s", r.status, r.body)
	}
	full := d.order(t, o.ID)
	if full.Status != models.OrderRefunded || full.Refunded != full.Total {
		t.Errorf("after refunding the rest: %s, refunded %d of %d", full.Status, full.Refunded, full.Total)
	}
	if got := d.sb.Refunds(tx); len(got) != 2 || got[1].Minor != 950 {
		t.Errorf("SumUp's refunds = %v, want £5.00 then £9.50", got)
	}
	r = d.get(t, path)
	if strings.Contains(r.body, `name="amount"`) || !strings.Contains(r.body, "Refunded") {
		t.Errorf("a refunded order still offers a refund\n%s", r.body)
	}
	if r := refund("1"); r.status != http.StatusConflict || !strings.Contains(r.body, "refunded in full already") {
		t.Errorf("refunding a refunded order = %d\n%s", r.status, r.body)
	}

	// An unpaid order has nothing to refund.
	unpaid := d.place(t, "ann@example.org", line(d.small, 1))
	if r := d.post(t, "/admin/orders/"+unpaid.ID.String()+"/refund", url.Values{"amount": {"1"}}); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "has no payment to refund") {
		t.Errorf("refunding an unpaid order = %d\n%s", r.status, r.body)
	}
}

// Two admins refunding the same order at once give back no more than was
// paid: the second waits for the first and is refused.
func TestAdminRefundsAtOnce(t *testing.T) {
	d := newDesk(t)
	o := d.paid(t, "ann@example.org", line(d.large, 1)) // £7.25
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := d.do(t, &d.admin, http.MethodPost, "/admin/orders/"+o.ID.String()+"/refund", url.Values{"amount": {"5.00"}})
			statuses[i] = r.status
		}()
	}
	wg.Wait()
	if got := d.sb.Refunds(o.Attempts[0].TransactionID); len(got) != 1 {
		t.Errorf("SumUp refunded %v, want once", got)
	}
	if got := d.order(t, o.ID); got.Refunded != 500 {
		t.Errorf("refunded %d, want 500", got.Refunded)
	}
	if (statuses[0] == http.StatusSeeOther) == (statuses[1] == http.StatusSeeOther) {
		t.Errorf("statuses = %v, want one 303 and one refusal", statuses)
	}
}

func TestAdminRoutesAreForAdminsOnly(t *testing.T) {
	d := newDesk(t)
	o := d.paid(t, "ann@example.org", line(d.large, 1))
	id := o.ID.String()
	routes := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/admin/orders", nil},
		{http.MethodGet, "/admin/orders.csv", nil},
		{http.MethodGet, "/admin/orders/" + id, nil},
		{http.MethodPost, "/admin/orders/" + id + "/move", url.Values{"to": {"completed"}}},
		{http.MethodPost, "/admin/orders/" + id + "/refund", url.Values{"amount": {"1.00"}}},
	}
	for _, rt := range routes {
		// The shopper, though the order is hers.
		r, _ := d.do(t, &d.shopper, rt.method, rt.path, rt.form)
		if r.status != http.StatusForbidden || strings.Contains(r.body, o.Email) {
			t.Errorf("%s %s as a shopper = %d, want 403 without the order", rt.method, rt.path, r.status)
		}
		r, _ = d.do(t, nil, rt.method, rt.path, rt.form)
		if r.status != http.StatusSeeOther || strings.Contains(r.body, o.Email) {
			t.Errorf("%s %s signed out = %d to %q, want 303 to sign in", rt.method, rt.path, r.status, r.location)
		}
	}
	got := d.order(t, o.ID)
	if got.Status != models.OrderPaid || got.Refunded != 0 || len(d.sb.Refunds(o.Attempts[0].TransactionID)) != 0 {
		t.Errorf("after non-admins' posts the order is %s, refunded %d", got.Status, got.Refunded)
	}
}

func TestOrderReceivedEmail(t *testing.T) {
	d := newDesk(t)
	o := d.place(t, "ann@example.org", line(d.large, 2), line(d.juice, 1))
	d.payments.OrderReceived(context.Background(), d.order(t, o.ID))
	got := d.mail.about("We have received your Rose Ash " + o.Name())
	if len(got) != 1 {
		t.Fatalf("order received emails = %d, want 1", len(got))
	}
	m := got[0]
	for _, want := range []string{"Heather honey (340 g) x 2 (The Hive): £14.50", "Apple juice x 1 (The Orchard): £3.00", "total £17.50",
		"collect it at " + deskPickup, "kept for you until", "/orders/" + o.ID.String() + "?t="} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the email lacks %q:\n%s", want, m.Text)
		}
	}
	if m.To != "ann@example.org" || m.HTML == "" {
		t.Errorf("email to %q, HTML %q", m.To, m.HTML)
	}
}

func TestReadAmount(t *testing.T) {
	for _, c := range []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"7.25", "GBP", 725, true},
		{"7.2", "GBP", 720, true},
		{"7", "GBP", 700, true},
		{".5", "GBP", 50, true},
		{" £12.00 ", "GBP", 1200, true},
		{"1500", "JPY", 1500, true},
		{"1.250", "KWD", 1250, true},
		{"7.", "GBP", 0, false},
		{"7.255", "GBP", 0, false},
		{"1.5", "JPY", 0, false},
		{"1e3", "GBP", 0, false},
		{"1,000", "GBP", 0, false},
		{"-3", "GBP", 0, false},
		{"0.00", "GBP", 0, false},
		{"9999999999999", "GBP", 0, false},
	} {
		got, err := readAmount(c.in, c.currency)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("readAmount(%q, %s) = %d, %v; want %d, ok %v", c.in, c.currency, got, err, c.want, c.ok)
		}
		if err != nil && models.Code(err) != models.EInvalid {
			t.Errorf("readAmount(%q) error code %s, want invalid", c.in, models.Code(err))
		}
	}
}
