package internal

import (
	"net/http"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/layout"
)

// page is the layout of one of the events pages, with the events
// service's stylesheet.
func (p *pages) page(r *http.Request, title string) layout.Page {
	page := p.site.Page(r, title)
	page.Head = joinHead(page.Head, eventsStylesheet(p.site.Assets.URL("events.css")))
	return page
}

// joinHead appends c to a page's head content, which may be nil.
func joinHead(head, c templ.Component) templ.Component {
	if head == nil {
		return c
	}
	return templ.Join(head, c)
}
