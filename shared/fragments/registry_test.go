package fragments_test

import (
	"testing"

	"rose-ash.com/platform/shared/fragments"
)

// Every named fragment is asked of the service that serves it, per user
// where it shows the signed-in user's own things.
func TestNamedFragments(t *testing.T) {
	for _, tc := range []struct {
		name, service string
		perUser       bool
	}{
		{fragments.NavTree, "blog", false},
		{fragments.AccountNav, "account", true},
		{fragments.CartMini, "cart", true},
		{fragments.Notifications, "federation", true},
		{fragments.Upcoming, "events", false},
		{fragments.Calendar, "events", false},
		{fragments.ProductCard, "market", false},
		{fragments.MarketWidget, "market", false},
		{fragments.EventCard, "events", false},
		{fragments.Newsletter, "account", false},
	} {
		r, ok := fragments.Lookup(tc.name)
		if !ok || r.Service != tc.service || r.Type != tc.name || r.PerUser != tc.perUser || r.Ref != "" {
			t.Errorf("Lookup(%q) = %+v, %v; want service %s, per user %v", tc.name, r, ok, tc.service, tc.perUser)
		}
	}
	if r := fragments.NamedRef(fragments.Calendar, "community"); r.Ref != "community" || r.Service != "events" {
		t.Errorf("NamedRef(calendar, community) = %+v", r)
	}
	if _, ok := fragments.Lookup("no-such-fragment"); ok {
		t.Error("Lookup found a fragment the registry does not name")
	}
	defer func() {
		if recover() == nil {
			t.Error("Named of an unknown name did not panic")
		}
	}()
	fragments.Named("no-such-fragment")
}
