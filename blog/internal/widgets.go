package internal

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
)

// widgetRE matches a container-widget placeholder the editor inserts, alone
// in its paragraph: [[widget:events-calendar:community]].
var widgetRE = regexp.MustCompile(`<p>\s*\[\[widget:([a-z0-9-]+):([A-Za-z0-9_-]{1,120})\]\]\s*</p>`)

// widgetFragments maps each widget type to the fragment that renders it,
// given the placeholder's reference.
var widgetFragments = map[string]func(ref string) fragments.Request{
	// A calendar of the events service and its coming events.
	"events-calendar": func(ref string) fragments.Request {
		return fragments.NamedRef(fragments.Calendar, ref)
	},
	// A product of the market, as its card.
	"product-card": func(ref string) fragments.Request {
		return fragments.NamedRef(fragments.ProductCard, ref)
	},
	// A market and its latest products.
	"market": func(ref string) fragments.Request {
		return fragments.NamedRef(fragments.MarketWidget, ref)
	},
	// An event of the events service, as its card (its next date).
	"event": func(ref string) fragments.Request {
		return fragments.NamedRef(fragments.EventCard, ref)
	},
	// A public newsletter of the account service and its subscribe form.
	"newsletter": func(ref string) fragments.Request {
		return fragments.NamedRef(fragments.Newsletter, ref)
	},
}

// widgetFragmentTypes are the fragments widgets use, for their metrics.
var widgetFragmentTypes = []fragments.Request{
	fragments.Named(fragments.Calendar), fragments.Named(fragments.ProductCard), fragments.Named(fragments.MarketWidget),
	fragments.Named(fragments.EventCard), fragments.Named(fragments.Newsletter),
}

// widgets resolves container widgets in post bodies: each placeholder
// becomes the fragment of its type, fetched with the page's other
// fragments (in parallel, cached, each with its deadline). An unknown type,
// or a fragment that fails, renders nothing; each type is logged once per
// process for each of the two, not once per page view.
type widgets struct {
	logger *slog.Logger
	logged sync.Map // "unknown:" or "failed:" + widget type -> struct{}
}

// widgetPlan is a post body's placeholders and the fragments they need.
type widgetPlan struct {
	html    string
	matches [][]int // submatch indexes of each placeholder in html
	slot    []int   // per placeholder: its index in reqs, -1 for an unknown type
	reqs    []fragments.Request
}

// plan finds html's placeholders and the fragments to fetch for them (one
// per distinct widget).
func (wg *widgets) plan(ctx context.Context, html string) widgetPlan {
	p := widgetPlan{html: html, matches: widgetRE.FindAllStringSubmatchIndex(html, -1)}
	seen := map[fragments.Request]int{}
	for _, m := range p.matches {
		typ, ref := html[m[2]:m[3]], html[m[4]:m[5]]
		toRequest, ok := widgetFragments[typ]
		if !ok {
			wg.once(ctx, "unknown:"+typ, "container widget of an unknown type left out", typ)
			p.slot = append(p.slot, -1)
			continue
		}
		req := toRequest(ref)
		i, ok := seen[req]
		if !ok {
			i = len(p.reqs)
			seen[req] = i
			p.reqs = append(p.reqs, req)
		}
		p.slot = append(p.slot, i)
	}
	return p
}

// render returns the plan's html with each placeholder replaced by its
// fragment from got (in the order of p.reqs; nil where it could not be
// had), or by nothing.
func (wg *widgets) render(ctx context.Context, p widgetPlan, got []templ.Component) string {
	if len(p.matches) == 0 {
		return p.html
	}
	var b strings.Builder
	last := 0
	for k, m := range p.matches {
		b.WriteString(p.html[last:m[0]])
		last = m[1]
		i := p.slot[k]
		if i < 0 {
			continue
		}
		typ := p.html[m[2]:m[3]]
		if i >= len(got) || got[i] == nil {
			wg.once(ctx, "failed:"+typ, "container widget left out: its fragment could not be had", typ)
			continue
		}
		var frag strings.Builder
		if err := got[i].Render(ctx, &frag); err != nil {
			wg.once(ctx, "failed:"+typ, "container widget left out: its fragment could not be had", typ)
			continue
		}
		b.WriteString(frag.String())
	}
	b.WriteString(p.html[last:])
	return b.String()
}

// once logs msg for the widget type the first time key is seen.
func (wg *widgets) once(ctx context.Context, key, msg, typ string) {
	if _, seen := wg.logged.LoadOrStore(key, struct{}{}); !seen {
		wg.logger.WarnContext(ctx, msg, "widget", typ)
	}
}
