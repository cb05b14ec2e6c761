package internal

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/sumup/sandbox"
	"rose-ash.com/platform/shared/web"
)

// The sandbox's merchant and key in these tests.
const (
	testMerchant = "MTESTCART"
	testKey      = "sup_sk_test_cart"
	pickupPlace  = "The Hive, Market Street"
)

// mailbox is a mail.Sender that keeps what it is asked to send.
type mailbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// withSubject returns the messages whose subject starts with prefix.
func (m *mailbox) withSubject(prefix string) []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail.Message
	for _, msg := range m.sent {
		if strings.HasPrefix(msg.Subject, prefix) {
			out = append(out, msg)
		}
	}
	return out
}

// payShop is the shop of newShop with the cart's checkout and payments:
// the cart served over HTTP (so that the SumUp sandbox's webhooks reach
// it), Payments built as cart/main.go builds it, a SumUp sandbox served
// over HTTP, and the mail it sends kept.
type payShop struct {
	*shop
	orders   *orders.Store
	payments *Payments
	sb       *sandbox.Server
	sbSrv    *httptest.Server
	sbAddr   string
	cart     *httptest.Server
	mail     *mailbox
	// webhooks counts the webhooks the cart has answered.
	webhooks atomic.Int64
	users    map[uuid.UUID]models.User
	other    models.User // a second shopper, bob@example.org
}

func newPayShop(t *testing.T) *payShop {
	t.Helper()
	ctx := context.Background()
	s := &payShop{shop: newShop(t), mail: &mailbox{}, users: map[uuid.UUID]models.User{}}
	if _, err := s.db.Exec(ctx, `UPDATE markets SET pickup_places = ARRAY[$1], delivery_fee_minor = 350 WHERE slug = 'hive'`, pickupPlace); err != nil {
		t.Fatal(err)
	}
	s.shopper.Email = "ann@example.org"
	s.other = models.User{Email: "bob@example.org"}
	if err := s.db.QueryRow(ctx, `INSERT INTO users (email, username, display_name) VALUES ('bob@example.org', 'bob', 'Bob') RETURNING id`).
		Scan(&s.other.ID); err != nil {
		t.Fatal(err)
	}
	s.users[s.shopper.ID], s.users[s.other.ID] = s.shopper, s.other

	// The SumUp sandbox, with webhooks retried quickly.
	s.sbSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.sb.ServeHTTP(w, r) }))
	s.sbAddr = s.sbSrv.Listener.Addr().String()
	s.sb = sandbox.New(sandbox.Options{MerchantCode: testMerchant, APIKey: testKey, PublicURL: s.sbSrv.URL,
		Retry: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	t.Cleanup(func() { s.sbSrv.Close(); s.sb.Close() })

	// Payments as cart/main.go builds it.
	catalog := products.New(s.db)
	store := orders.New(s.db, catalog)
	store.Paid = func(ctx context.Context, tx pgx.Tx, o models.Order) error {
		if !o.UserID.Valid {
			return nil
		}
		return s.carts.Clear(ctx, tx, o.UserID.UUID)
	}
	store.Bookings = bookings.New(s.db)
	s.orders = store
	s.payments = &Payments{Site: s.site, Orders: store, Mail: s.mail, Secret: []byte(strings.Repeat("k", 32)),
		SumUp:   sumup.New(sumup.Options{APIURL: s.sbSrv.URL, APIKey: testKey, MerchantCode: testMerchant, Timeout: 3 * time.Second}),
		Baskets: s.carts}
	store.Bookings.Offered = s.payments.MailOffers

	// The cart's routes as NewServer has them, with the user a test
	// browser names signed in (the stand-in for the sign-in middleware).
	r := chi.NewRouter()
	r.Post("/payments/sumup/webhook", func(w http.ResponseWriter, r *http.Request) {
		defer s.webhooks.Add(1)
		s.payments.webhook(w, r)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.basket.notices.sm.LoadAndSave)
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), s.users[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		r.Use(mergeGuestBasket(s.basket))
		mountPages(r, s.site, s.basket, s.payments)
	})
	s.cart = httptest.NewServer(r)
	t.Cleanup(s.cart.Close)
	svc := s.site.Config.Services["cart"]
	svc.PublicURL = s.cart.URL
	s.site.Config.Services["cart"] = svc
	return s
}

// sumUpDown stops the sandbox's server (its checkouts are kept);
// sumUpUp serves them again at the same address.
func (s *payShop) sumUpDown() { s.sbSrv.Close() }

func (s *payShop) sumUpUp(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.sbAddr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the sandbox cannot listen at %s again: %v", s.sbAddr, err)
	}
	s.sbSrv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.sb.ServeHTTP(w, r) }))
	s.sbSrv.Listener.Close()
	s.sbSrv.Listener = ln
	s.sbSrv.Start()
}

// payer is a browser on the cart and SumUp's hosted page: it keeps no
// cookies that matter, does not follow redirects, and is signed in as
// user when that is set.
type payer struct {
	t    *testing.T
	s    *payShop
	user *models.User
}

func (s *payShop) payer(t *testing.T, user *models.User) *payer {
	return &payer{t: t, s: s, user: user}
}

var noRedirects = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request to u (a path on the cart, or an absolute URL).
func (b *payer) do(method, u string, form url.Values) response {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.s.cart.URL + u
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.user != nil {
		req.Header.Set(testUserHeader, b.user.ID.String())
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}
}

func (b *payer) get(u string) response { b.t.Helper(); return b.do(http.MethodGet, u, nil) }

func (b *payer) post(u string, form url.Values) response {
	b.t.Helper()
	return b.do(http.MethodPost, u, form)
}

// follow follows the redirects of r (at most 5) and returns the last
// answer.
func (b *payer) follow(r response) response {
	b.t.Helper()
	for range 5 {
		if r.status != http.StatusSeeOther && r.status != http.StatusFound {
			return r
		}
		r = b.get(r.location)
	}
	b.t.Fatalf("more than 5 redirects, at %s", r.location)
	return r
}

var keyRE = regexp.MustCompile(`name="key" value="([^"]+)"`)

// checkoutForm opens the checkout and returns the form's one-time key.
func (b *payer) checkoutForm() string {
	b.t.Helper()
	page := b.get("/checkout")
	if page.status != http.StatusOK {
		b.t.Fatalf("GET /checkout = %d\n%s", page.status, page.body)
	}
	m := keyRE.FindStringSubmatch(page.body)
	if m == nil {
		b.t.Fatalf("the checkout form has no key:\n%s", page.body)
	}
	return m[1]
}

// pickupForm is a complete checkout form: pickup, terms accepted.
func pickupForm(key, email string) url.Values {
	return url.Values{"key": {key}, "email": {email}, "fulfilment": {"pickup"}, "pickup_place": {pickupPlace}, "terms": {"yes"}}
}

// checkout submits a complete checkout form and expects to be sent to
// SumUp's hosted page; it returns the order and the hosted page's URL.
func (b *payer) checkout() (uuid.UUID, string) {
	b.t.Helper()
	r := b.post("/checkout/pay", pickupForm(b.checkoutForm(), b.user.Email))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, b.s.sbSrv.URL+"/pay/") {
		b.t.Fatalf("POST /checkout/pay = %d to %q, want 303 to the sandbox's hosted page\n%s", r.status, r.location, r.body)
	}
	return b.s.orderOf(b.t, r.location), r.location
}

// orderOf is the order a hosted page's checkout pays.
func (s *payShop) orderOf(t *testing.T, hosted string) uuid.UUID {
	t.Helper()
	a, err := s.orders.AttemptByCheckout(context.Background(), checkoutID(hosted))
	if err != nil {
		t.Fatalf("no attempt for the checkout of %s: %v", hosted, err)
	}
	return a.OrderID
}

func checkoutID(hosted string) string { return hosted[strings.LastIndex(hosted, "/")+1:] }

// payOnSumUp presses a button of the hosted page (PAID, FAILED,
// EXPIRED) and expects SumUp to send the browser back to the order's
// return address.
func (b *payer) payOnSumUp(hosted, outcome string, order uuid.UUID) response {
	b.t.Helper()
	page := b.get(hosted)
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="`+outcome+`"`) {
		b.t.Fatalf("the hosted page = %d, without a %s button\n%s", page.status, outcome, page.body)
	}
	r := b.post(hosted, url.Values{"outcome": {outcome}})
	if want := b.s.cart.URL + "/orders/" + order.String() + "/return?t="; r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, want) {
		b.t.Fatalf("pressing %s = %d to %q, want 303 to %s\n%s", outcome, r.status, r.location, want, r.body)
	}
	return r
}

// order reads an order from the store.
func (s *payShop) order(t *testing.T, id uuid.UUID) models.Order {
	t.Helper()
	o, err := s.orders.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// paidAttempts counts the order's paid attempts.
func paidAttempts(o models.Order) int {
	n := 0
	for _, a := range o.Attempts {
		if a.Status == models.AttemptPaid {
			n++
		}
	}
	return n
}

// eventsLike counts the order's history entries whose reason contains
// s.
func eventsLike(o models.Order, s string) int {
	n := 0
	for _, e := range o.Events {
		if strings.Contains(e.Reason, s) {
			n++
		}
	}
	return n
}

// waitWebhooks waits until the cart has answered n webhooks in all.
func (s *payShop) waitWebhooks(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.webhooks.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the cart answered %d webhooks in 10s, want %d", s.webhooks.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stock is the variant's stock in the catalogue.
func (s *payShop) stock(t *testing.T, variant uuid.UUID) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT stock FROM product_variants WHERE id = $1`, variant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// countOrders counts every order.
func (s *payShop) countOrders(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// backdate makes the order's payment attempts look last checked two
// minutes ago, so that the sweep asks SumUp about them.
func (s *payShop) backdate(t *testing.T, order uuid.UUID) {
	t.Helper()
	if _, err := s.db.Exec(context.Background(), `UPDATE payment_attempts SET updated_at = now() - interval '2 minutes' WHERE order_id = $1`, order); err != nil {
		t.Fatal(err)
	}
}

// isPaidPage reports whether an order page shows the order paid.
func isPaidPage(body string) bool {
	return strings.Contains(body, `class="order-status order-paid"`) && strings.Contains(body, "<strong>Paid</strong>")
}
