package sumup_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/sumup"
	"rose-ash.com/platform/shared/sumup/sandbox"
)

const (
	testKey      = "sup_sk_test_0123456789"
	testMerchant = "MTEST001"
)

// startSandbox serves a sandbox and returns it with a client of its API.
func startSandbox(t *testing.T) (*sandbox.Server, *sumup.Client) {
	t.Helper()
	var srv *httptest.Server
	sb := sandbox.New(sandbox.Options{MerchantCode: testMerchant, APIKey: testKey,
		PublicURL: "http://sumup.localhost:1", Retry: []time.Duration{10 * time.Millisecond}})
	srv = httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, sumup.New(sumup.Options{APIURL: srv.URL, APIKey: testKey, MerchantCode: testMerchant})
}

func gbp(minor int64) models.Money { return models.Money{Minor: minor, Currency: "GBP"} }

func TestCheckoutLifecycle(t *testing.T) {
	sb, c := startSandbox(t)
	ctx := context.Background()
	co, err := c.CreateCheckout(ctx, sumup.CreateRequest{Reference: "order-1-1", Amount: gbp(1250),
		Description: "Rose Ash order 1", ReturnURL: "http://cart.localhost:8003/payments/sumup", RedirectURL: "http://cart.localhost:8003/orders/1"})
	if err != nil {
		t.Fatal(err)
	}
	if co.ID == "" || co.Status != sumup.StatusPending || co.Amount != gbp(1250) || co.MerchantCode != testMerchant ||
		co.HostedURL != "http://sumup.localhost:1/pay/"+co.ID || co.Reference != "order-1-1" {
		t.Fatalf("created checkout = %+v", co)
	}
	if _, ok := co.PaidTransaction(); ok {
		t.Error("a pending checkout has a paid transaction")
	}

	// A second checkout with the same reference is refused as a duplicate.
	_, err = c.CreateCheckout(ctx, sumup.CreateRequest{Reference: "order-1-1", Amount: gbp(1250)})
	if !sumup.IsDuplicate(err) || models.Code(err) != models.EConflict {
		t.Fatalf("duplicate reference: %v, want DUPLICATED_CHECKOUT", err)
	}

	if err := sb.Pay(co.ID, sumup.StatusPaid); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetCheckout(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	tx, ok := got.PaidTransaction()
	if got.Status != sumup.StatusPaid || !ok || tx.Amount != gbp(1250) || tx.ID == "" || tx.Code == "" {
		t.Fatalf("after paying: %+v", got)
	}
	list, err := c.CheckoutsByReference(ctx, "order-1-1")
	if err != nil || len(list) != 1 || list[0].ID != co.ID || list[0].Status != sumup.StatusPaid {
		t.Fatalf("by reference: %+v, %v", list, err)
	}
	if list, err := c.CheckoutsByReference(ctx, "order-unknown"); err != nil || len(list) != 0 {
		t.Fatalf("unknown reference: %+v, %v", list, err)
	}

	// A paid checkout cannot be deactivated.
	var apiErr *sumup.APIError
	if _, err := c.DeactivateCheckout(ctx, co.ID); !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != "CHECKOUT_PROCESSED" {
		t.Fatalf("deactivating a paid checkout: %v", err)
	}

	// Partial refund, then the rest, then nothing is left.
	part := gbp(500)
	if err := c.Refund(ctx, tx.ID, &part); err != nil {
		t.Fatal(err)
	}
	over := gbp(751)
	if err := c.Refund(ctx, tx.ID, &over); err == nil || models.Code(err) != models.EInvalid {
		t.Fatalf("refunding more than is left: %v, want it refused", err)
	}
	if err := c.Refund(ctx, tx.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := sb.Refunds(tx.ID); len(got) != 2 || got[0] != gbp(500) || got[1] != gbp(750) {
		t.Fatalf("refunds = %v, want 5.00 then the 7.50 left", got)
	}
	if err := c.Refund(ctx, tx.ID, nil); !errors.As(err, &apiErr) || apiErr.Status != 409 {
		t.Fatalf("refunding a refunded transaction: %v", err)
	}
	if err := c.Refund(ctx, "no-such-transaction", nil); !sumup.IsNotFound(err) {
		t.Fatalf("refunding an unknown transaction: %v", err)
	}
}

func TestDeactivateExpiresAPendingCheckout(t *testing.T) {
	sb, c := startSandbox(t)
	ctx := context.Background()
	co, err := c.CreateCheckout(ctx, sumup.CreateRequest{Reference: "order-2-1", Amount: gbp(300)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.DeactivateCheckout(ctx, co.ID)
	if err != nil || got.Status != sumup.StatusExpired {
		t.Fatalf("deactivate: %+v, %v", got, err)
	}
	if err := sb.Pay(co.ID, sumup.StatusPaid); models.Code(err) != models.EConflict {
		t.Fatalf("paying an expired checkout: %v, want a conflict", err)
	}
	if _, err := c.GetCheckout(ctx, "no-such-checkout"); !sumup.IsNotFound(err) || models.Code(err) != models.ENotFound {
		t.Fatalf("unknown checkout: %v", err)
	}
}

func TestWrongKeyIsRefusedAndNeverShown(t *testing.T) {
	sb := sandbox.New(sandbox.Options{MerchantCode: testMerchant, APIKey: testKey})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c := sumup.New(sumup.Options{APIURL: srv.URL, APIKey: "sup_sk_wrong_secret", MerchantCode: testMerchant})
	_, err := c.CreateCheckout(context.Background(), sumup.CreateRequest{Reference: "r", Amount: gbp(100)})
	var apiErr *sumup.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %v, want 401", err)
	}
	if strings.Contains(err.Error(), "sup_sk_wrong_secret") {
		t.Errorf("the error shows the key: %v", err)
	}
}

func TestUnreachableOrFailingServiceIsUnavailable(t *testing.T) {
	// Nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := sumup.New(sumup.Options{APIURL: "http://" + addr, APIKey: testKey, MerchantCode: testMerchant})
	_, err = down.GetCheckout(context.Background(), "x")
	if models.Code(err) != models.EUnavailable || models.Message(err) != sumup.UnavailableMessage {
		t.Fatalf("connection refused: %v, want %q", err, sumup.UnavailableMessage)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("the error shows the key: %v", err)
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream trouble", http.StatusBadGateway)
	}))
	defer failing.Close()
	c := sumup.New(sumup.Options{APIURL: failing.URL, APIKey: testKey, MerchantCode: testMerchant})
	if _, err := c.GetCheckout(context.Background(), "x"); models.Code(err) != models.EUnavailable {
		t.Fatalf("502: %v, want unavailable", err)
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	c = sumup.New(sumup.Options{APIURL: slow.URL, APIKey: testKey, MerchantCode: testMerchant, Timeout: 50 * time.Millisecond})
	start := time.Now()
	if _, err := c.GetCheckout(context.Background(), "x"); models.Code(err) != models.EUnavailable || time.Since(start) > time.Second {
		t.Fatalf("timeout: %v after %s, want unavailable within the timeout", err, time.Since(start))
	}
}

// The client sends the amount as an exact decimal in major units and the
// merchant code it was built with, with the key as a Bearer token.
func TestCreateCheckoutRequestOnTheWire(t *testing.T) {
	var body, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		_, _ = io.Copy(b, r.Body)
		body, auth = b.String(), r.Header.Get("Authorization")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"c1","checkout_reference":"r1","amount":10.1,"currency":"EUR","merchant_code":"MTEST001","status":"PENDING","hosted_checkout_url":"https://checkout.sumup.com/pay/c1"}`))
	}))
	defer srv.Close()
	c := sumup.New(sumup.Options{APIURL: srv.URL + "/", APIKey: testKey, MerchantCode: testMerchant})
	co, err := c.CreateCheckout(context.Background(), sumup.CreateRequest{Reference: "r1", Amount: models.Money{Minor: 1010, Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"amount":10.10`, `"currency":"EUR"`, `"merchant_code":"MTEST001"`, `"hosted_checkout":{"enabled":true}`, `"checkout_reference":"r1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("request body %s lacks %s", body, want)
		}
	}
	if auth != "Bearer "+testKey {
		t.Errorf("Authorization = %q", auth)
	}
	if co.Amount != (models.Money{Minor: 1010, Currency: "EUR"}) || co.HostedURL != "https://checkout.sumup.com/pay/c1" {
		t.Errorf("checkout = %+v", co)
	}
}
