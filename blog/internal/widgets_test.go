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

// A post embeds a market's product card and a market with its latest
// products: both are the market service's fragments, put in place of
// their placeholders.
func TestMarketWidgets(t *testing.T) {
	wg := &widgets{logger: slog.New(slog.DiscardHandler)}
	html := `<p>Try this:</p><p>[[widget:product-card:heather-honey-340g]]</p><p>[[widget:market:hill-farm]]</p>`
	plan := wg.plan(context.Background(), html)
	want := []fragments.Request{
		{Service: "market", Type: "product-card", Ref: "heather-honey-340g"},
		{Service: "market", Type: "market", Ref: "hill-farm"},
	}
	if len(plan.reqs) != 2 || plan.reqs[0] != want[0] || plan.reqs[1] != want[1] {
		t.Fatalf("requests %+v, want %+v", plan.reqs, want)
	}
	got := wg.render(context.Background(), plan, []templ.Component{
		templ.Raw(`<aside>Heather honey · £7.25</aside>`), templ.Raw(`<section>Hill Farm</section>`)})
	if want := `<p>Try this:</p><aside>Heather honey · £7.25</aside><section>Hill Farm</section>`; got != want {
		t.Fatalf("render = %q, want %q", got, want)
	}
	for _, typ := range []fragments.Request{fragments.Named(fragments.ProductCard), fragments.Named(fragments.MarketWidget)} {
		found := false
		for _, r := range widgetFragmentTypes {
			found = found || r == typ
		}
		if !found {
			t.Errorf("widgetFragmentTypes lacks %+v: its metrics are not declared", typ)
		}
	}
}

// A newsletter widget is account's newsletter fragment (the list's
// subscribe form), put in place of its placeholder.
func TestNewsletterWidget(t *testing.T) {
	wg := &widgets{logger: slog.New(slog.DiscardHandler)}
	plan := wg.plan(context.Background(), `<p>Stay in touch:</p><p>[[widget:newsletter:news]]</p>`)
	want := fragments.Request{Service: "account", Type: "newsletter", Ref: "news"}
	if len(plan.reqs) != 1 || plan.reqs[0] != want {
		t.Fatalf("requests %+v, want %+v", plan.reqs, want)
	}
	got := wg.render(context.Background(), plan, []templ.Component{templ.Raw(`<aside>Rose Ash news <form></form></aside>`)})
	if want := `<p>Stay in touch:</p><aside>Rose Ash news <form></form></aside>`; got != want {
		t.Fatalf("render = %q, want %q", got, want)
	}
	found := false
	for _, r := range widgetFragmentTypes {
		found = found || r == fragments.Named(fragments.Newsletter)
	}
	if !found {
		t.Errorf("widgetFragmentTypes lacks the newsletter fragment")
	}
}
