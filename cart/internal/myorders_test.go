package internal

import (
	"net/http"
	"strings"
	"testing"
)

// A signed-in shopper finds their orders from the basket ("Your orders"),
// each linked with its state; another shopper's list does not show them.
func TestMyOrdersListsOnlyTheShoppersOwn(t *testing.T) {
	s := newPayShop(t)
	ann := s.payer(t, &s.shopper)
	if r := ann.post("/items", variantForm(s.large, "1")); r.status != http.StatusSeeOther {
		t.Fatalf("adding a jar = %d\n%s", r.status, r.body)
	}
	if home := ann.get("/"); !strings.Contains(home.body, `href="/orders"`) {
		t.Errorf("the basket page does not link the shopper's orders:\n%s", home.body)
	}
	order, _ := ann.checkout()
	list := ann.get("/orders")
	if list.status != http.StatusOK || !strings.Contains(list.body, "/orders/"+order.String()) || !strings.Contains(list.body, "Awaiting payment") {
		t.Errorf("ann's orders = %d, want her order awaiting payment:\n%s", list.status, list.body)
	}
	bob := s.payer(t, &s.other).get("/orders")
	if strings.Contains(bob.body, order.String()) || !strings.Contains(bob.body, "No orders yet.") {
		t.Errorf("bob's orders show ann's:\n%s", bob.body)
	}
	if r := s.payer(t, nil).get("/orders"); r.status != http.StatusSeeOther {
		t.Errorf("a visitor's /orders = %d, want a redirect to sign in", r.status)
	}
}
