package journeys

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/demo"
)

// A post with a calendar widget shows that calendar's coming events,
// served by the events service as a fragment; widgets of unknown types, of
// calendars that do not exist, or whose service is down render nothing,
// and the post itself always renders.
func TestCalendarWidgetInAPost(t *testing.T) {
	st := StartStackWith(t, map[string]string{"PAGE_CACHE_TTL": "0s"}, "blog", "events")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	form := url.Values{"title": {"What's on"}, "type": {"post"}, "status": {"published"}, "version": {"0"},
		"html": {`<p>Come along.</p><p>[[widget:events-calendar:` + demo.Calendar.Slug + `]]</p>` +
			`<p>[[widget:market-stall:bakery]]</p><p>[[widget:events-calendar:no-such-calendar]]</p><p>See you there.</p>`}}
	if p := admin.Post(t, st.URL["blog"]+"/admin/posts", form); p.Status != 200 {
		t.Fatalf("publishing: %d\n%s", p.Status, p.Body)
	}

	reader := NewBrowser(t)
	for range 2 {
		p := reader.Get(t, st.URL["blog"]+"/what-s-on")
		body := between(p.Body, `<div class="post-body">`, `</article>`)
		if p.Status != 200 || !strings.Contains(body, "Come along.") || !strings.Contains(body, "See you there.") {
			t.Fatalf("post: %d\n%s", p.Status, p.Body)
		}
		if n := strings.Count(body, `class="widget calendar-widget"`); n != 1 {
			t.Fatalf("%d calendar widgets in the post, want 1 (the unknown calendar renders nothing):\n%s", n, body)
		}
		for _, want := range []string{demo.Calendar.Title, demo.Events[0].Title, demo.Events[1].Title} {
			if !strings.Contains(body, want) {
				t.Errorf("the calendar widget lacks %q", want)
			}
		}
		if strings.Contains(body, "[[widget") {
			t.Error("a placeholder shows in the post")
		}
	}
	time.Sleep(300 * time.Millisecond) // logs are written in batches, at least every 100 ms
	if n := strings.Count(st.logs["blog"].String(), "container widget of an unknown type left out"); n != 1 {
		t.Errorf("the unknown widget type was logged %d times over two views, want once", n)
	}

	// The events service is down: the post still renders, without the widget.
	st.Stop("events")
	st.flushFragments(t)
	p := reader.Get(t, st.URL["blog"]+"/what-s-on")
	if p.Status != 200 || !strings.Contains(p.Body, "Come along.") || strings.Contains(p.Body, "calendar-widget") {
		t.Fatalf("with events down: %d, widget shown: %v", p.Status, strings.Contains(p.Body, "calendar-widget"))
	}
}
