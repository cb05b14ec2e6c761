package campaigns

import (
	"html"
	"regexp"
	"strings"

	"github.com/google/uuid"
	xhtml "golang.org/x/net/html"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/services/newsletters"
)

// HTMLToText derives a message's plain text from its (sanitized) HTML:
// paragraphs and headings become blocks separated by a blank line, list
// items get a dash, links keep their address in brackets.
func HTMLToText(h string) string {
	z := xhtml.NewTokenizer(strings.NewReader(h))
	var b strings.Builder
	var hrefs []string
	block := func(sep string) {
		s := b.String()
		if s == "" || strings.HasSuffix(s, sep) {
			return
		}
		b.Reset()
		b.WriteString(strings.TrimRight(s, " ") + sep)
	}
	pre := 0
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return tidyText(b.String())
		case xhtml.TextToken:
			t := string(z.Text())
			if pre == 0 {
				t = spaces.ReplaceAllString(t, " ")
				if s := b.String(); s == "" || strings.HasSuffix(s, "\n") || strings.HasSuffix(s, " ") {
					t = strings.TrimLeft(t, " ")
				}
			}
			b.WriteString(t)
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch tag := string(name); tag {
			case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "hr":
				block("\n\n")
			case "pre":
				block("\n\n")
				pre++
			case "li":
				block("\n")
				b.WriteString("- ")
			case "br", "tr":
				b.WriteString("\n")
			case "a":
				href := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						href = string(v)
					}
				}
				hrefs = append(hrefs, href)
			}
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table":
				block("\n\n")
			case "pre":
				pre = max(0, pre-1)
				block("\n\n")
			case "li":
				block("\n")
			case "a":
				if n := len(hrefs); n > 0 {
					if href := hrefs[n-1]; href != "" && !strings.HasPrefix(href, "#") {
						b.WriteString(" (" + href + ")")
					}
					hrefs = hrefs[:n-1]
				}
			}
		}
	}
}

var (
	spaces     = regexp.MustCompile(`[ \t\r\n]+`)
	blankLines = regexp.MustCompile(`\n{3,}`)
)

func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// Recipient is who a message is rendered for.
type Recipient struct {
	SubscriberID uuid.UUID
	Email        string
	ListID       uuid.UUID
	ListSlug     string
	ListName     string
}

// Renderer makes a campaign's message for one recipient with the
// newsletters' links (Links.Base is the account service, Links.Mailto the
// optional unsubscribe mailbox).
type Renderer struct {
	Links newsletters.Links
}

// ArchiveURL is the web version of an archived campaign.
func (r Renderer) ArchiveURL(c Campaign) string {
	return strings.TrimRight(r.Links.Base, "/") + "/newsletters/archive/" + c.Slug
}

// Message renders c for to: the body with a footer naming the list, the
// personal unsubscribe and preferences links (and the web version when c is
// archived), in plain text and HTML, with the list headers.
func (r Renderer) Message(c Campaign, to Recipient) mail.Message {
	list := newsletters.List{ID: to.ListID, Slug: to.ListSlug, Name: to.ListName}
	web := ""
	if c.Archived {
		web = r.ArchiveURL(c)
	}
	text := c.BodyText + r.Links.Footer(list, to.SubscriberID)
	if web != "" {
		text += "Read it on the web: " + web + "\n"
	}
	var h strings.Builder
	h.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>` + html.EscapeString(c.Subject) + `</title></head>`)
	h.WriteString(`<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em; margin: 0 auto; padding: 1em;">`)
	h.WriteString(`<div class="campaign-body">` + c.BodyHTML + `</div>`)
	h.WriteString(r.Links.FooterHTML(list, to.SubscriberID, web))
	h.WriteString(`</body></html>`)
	return mail.Message{To: to.Email, Subject: c.Subject, Text: text, HTML: h.String(),
		List: r.Links.ListMessage(list, to.SubscriberID)}
}
