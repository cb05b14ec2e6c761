package internal

import (
	"context"
	"net/http"
	"testing"
	"time"

	"rose-ash.com/platform/shared/fragments"
)

// TestBookingDropsTheMembersAccountNav: a member's booking and their
// cancelling drop their cached account-nav fragment (its badge counts
// their upcoming tickets), so the next page shows the new count.
func TestBookingDropsTheMembersAccountNav(t *testing.T) {
	ctx := context.Background()
	d := newBookingDesk(t, 10)
	nav := fragments.Named(fragments.AccountNav)
	key := fragments.CacheKey(d.keys, nav.Service, nav.Type, nav.PerUser, &d.member.ID)
	cached := func() bool {
		t.Helper()
		n, err := d.redis.Exists(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	if err := d.redis.Set(ctx, key, "<div>Ann</div>", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	res, _ := d.do("POST", "/events/bread-making/book", d.member.ID, d.bookingForm(d.free, "2"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("booking: %d", res.StatusCode)
	}
	if cached() {
		t.Error("the member's account-nav is still cached after they booked")
	}

	if err := d.redis.Set(ctx, key, "<div>Ann 2</div>", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	res, _ = d.do("POST", res.Header.Get("Location")+"/cancel", d.member.ID, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancelling: %d", res.StatusCode)
	}
	if cached() {
		t.Error("the member's account-nav is still cached after they cancelled")
	}
}
