package sandbox_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/sumup/sandbox"
)

const (
	key      = "sup_sk_sandbox_test"
	merchant = "MSANDBOX"
)

// receiver is the shop's webhook endpoint: it records every notification
// and answers with the statuses queued in fail first, then 200.
type receiver struct {
	mu     sync.Mutex
	got    []map[string]string
	fail   []int
	notify chan struct{}
	srv    *httptest.Server
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	rc := &receiver{fail: fail, notify: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		rc.mu.Lock()
		rc.got = append(rc.got, body)
		status := http.StatusOK
		if len(rc.fail) > 0 {
			status, rc.fail = rc.fail[0], rc.fail[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		rc.notify <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []map[string]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]string(nil), rc.got...)
}

// wait waits for n more notifications, failing the test after 5s.
func (rc *receiver) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-rc.notify:
		case <-time.After(5 * time.Second):
			t.Fatalf("webhook not received; got %v", rc.received())
		}
	}
}

type env struct {
	sb     *sandbox.Server
	srv    *httptest.Server
	client *sumup.Client
}

func start(t *testing.T) env {
	t.Helper()
	sb := sandbox.New(sandbox.Options{MerchantCode: merchant, APIKey: key, PublicURL: "http://sumup.localhost:8007",
		Retry: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return env{sb, srv, sumup.New(sumup.Options{APIURL: srv.URL, APIKey: key, MerchantCode: merchant})}
}

func (e env) create(t *testing.T, ref string, minor int64, returnURL, redirectURL string) sumup.Checkout {
	t.Helper()
	co, err := e.client.CreateCheckout(context.Background(), sumup.CreateRequest{Reference: ref,
		Amount: models.Money{Minor: minor, Currency: "GBP"}, Description: "Rose Ash order", ReturnURL: returnURL, RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	return co
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// A payer opens the hosted page, sees the amount and presses Pay: the
// browser goes back to the shop, the shop is notified, and a GET shows
// the checkout PAID with its transaction.
func TestPayingOnTheHostedPage(t *testing.T) {
	e := start(t)
	rc := newReceiver(t)
	co := e.create(t, "order-a-1", 1250, rc.srv.URL+"/sumup/webhook", "http://cart.localhost:8003/orders/a")
	if !strings.HasPrefix(co.HostedURL, "http://sumup.localhost:8007/pay/") {
		t.Fatalf("hosted URL = %q", co.HostedURL)
	}
	page := e.srv.URL + "/pay/" + co.ID
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(b)
	pay := `<form method="post" action="/pay/` + co.ID + `"><button name="outcome" value="PAID">Pay</button></form>`
	for _, want := range []string{"£12.50", "Rose Ash order", pay, `value="FAILED">Decline`, `value="EXPIRED">Let it expire`} {
		if !strings.Contains(html, want) {
			t.Errorf("the hosted page lacks %s:\n%s", want, html)
		}
	}
	if strings.Index(html, `value="PAID"`) > strings.Index(html, `value="FAILED"`) {
		t.Error("Pay is not the first button")
	}

	resp, err = noRedirects().PostForm(page, url.Values{"outcome": {"PAID"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "http://cart.localhost:8003/orders/a" {
		t.Fatalf("after Pay: %d to %q, want 303 to the redirect URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	rc.wait(t, 1)
	if got := rc.received(); got[0]["event_type"] != "CHECKOUT_STATUS_CHANGED" || got[0]["id"] != co.ID {
		t.Fatalf("webhook = %v", got[0])
	}
	got, err := e.client.GetCheckout(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	tx, ok := got.PaidTransaction()
	if got.Status != sumup.StatusPaid || !ok || tx.Status != sumup.TransactionSuccessful || tx.Amount.Minor != 1250 {
		t.Fatalf("after paying: %+v", got)
	}

	// It cannot be paid twice.
	resp, err = noRedirects().PostForm(page, url.Values{"outcome": {"PAID"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "already paid") || strings.Contains(string(b), `value="PAID"`) {
		t.Fatalf("paying again: %d\n%s", resp.StatusCode, b)
	}
	if n := len(e.sb.Checkouts()[0].Transactions); n != 1 {
		t.Errorf("%d transactions after paying twice, want 1", n)
	}
}

// Without a redirect URL the page says it is done.
func TestDeclineWithoutRedirectShowsDone(t *testing.T) {
	e := start(t)
	co := e.create(t, "order-b-1", 500, "", "")
	resp, err := noRedirects().PostForm(e.srv.URL+"/pay/"+co.ID, url.Values{"outcome": {"FAILED"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Done.") || !strings.Contains(string(b), "FAILED") {
		t.Fatalf("decline: %d\n%s", resp.StatusCode, b)
	}
	// A declined checkout may still be paid, as on SumUp's page.
	if err := e.sb.Pay(co.ID, sumup.StatusPaid); err != nil {
		t.Fatalf("paying after a decline: %v", err)
	}
}

func TestWebhookRetriedAfterAFailure(t *testing.T) {
	e := start(t)
	rc := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	co := e.create(t, "order-c-1", 100, rc.srv.URL, "")
	if err := e.sb.Pay(co.ID, sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 3) // 500, 503, then 200
	time.Sleep(100 * time.Millisecond)
	if got := rc.received(); len(got) != 3 || got[2]["id"] != co.ID {
		t.Fatalf("deliveries = %v, want three (two failures, then success) and no more", got)
	}
}

func TestWebhookGivenUpAfterTheLastRetry(t *testing.T) {
	e := start(t)
	rc := newReceiver(t, 500, 500, 500, 500, 500)
	co := e.create(t, "order-d-1", 100, rc.srv.URL, "")
	if err := e.sb.Pay(co.ID, sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 3)
	time.Sleep(150 * time.Millisecond)
	if n := len(rc.received()); n != 3 {
		t.Fatalf("%d deliveries, want 3 (the first and two retries)", n)
	}
}

func TestDroppedDuplicatedAndDelayedWebhooks(t *testing.T) {
	e := start(t)
	rc := newReceiver(t)

	e.sb.DropWebhooks(true)
	dropped := e.create(t, "order-e-1", 100, rc.srv.URL, "")
	if err := e.sb.Pay(dropped.ID, sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := rc.received(); len(got) != 0 {
		t.Fatalf("dropped webhooks arrived: %v", got)
	}
	if got, _ := e.client.GetCheckout(context.Background(), dropped.ID); got.Status != sumup.StatusPaid {
		t.Fatalf("a dropped webhook's checkout is %s, want PAID", got.Status)
	}
	e.sb.DropWebhooks(false)

	e.sb.DuplicateWebhooks(3)
	dup := e.create(t, "order-e-2", 100, rc.srv.URL, "")
	if err := e.sb.Pay(dup.ID, sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 3)
	e.sb.DuplicateWebhooks(1)

	// Set through the HTTP hooks, as the bench does.
	hooks := `{"delay_webhooks":"300ms"}`
	resp, err := http.Post(e.srv.URL+"/_sandbox/hooks", "application/json", strings.NewReader(hooks))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("hooks = %d", resp.StatusCode)
	}
	late := e.create(t, "order-e-3", 100, rc.srv.URL, "")
	resp, err = http.Post(e.srv.URL+"/_sandbox/hooks", "application/json", strings.NewReader(`{"pay":{"id":"`+late.ID+`","outcome":"PAID"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	paid := time.Now()
	rc.wait(t, 1)
	if d := time.Since(paid); d < 250*time.Millisecond {
		t.Errorf("delayed webhook arrived after %s, want about 300ms", d)
	}
	got := rc.received()
	if len(got) != 4 || got[0]["id"] != dup.ID || got[2]["id"] != dup.ID || got[3]["id"] != late.ID {
		t.Fatalf("deliveries = %v, want 3 for the duplicated checkout then 1 for the late one", got)
	}
}

func TestReorderedWebhooks(t *testing.T) {
	e := start(t)
	rc := newReceiver(t)
	e.sb.Reorder(true)
	first := e.create(t, "order-f-1", 100, rc.srv.URL, "")
	second := e.create(t, "order-f-2", 100, rc.srv.URL, "")
	_ = e.sb.Pay(first.ID, sumup.StatusPaid)
	time.Sleep(20 * time.Millisecond)
	_ = e.sb.Pay(second.ID, sumup.StatusFailed)
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.received()); n != 0 {
		t.Fatalf("%d webhooks sent while held", n)
	}
	e.sb.Reorder(false)
	rc.wait(t, 2)
	got := rc.received()
	ids := map[string]bool{got[0]["id"]: true, got[1]["id"]: true}
	if !ids[first.ID] || !ids[second.ID] {
		t.Fatalf("released webhooks = %v", got)
	}
}

func TestAPIRequiresTheKey(t *testing.T) {
	e := start(t)
	for _, auth := range []string{"", "Bearer wrong", key} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v0.1/checkouts?checkout_reference=x", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
}

func TestCreateValidatesTheRequest(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		body, code, param string
		status            int
	}{
		{`{"amount":1,"currency":"GBP","merchant_code":"MSANDBOX"}`, "MISSING", "checkout_reference", 400},
		{`{"checkout_reference":"r","currency":"GBP","merchant_code":"MSANDBOX"}`, "MISSING", "amount", 400},
		{`{"checkout_reference":"r","amount":1.234,"currency":"GBP","merchant_code":"MSANDBOX"}`, "INVALID", "amount", 400},
		{`{"checkout_reference":"r","amount":0,"currency":"GBP","merchant_code":"MSANDBOX"}`, "INVALID", "amount", 400},
		{`{"checkout_reference":"r","amount":1,"merchant_code":"MSANDBOX"}`, "MISSING", "currency", 400},
		{`{"checkout_reference":"r","amount":1,"currency":"GBP"}`, "MISSING", "merchant_code", 400},
		{`{"checkout_reference":"r","amount":1,"currency":"GBP","merchant_code":"MOTHER"}`, "FORBIDDEN", "", 403},
		{`{"checkout_reference":"r","amount":1,"currency":"GBP","merchant_code":"MSANDBOX","return_url":"not a url"}`, "INVALID", "return_url", 400},
	} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v0.1/checkouts", strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != tc.status || got["error_code"] != tc.code || got["param"] != tc.param {
			t.Errorf("%s: %d %v, want %d %s %s", tc.body, resp.StatusCode, got, tc.status, tc.code, tc.param)
		}
	}
	if n := len(e.sb.Checkouts()); n != 0 {
		t.Errorf("%d checkouts created by invalid requests", n)
	}
}
