package internal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
)

// Known widgets become fragment requests (one per distinct widget) and
// are replaced in place by what came back; unknown types and fragments
// that could not be had render nothing, logged once per type.
func TestWidgetsAreResolvedThroughFragments(t *testing.T) {
	var logs bytes.Buffer
	wg := &widgets{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	html := `<p>Before</p><p>[[widget:events-calendar:community]]</p><p>After [[widget:x:y]] inline</p>` +
		`<p> [[widget:events-calendar:other]] </p><p>[[widget:market-stall:bakery]]</p>` +
		`<p>[[widget:events-calendar:community]]</p><p>[[widget:market-stall:dairy]]</p>`
	plan := wg.plan(context.Background(), html)
	want := []fragments.Request{
		{Service: "events", Type: "calendar", Ref: "community"},
		{Service: "events", Type: "calendar", Ref: "other"},
	}
	if len(plan.reqs) != 2 || plan.reqs[0] != want[0] || plan.reqs[1] != want[1] {
		t.Fatalf("requests %+v, want %+v", plan.reqs, want)
	}
	got := wg.render(context.Background(), plan, []templ.Component{templ.Raw(`<section>Community events</section>`), nil})
	if want := `<p>Before</p><section>Community events</section><p>After [[widget:x:y]] inline</p>` +
		`<section>Community events</section>`; got != want {
		t.Fatalf("render = %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "widget=market-stall"); n != 1 {
		t.Fatalf("the unknown type was logged %d times, want once:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "widget=events-calendar"); n != 1 {
		t.Fatalf("the failed widget was logged %d times, want once:\n%s", n, logs.String())
	}
	// A second page view logs nothing more.
	wg.render(context.Background(), wg.plan(context.Background(), html), nil)
	if n := strings.Count(logs.String(), "level="); n != 2 {
		t.Fatalf("%d log lines after a second view, want still 2:\n%s", n, logs.String())
	}
	// A body without widgets is untouched and asks for nothing.
	if p := wg.plan(context.Background(), "<p>plain</p>"); len(p.reqs) != 0 || wg.render(context.Background(), p, nil) != "<p>plain</p>" {
		t.Fatal("a body without widgets changed")
	}
}
