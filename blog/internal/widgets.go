package internal

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
)

// widgetRE matches a container-widget placeholder the editor inserts, alone
// in its paragraph: [[widget:events-calendar:community]].
var widgetRE = regexp.MustCompile(`<p>\s*\[\[widget:([a-z0-9-]+):([A-Za-z0-9_-]+)\]\]\s*</p>`)

// widgets resolves container widgets in post bodies. No service serves
// widget fragments yet (the events and market issues add them), so for now
// a placeholder renders nothing and each unknown widget type is logged once.
type widgets struct {
	logger *slog.Logger
	logged sync.Map // widget type -> struct{}
}

// render returns html with its widget placeholders resolved.
func (wg *widgets) render(ctx context.Context, html string) string {
	return widgetRE.ReplaceAllStringFunc(html, func(m string) string {
		typ := widgetRE.FindStringSubmatch(m)[1]
		if _, seen := wg.logged.LoadOrStore(typ, struct{}{}); !seen {
			wg.logger.InfoContext(ctx, "container widget has no fragment yet; left out", "widget", typ)
		}
		return ""
	})
}
