package pagecache

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// The in-process copies never outgrow their budget, whatever a crawler
// asks for, and the page just rendered is always kept.
func TestLocalCopiesStayWithinBudget(t *testing.T) {
	l := newLocal(1000)
	now := time.Now()
	for i := range 100 {
		key := fmt.Sprintf("/page/%d", i)
		l.put(key, cachedPage{ctype: "text/html", body: bytes.Repeat([]byte("x"), 100)}, time.Minute, true, now)
		if _, ok := l.page(key, now); !ok {
			t.Fatalf("page %d not kept right after its render", i)
		}
		if l.size > l.budget {
			t.Fatalf("after %d pages: %d bytes kept, budget %d", i+1, l.size, l.budget)
		}
	}
	if _, ok := l.page("/page/99", now.Add(2*time.Minute)); ok {
		t.Error("a page is served from memory after its TTL")
	}
	if _, ok := l.saved("/page/99", now.Add(2*time.Minute)); !ok {
		t.Error("the saved copy is gone after the page's TTL")
	}
	l.put("/page/99", cachedPage{ctype: "text/html", body: []byte("degraded")}, DegradedTTL, false, now)
	if p, _ := l.saved("/page/99", now); bytes.Equal(p.body, []byte("degraded")) {
		t.Error("a degraded render replaced the saved copy")
	}
}
