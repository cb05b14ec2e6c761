package orders_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/orders"
)

// paidOrder places an order of n loaves (£4.00 each) and settles it paid
// through checkout co.
func (s shop) paidOrder(t *testing.T, loaf orders.LineInput, co string) models.Order {
	t.Helper()
	o, at, err := s.orders.Place(s.ctx, pickup(loaf))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.orders.AttachCheckout(s.ctx, at.ID, co, ""); err != nil {
		t.Fatal(err)
	}
	if out, _, err := s.orders.Settle(s.ctx, orders.Checked{CheckoutID: co, Status: "PAID", Amount: at.Amount,
		MerchantCode: "M1", TransactionID: "tx-" + co}, "M1"); err != nil || out != orders.NowPaid {
		t.Fatalf("settle = %v, %v", out, err)
	}
	o, err = s.orders.Order(s.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestAdminOrdersPagesAndFilters(t *testing.T) {
	s, _, loaf := newShop(t)
	var placed []models.Order
	for i := range 5 {
		o, _, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: loaf, Quantity: i + 1}))
		if err != nil {
			t.Fatal(err)
		}
		placed = append(placed, o)
	}
	// Newest first, two a page: 3 pages, the last with the oldest.
	page, err := s.orders.AdminOrders(s.ctx, orders.AdminQuery{PerPage: 2, Page: 3})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 5 || page.Pages() != 3 || len(page.Orders) != 1 || page.Orders[0].ID != placed[0].ID {
		t.Fatalf("page 3 of 2 = total %d, pages %d, %d orders", page.Total, page.Pages(), len(page.Orders))
	}
	page, err = s.orders.AdminOrders(s.ctx, orders.AdminQuery{PerPage: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Orders) != 2 || page.Orders[0].ID != placed[4].ID {
		t.Fatalf("page 1 starts with %v, want the newest", page.Orders[0].Number)
	}
	// A market no order bought from, and a day before them all: none.
	for _, q := range []orders.AdminQuery{{Market: "elsewhere"}, {To: time.Now().AddDate(0, 0, -1)}, {Status: models.OrderPaid}} {
		page, err := s.orders.AdminOrders(s.ctx, q)
		if err != nil || page.Total != 0 || len(page.Orders) != 0 {
			t.Errorf("AdminOrders(%+v) = %d orders, %v; want none", q, page.Total, err)
		}
	}
	page, err = s.orders.AdminOrders(s.ctx, orders.AdminQuery{Market: "hill-farm", From: time.Now(), To: time.Now()})
	if err != nil || page.Total != 5 {
		t.Errorf("today at Hill Farm = %d orders, %v; want 5", page.Total, err)
	}
	var n int
	if err := s.orders.EachOrder(s.ctx, orders.AdminQuery{Search: "shopper@"}, func(models.Order) error { n++; return nil }); err != nil || n != 5 {
		t.Errorf("EachOrder = %d, %v; want 5", n, err)
	}
	stop := errors.New("stop")
	if err := s.orders.EachOrder(s.ctx, orders.AdminQuery{}, func(models.Order) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("EachOrder's callback error = %v, want it returned", err)
	}
	markets, err := s.orders.OrderMarkets(s.ctx)
	if err != nil || len(markets) != 1 || markets[0] != (orders.OrderMarket{Slug: "hill-farm", Name: "Hill Farm"}) {
		t.Errorf("OrderMarkets = %v, %v", markets, err)
	}
}

func TestRefundRecordsOnlyWhatWasGiven(t *testing.T) {
	s, _, loaf := newShop(t)
	o := s.paidOrder(t, orders.LineInput{VariantID: loaf, Quantity: 2}, "co-1") // £8.00
	admin := orders.Actor{Name: "Ada"}
	var gave []string
	give := func(_ context.Context, _ models.Order, at models.PaymentAttempt) error {
		gave = append(gave, at.TransactionID)
		return nil
	}

	// SumUp refusing: nothing recorded, its error returned.
	refused := models.Errorf(models.EUnavailable, "away")
	_, err := s.orders.Refund(s.ctx, o.ID, 100, admin, "", func(context.Context, models.Order, models.PaymentAttempt) error { return refused })
	if !errors.Is(err, refused) {
		t.Fatalf("Refund with give failing = %v, want its error", err)
	}
	if got, _ := s.orders.Order(s.ctx, o.ID); got.Refunded != 0 || len(got.Refunds) != 0 || got.Status != models.OrderPaid {
		t.Fatalf("a refused refund was recorded: %+v", got)
	}

	got, err := s.orders.Refund(s.ctx, o.ID, 300, admin, "dented", give)
	if err != nil || got.Status != models.OrderPartiallyRefunded || got.Refunded != 300 {
		t.Fatalf("Refund 300 = %s, %d, %v", got.Status, got.Refunded, err)
	}
	if len(gave) != 1 || gave[0] != "tx-co-1" {
		t.Errorf("give was called with %v, want the paid transaction once", gave)
	}
	for _, amount := range []int64{0, -1, 501} {
		if _, err := s.orders.Refund(s.ctx, o.ID, amount, admin, "", give); models.Code(err) != models.EInvalid {
			t.Errorf("Refund %d = %v, want invalid", amount, err)
		}
	}
	if len(gave) != 1 {
		t.Errorf("give was called for refused amounts: %v", gave)
	}
	// An admin without a display name is named by their email.
	var adaID uuid.UUID
	if err := s.db.QueryRow(s.ctx, `INSERT INTO users (email) VALUES ('ada@example.org') RETURNING id`).Scan(&adaID); err != nil {
		t.Fatal(err)
	}
	got, err = s.orders.Refund(s.ctx, o.ID, 500, orders.Actor{ID: adaID, Name: "ada@example.org"}, "", give)
	if err != nil || got.Status != models.OrderRefunded || got.Refunded != 800 {
		t.Fatalf("Refund the rest = %s, %d, %v", got.Status, got.Refunded, err)
	}
	if _, err := s.orders.Refund(s.ctx, o.ID, 1, admin, "", give); models.Code(err) != models.EConflict {
		t.Errorf("Refund of a refunded order = %v, want conflict", err)
	}
	full, _ := s.orders.Order(s.ctx, o.ID)
	if len(full.Refunds) != 2 || full.Refunds[0].Actor != "system" || full.Refunds[1].Actor != "ada@example.org" ||
		full.Events[len(full.Events)-1].Actor != "ada@example.org" || full.Events[len(full.Events)-1].Reason != "Refunded £5.00" {
		t.Errorf("refunds %+v, last event %+v", full.Refunds, full.Events[len(full.Events)-1])
	}

	unpaid, _, err := s.orders.Place(s.ctx, pickup(orders.LineInput{VariantID: loaf, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orders.Refund(s.ctx, unpaid.ID, 100, admin, "", give); models.Code(err) != models.EConflict {
		t.Errorf("Refund of an unpaid order = %v, want conflict", err)
	}
}
