// Package ghostsync copies a Ghost site's posts and pages into the blog,
// one way: Ghost is the source, the blog's copies follow it. It speaks
// Ghost's Content API (reading published content), signs Admin API tokens,
// and verifies Ghost's webhooks. It owns only its own bookkeeping, the
// tables ghost_sync_state and ghost_conflicts: the posts, tags and users it
// copies are written through their owners (the posts store, identity).
package ghostsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"code.dny.dev/ssrf"

	"rose-ash.com/platform/shared/safefetch"
)

// PageLimit is how many items the client asks for per page; Ghost caps
// limit at 100.
const PageLimit = 100

// Client reads a Ghost site's Content API.
type Client struct {
	base *url.URL
	key  string
	http *http.Client
}

// MaxAnswer caps one Content API answer: a page of 100 posts with their
// HTML is a few megabytes; a larger answer is an error, not retried.
const MaxAnswer = 16 << 20

const tooLarge = "the answer is larger than 16 MiB (ghostsync.MaxAnswer)"

// privateNetworks are the ranges HTTPClient reaches when allowPrivate is
// set: loopback and the private ranges, where a development Ghost runs
// (on the same machine or in a container network). Link-local and cloud
// metadata addresses stay refused.
var privateNetworks = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
}

// HTTPClient returns the HTTP client for a Ghost site: the SSRF-safe
// client (safefetch) with a 30 s timeout and MaxAnswer as the body cap. It
// refuses Ghost sites on loopback and private networks unless
// allowPrivate (the config's ghost.allow_private_address, which production
// refuses; tests with a local fake Ghost).
func HTTPClient(allowPrivate bool) *http.Client {
	o := safefetch.Options{Timeout: 30 * time.Second, MaxBody: MaxAnswer, UserAgent: "RoseAsh-GhostSync/1"}
	if allowPrivate {
		o.Allow = privateNetworks
	}
	return safefetch.New(o)
}

// refused reports whether err is the SSRF guard refusing an address.
func refused(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedNetwork) ||
		errors.Is(err, ssrf.ErrProhibitedPort)
}

// NewClient returns a client for the Ghost site at baseURL (for example
// https://example.ghost.io) with its Content API key. A nil httpClient
// means HTTPClient(false).
func NewClient(baseURL, contentKey string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ghost: %q is not an http(s) address", baseURL)
	}
	if contentKey == "" {
		return nil, errors.New("ghost: the Content API key is empty")
	}
	if httpClient == nil {
		httpClient = HTTPClient(false)
	}
	return &Client{base: u, key: contentKey, http: httpClient}, nil
}

// Post is a Ghost post or page as the Content API returns it.
type Post struct {
	ID            string `json:"id"`
	UUID          string `json:"uuid"`
	Title         string `json:"title"`
	Slug          string `json:"slug"`
	HTML          string `json:"html"`
	Excerpt       string `json:"excerpt"`
	CustomExcerpt string `json:"custom_excerpt"`
	FeatureImage  string `json:"feature_image"`
	// FeatureImageAlt and FeatureImageCaption describe the feature image
	// (the caption is HTML: Ghost allows links and emphasis in it).
	FeatureImageAlt     string     `json:"feature_image_alt"`
	FeatureImageCaption string     `json:"feature_image_caption"`
	Status              string     `json:"status"`
	Visibility          string     `json:"visibility"`
	PublishedAt         *time.Time `json:"published_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	Tags                []Tag      `json:"tags"`
	PrimaryAuthor       *Author    `json:"primary_author"`
}

// Tag is one of a post's tags.
type Tag struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Slug       string `json:"slug"`
	Visibility string `json:"visibility"`
}

// Internal reports whether the tag is one of Ghost's internal tags
// (named "#something"), which organize content and are never shown.
func (t Tag) Internal() bool {
	return t.Visibility == "internal" || strings.HasPrefix(t.Name, "#")
}

// Author is a Ghost author (a staff user with published posts), as posts'
// primary_author and the authors list give it. Ghost's nulls read as "".
type Author struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	Bio          string `json:"bio"`
	ProfileImage string `json:"profile_image"`
	Website      string `json:"website"`
}

// Pagination is a list response's meta.pagination.
type Pagination struct {
	Page  int  `json:"page"`
	Limit int  `json:"limit"`
	Pages int  `json:"pages"`
	Total int  `json:"total"`
	Next  *int `json:"next"`
	Prev  *int `json:"prev"`
}

// Error is a failed Content API call.
type Error struct {
	Op        string // what was being fetched
	Status    int    // the HTTP status; 0 for a transport failure
	Message   string // Ghost's message, or the transport error
	retryable bool
	cause     error
}

func (e *Error) Error() string {
	kind := "non-retryable"
	if e.retryable {
		kind = "retryable"
	}
	if e.Status != 0 {
		return fmt.Sprintf("ghost: %s: HTTP %d: %s (%s)", e.Op, e.Status, e.Message, kind)
	}
	return fmt.Sprintf("ghost: %s: %s (%s)", e.Op, e.Message, kind)
}

func (e *Error) Unwrap() error { return e.cause }

// IsRetryable reports whether err is worth retrying later: a 5xx answer,
// a 429, a timeout or a connection failure. 4xx answers (a wrong key,
// 404, 409) are not: they need someone to fix something.
func IsRetryable(err error) bool {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.retryable
	}
	return false
}

// Kind is what a list is of: "posts" or "pages".
type Kind string

// The two kinds of content the sync copies.
const (
	KindPosts Kind = "posts"
	KindPages Kind = "pages"
)

// FilterTime formats t the way Ghost's filter expects it
// ('YYYY-MM-DD HH:MM:SS', UTC).
func FilterTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05")
}

// List fetches one page (1-based) of posts or pages, oldest update first,
// with their tags, authors and HTML. A non-zero since keeps only those
// updated after it.
func (c *Client) List(ctx context.Context, kind Kind, since time.Time, page int) ([]Post, Pagination, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(PageLimit))
	q.Set("page", strconv.Itoa(page))
	q.Set("include", "tags,authors")
	q.Set("formats", "html")
	q.Set("order", "updated_at asc")
	if !since.IsZero() {
		q.Set("filter", "updated_at:>'"+FilterTime(since)+"'")
	}
	var body struct {
		Posts []Post `json:"posts"`
		Pages []Post `json:"pages"`
		Meta  struct {
			Pagination Pagination `json:"pagination"`
		} `json:"meta"`
	}
	if err := c.get(ctx, string(kind), q, &body); err != nil {
		return nil, Pagination{}, err
	}
	items := body.Posts
	if kind == KindPages {
		items = body.Pages
	}
	return items, body.Meta.Pagination, nil
}

// Ref is a published post's or page's id and visibility ("public",
// "members", "paid" or "tiers").
type Ref struct {
	ID         string `json:"id"`
	Visibility string `json:"visibility"`
}

// ListRefs fetches one page of the ids and visibilities of all published
// posts or pages.
func (c *Client) ListRefs(ctx context.Context, kind Kind, page int) ([]Ref, Pagination, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(PageLimit))
	q.Set("page", strconv.Itoa(page))
	q.Set("fields", "id,visibility")
	var body struct {
		Posts []Ref `json:"posts"`
		Pages []Ref `json:"pages"`
		Meta  struct {
			Pagination Pagination `json:"pagination"`
		} `json:"meta"`
	}
	if err := c.get(ctx, string(kind), q, &body); err != nil {
		return nil, Pagination{}, err
	}
	if kind == KindPages {
		return body.Pages, body.Meta.Pagination, nil
	}
	return body.Posts, body.Meta.Pagination, nil
}

// ListAuthors fetches one page (1-based) of the site's authors: Ghost
// lists those with published posts.
func (c *Client) ListAuthors(ctx context.Context, page int) ([]Author, Pagination, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(PageLimit))
	q.Set("page", strconv.Itoa(page))
	var body struct {
		Authors []Author `json:"authors"`
		Meta    struct {
			Pagination Pagination `json:"pagination"`
		} `json:"meta"`
	}
	if err := c.get(ctx, "authors", q, &body); err != nil {
		return nil, Pagination{}, err
	}
	return body.Authors, body.Meta.Pagination, nil
}

// ListTags fetches one page (1-based) of the site's public tags: the
// Content API leaves internal tags out.
func (c *Client) ListTags(ctx context.Context, page int) ([]Tag, Pagination, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(PageLimit))
	q.Set("page", strconv.Itoa(page))
	var body struct {
		Tags []Tag `json:"tags"`
		Meta struct {
			Pagination Pagination `json:"pagination"`
		} `json:"meta"`
	}
	if err := c.get(ctx, "tags", q, &body); err != nil {
		return nil, Pagination{}, err
	}
	return body.Tags, body.Meta.Pagination, nil
}

// NavLink is one link of Ghost's navigation settings.
type NavLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Settings is what the sync reads of the site's settings.
type Settings struct {
	// Navigation is the site's primary navigation; SecondaryNavigation
	// its second menu (a theme's footer, usually).
	Navigation          []NavLink `json:"navigation"`
	SecondaryNavigation []NavLink `json:"secondary_navigation"`
}

// Settings fetches the site's public settings.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	var body struct {
		Settings Settings `json:"settings"`
	}
	err := c.get(ctx, "settings", url.Values{}, &body)
	return body.Settings, err
}

// get calls GET {base}/ghost/api/content/{resource}/ with the key and q,
// and decodes the JSON answer into v.
func (c *Client) get(ctx context.Context, resource string, q url.Values, v any) error {
	op := "list " + resource
	q.Set("key", c.key)
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/ghost/api/content/" + resource + "/"
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), cause: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Version", "v5.0")
	resp, err := c.http.Do(req)
	if err != nil {
		// The key is in the URL: never repeat the URL in the error.
		msg, retry := "request failed", true
		var ne net.Error
		switch {
		case errors.Is(err, context.Canceled):
			msg, retry = "canceled", false
		case refused(err):
			// Waiting will not make the address acceptable.
			msg, retry = "refused: the address is on a private or local network (see ghost.allow_private_address)", false
		case errors.Is(err, safefetch.ErrTooLarge):
			msg, retry = tooLarge, false
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			msg = "timed out"
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &Error{Op: op, Message: msg + ": " + redactKey(err.Error(), c.key), retryable: retry, cause: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err == nil && len(data) > MaxAnswer {
		err = safefetch.ErrTooLarge
	}
	if errors.Is(err, safefetch.ErrTooLarge) {
		return &Error{Op: op, Status: resp.StatusCode, Message: tooLarge, cause: err}
	}
	if err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "reading the answer: " + err.Error(), retryable: true, cause: err}
	}
	if resp.StatusCode != http.StatusOK {
		return &Error{Op: op, Status: resp.StatusCode, Message: ghostMessage(data),
			retryable: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "the answer is not the expected JSON: " + err.Error(), cause: err}
	}
	return nil
}

func redactKey(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "REDACTED")
}

// ghostMessage extracts Ghost's error message from
// {"errors":[{"message":...,"type":...}]}, or a short prefix of the body.
func ghostMessage(data []byte) string {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Context string `json:"context"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &e) == nil && len(e.Errors) > 0 {
		m := e.Errors[0].Message
		if e.Errors[0].Type != "" {
			m = e.Errors[0].Type + ": " + m
		}
		if e.Errors[0].Context != "" {
			m += " (" + e.Errors[0].Context + ")"
		}
		return m
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "no message"
	}
	return s
}
