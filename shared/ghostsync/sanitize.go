package ghostsync

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// kgClasses matches a class attribute made only of Ghost card classes
// ("kg-card kg-image-card kg-width-wide"); any other class list is dropped.
var kgClasses = regexp.MustCompile(`^kg-[a-z0-9-]+( kg-[a-z0-9-]+)*$`)

// DefaultEmbedHosts are ghost.embed_hosts' default: YouTube's and Vimeo's
// players.
var DefaultEmbedHosts = []string{"www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com"}

// EmbedSandbox is the sandbox every kept iframe gets: a video player runs
// its scripts in its own origin (never the blog's) and may go full screen
// or open the video on its site; it may not navigate the blog's page.
const EmbedSandbox = "allow-scripts allow-same-origin allow-presentation allow-popups"

// Policy is the sanitizing policy for Ghost's HTML: the user-generated
// content policy (no scripts, styles, event handlers or javascript:
// links), keeping Ghost's card markup (figure, figcaption and kg-*
// classes), language classes on code blocks, and iframes whose src is https on one of embedHosts (Ghost's
// embed cards: YouTube, Vimeo). Use Clean, which also sandboxes those
// iframes and makes them lazy.
func Policy(embedHosts []string) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowElements("figure", "figcaption")
	p.AllowAttrs("class").Matching(kgClasses).Globally()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre")
	p.RequireNoReferrerOnLinks(true)
	if len(embedHosts) > 0 {
		quoted := make([]string, len(embedHosts))
		for i, h := range embedHosts {
			quoted[i] = regexp.QuoteMeta(strings.ToLower(h))
		}
		src := regexp.MustCompile(`^https://(` + strings.Join(quoted, "|") + `)/[^\s"'<>]*$`)
		p.AllowElements("iframe")
		p.AllowAttrs("src").Matching(src).OnElements("iframe")
		p.AllowAttrs("width", "height").Matching(bluemonday.Integer).OnElements("iframe")
		p.AllowAttrs("title").Matching(bluemonday.Paragraph).OnElements("iframe")
		p.AllowAttrs("allowfullscreen").OnElements("iframe")
	}
	return p
}

// iframes finds the iframes in sanitized HTML, which bluemonday writes as
// <iframe attrs></iframe> (their content skipped, attribute values
// escaped, so a ">" is never inside one).
var iframes = regexp.MustCompile(`<iframe([^>]*)>\s*</iframe>`)

// Clean sanitizes html with policy (from Policy) and finishes its iframes:
// one without an allowed src is dropped; the others get EmbedSandbox and
// loading="lazy".
func Clean(policy *bluemonday.Policy, html string) string {
	out := policy.Sanitize(html)
	if !strings.Contains(out, "<iframe") {
		return strings.TrimSpace(out)
	}
	out = iframes.ReplaceAllStringFunc(out, func(tag string) string {
		attrs := iframes.FindStringSubmatch(tag)[1]
		if !strings.Contains(attrs, ` src="https://`) {
			return ""
		}
		return `<iframe` + attrs + ` sandbox="` + EmbedSandbox + `" loading="lazy" referrerpolicy="strict-origin-when-cross-origin"></iframe>`
	})
	return strings.TrimSpace(out)
}

// rootRelative finds src and href values that are paths on the Ghost site
// ("/content/images/..."), to be made absolute.
var rootRelative = regexp.MustCompile(`(\s(?:src|href)=["'])/([^/])`)

// sanitizer cleans one Ghost site's HTML.
type sanitizer struct {
	policy *bluemonday.Policy
	base   string // the Ghost site's address, without a trailing slash
}

// clean makes site-relative links and images absolute (they point at the
// Ghost site, not the blog) and sanitizes the result.
func (s sanitizer) clean(html string) string {
	if s.base != "" {
		html = rootRelative.ReplaceAllString(html, "${1}"+strings.ReplaceAll(s.base, "$", "$$")+"/${2}")
	}
	return Clean(s.policy, html)
}
