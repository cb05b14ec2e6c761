package keptpages_test

import (
	"testing"
	"time"

	"rose-ash.com/platform/shared/keptpages"
)

// A kept page is served until a change; a page computed before the change
// is not kept after it, even when it is added after it.
func TestForgetDropsPagesAndLatecomers(t *testing.T) {
	p := keptpages.New[string](8, time.Minute)
	if _, ok, _ := p.Get("home"); ok {
		t.Fatal("an empty cache served a page")
	}
	_, _, gen := p.Get("home")
	p.Add("home", "v1", gen)
	if got, ok, _ := p.Get("home"); !ok || got != "v1" {
		t.Fatalf("kept page: %q %v", got, ok)
	}
	_, _, before := p.Get("tag")
	p.Forget()
	if _, ok, _ := p.Get("home"); ok {
		t.Error("a page was served after Forget")
	}
	p.Add("tag", "stale", before) // computed before the change, stored after
	if got, ok, _ := p.Get("tag"); ok {
		t.Errorf("a page computed before the change was served: %q", got)
	}
}

// Pages expire after their TTL; a nil Pages keeps nothing and never fails.
func TestPagesExpireAndNilKeepsNothing(t *testing.T) {
	p := keptpages.New[int](8, 50*time.Millisecond)
	p.Add("a", 1, 0)
	time.Sleep(120 * time.Millisecond)
	if _, ok, _ := p.Get("a"); ok {
		t.Error("a page outlived its TTL")
	}
	var none *keptpages.Pages[int]
	none.Add("a", 1, 0)
	none.Forget()
	if _, ok, _ := none.Get("a"); ok {
		t.Error("a nil Pages served a page")
	}
}
