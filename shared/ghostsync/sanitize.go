package ghostsync

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// kgClasses matches a class attribute made only of Ghost card classes
// ("kg-card kg-image-card kg-width-wide"); any other class list is dropped.
var kgClasses = regexp.MustCompile(`^kg-[a-z0-9-]+( kg-[a-z0-9-]+)*$`)

// Policy is the sanitizing policy for Ghost's HTML: the user-generated
// content policy (no scripts, styles, event handlers, iframes or
// javascript: links), keeping Ghost's card markup (figure, figcaption and
// kg-* classes) and language classes on code blocks.
func Policy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowElements("figure", "figcaption")
	p.AllowAttrs("class").Matching(kgClasses).Globally()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre")
	p.RequireNoReferrerOnLinks(true)
	return p
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
	return strings.TrimSpace(s.policy.Sanitize(html))
}
