package newsletters

import (
	"html"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
)

// ListID is the List-Id header value of list's messages (RFC 2919): the
// list's name and `<slug>.lists.<host of Base>` in angle brackets, e.g.
// `Rose Ash news <news.lists.account.rose-ash.com>`.
func (l Links) ListID(list List) string {
	host := "localhost"
	if u, err := url.Parse(l.Base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	name := strings.Map(func(r rune) rune {
		if strings.ContainsRune("<>\"\r\n\\", r) {
			return -1
		}
		return r
	}, list.Name)
	return strings.TrimSpace(name) + " <" + list.Slug + ".lists." + host + ">"
}

// ListMessage returns the mailing-list headers of a message of list to
// subscriberID (set them as mail.Message.List): its List-Id, the one-click
// List-Unsubscribe link (UnsubscribeURL, which a POST follows at once) and,
// when Links.Mailto is set, a mailto: unsubscribe address whose subject
// carries the same token. Every message of a list to a subscriber (the
// welcome message, campaigns) carries them.
func (l Links) ListMessage(list List, subscriberID uuid.UUID) *mail.ListHeaders {
	h := &mail.ListHeaders{ID: l.ListID(list), UnsubscribeURL: l.UnsubscribeURL(subscriberID, list.ID)}
	if l.Mailto != "" {
		tok := l.Sign(Token{Purpose: PurposeUnsubscribe, SubscriberID: subscriberID, ListID: list.ID})
		h.UnsubscribeMailto = "mailto:" + l.Mailto + "?subject=" + url.PathEscape("unsubscribe "+tok)
	}
	return h
}

// Footer is the plain-text footer every list message ends with: why the
// reader gets it, and the links to leave the list and to manage all their
// newsletters.
func (l Links) Footer(list List, subscriberID uuid.UUID) string {
	return "\n\n-- \nYou receive this because you subscribed to " + list.Name + ".\n" +
		"Unsubscribe: " + l.UnsubscribeURL(subscriberID, list.ID) + "\n" +
		"Manage your newsletters (preferences): " + l.PreferencesURL(subscriberID) + "\n"
}

// FooterHTML is Footer for the HTML part, after a rule: why the reader gets
// the message and the links to leave the list and to manage all their
// newsletters, and, when webURL is set, to read the message on the web.
func (l Links) FooterHTML(list List, subscriberID uuid.UUID, webURL string) string {
	var b strings.Builder
	b.WriteString(`<hr><p style="font-size: 0.85em; color: #555;">You receive this because you subscribed to ` + html.EscapeString(list.Name) + `. `)
	b.WriteString(`<a href="` + html.EscapeString(l.UnsubscribeURL(subscriberID, list.ID)) + `">Unsubscribe</a> · `)
	b.WriteString(`<a href="` + html.EscapeString(l.PreferencesURL(subscriberID)) + `">Manage your newsletters</a>`)
	if webURL != "" {
		b.WriteString(` · <a href="` + html.EscapeString(webURL) + `">Read it on the web</a>`)
	}
	b.WriteString(`</p>`)
	return b.String()
}
