package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"code.dny.dev/ssrf"
	"github.com/temoto/robotstxt"
	"golang.org/x/net/html/charset"

	"rose-ash.com/platform/shared/safefetch"
)

// Defaults for FetchOptions left zero.
const (
	DefaultDelay        = time.Second
	DefaultTimeout      = 60 * time.Second
	DefaultMaxRetryWait = 60 * time.Second
	DefaultRobotsTTL    = time.Hour
	DefaultRetries      = 2
	// maxRedirects bounds the redirects one Fetch follows.
	maxRedirects = 5
	// maxRobotsBytes is as much of a robots.txt as is read (Google reads 500 KiB).
	maxRobotsBytes = 500 << 10
	// maxCrawlDelay caps a robots.txt Crawl-delay, which is honoured when
	// longer than FetchOptions.Delay.
	maxCrawlDelay = 30 * time.Second
)

// BotName is the product token the scraper matches in robots.txt.
const BotName = "RoseAshBot"

// UserAgent returns the scraper's User-Agent, naming the platform and the
// site an operator can be reached through: "RoseAshBot/1.0 (+https://blog.rose-ash.com)".
func UserAgent(siteURL string) string {
	return BotName + "/1.0 (+" + siteURL + ")"
}

// FetchOptions configure a Fetcher.
type FetchOptions struct {
	// UserAgent is sent with every request (see UserAgent); robots.txt is
	// matched against BotName.
	UserAgent string
	// Delay is the pause between two requests to the same host
	// (DefaultDelay when 0; negative for none, in tests).
	Delay time.Duration
	// Allow lists address ranges reachable although not public: loopback
	// and private networks in development and tests only.
	Allow []netip.Prefix
	// Timeout bounds one request, body included (DefaultTimeout).
	Timeout time.Duration
	// MaxRetryWait is the longest Retry-After honoured (DefaultMaxRetryWait);
	// a longer one fails the page with CodeRateLimited.
	MaxRetryWait time.Duration
	// Retries is how many times a 429 or 503 with Retry-After is retried
	// (DefaultRetries; negative for none).
	Retries int
	// RobotsTTL is how long a host's robots.txt is trusted (DefaultRobotsTTL).
	RobotsTTL time.Duration
}

// Fetcher fetches supplier pages politely: robots.txt honoured, at most
// one request per host at a time with a delay between them, Retry-After
// honoured, bodies capped at MaxPageBytes and converted to UTF-8. It goes
// only through the SSRF-safe client. It is safe for concurrent use; share
// one so that its per-host limits hold across imports.
type Fetcher struct {
	client *http.Client
	opts   FetchOptions

	mu    sync.Mutex
	hosts map[string]*hostState
}

// hostState is what the Fetcher knows of one scheme://host:port. Its
// fields are guarded by holding slot.
type hostState struct {
	slot        chan struct{}
	next        time.Time // earliest start of the next request
	robots      *robotstxt.Group
	robotsUntil time.Time
}

// NewFetcher returns a Fetcher following o.
func NewFetcher(o FetchOptions) *Fetcher {
	if o.Delay == 0 {
		o.Delay = DefaultDelay
	}
	o.Delay = max(o.Delay, 0)
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRetryWait == 0 {
		o.MaxRetryWait = DefaultMaxRetryWait
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	o.Retries = max(o.Retries, 0)
	if o.RobotsTTL == 0 {
		o.RobotsTTL = DefaultRobotsTTL
	}
	client := safefetch.New(safefetch.Options{Timeout: o.Timeout, MaxBody: MaxPageBytes, UserAgent: o.UserAgent, Allow: o.Allow})
	// Redirects are followed by Fetch, one hop at a time, so that each
	// hop's host gets its robots.txt check and its delay.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Fetcher{client: client, opts: o, hosts: map[string]*hostState{}}
}

// Request is a page to fetch, with the validators of the copy the caller
// already has (both optional) for a conditional GET.
type Request struct {
	URL          string
	ETag         string
	LastModified string
}

// Response is a fetched page.
type Response struct {
	// URL is the page's address after redirects.
	URL string
	// Body is the page converted to UTF-8; nil when NotModified.
	Body []byte
	// ContentType is the media type the server gave, or the sniffed one.
	ContentType string
	// NotModified is set when the server answered 304 to a conditional GET.
	NotModified bool
	// ETag and LastModified are the validators for the next conditional
	// GET (the request's when a 304 carries none).
	ETag         string
	LastModified string
}

// Fetch gets r.URL, following up to five redirects. The error is an
// *Error: CodeFetch for a bad or refused address or a network failure,
// CodeDisallowed when robots.txt forbids the page, CodeRobotsUnavailable
// when robots.txt answers 5xx, CodeRateLimited when the site asks to wait
// too long or keeps refusing, CodeHTTPStatus for another error status,
// CodeNotHTML for something other than HTML or a sitemap, CodeTooLarge
// past MaxPageBytes.
func (f *Fetcher) Fetch(ctx context.Context, r Request) (*Response, error) {
	target := r.URL
	for range maxRedirects + 1 {
		resp, next, err := f.fetchOnce(ctx, target, r)
		if err != nil || next == "" {
			return resp, err
		}
		target = next
	}
	return nil, errorf(CodeFetch, r.URL, nil, "The page at %s redirects more than %d times", r.URL, maxRedirects)
}

// fetchOnce makes one request to target (after its robots.txt check) and
// returns the page, or the address a redirect points to.
func (f *Fetcher) fetchOnce(ctx context.Context, target string, r Request) (*Response, string, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errorf(CodeFetch, target, nil, "%q is not an http(s) address", target)
	}
	h := f.host(u.Scheme + "://" + u.Host)
	select {
	case h.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	defer func() { <-h.slot }()

	group, err := f.robots(ctx, h, u)
	if err != nil {
		return nil, "", err
	}
	if !group.Test(u.RequestURI()) {
		return nil, "", errorf(CodeDisallowed, target, nil, "The site's robots.txt does not allow %s to fetch %s", BotName, target)
	}
	delay := f.opts.Delay
	if group.CrawlDelay > delay {
		delay = min(group.CrawlDelay, maxCrawlDelay)
	}

	for attempt := 0; ; attempt++ {
		if err := f.wait(ctx, h); err != nil {
			return nil, "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, "", errorf(CodeFetch, target, err, "%q is not an address that can be fetched", target)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5")
		if r.ETag != "" {
			req.Header.Set("If-None-Match", r.ETag)
		}
		if r.LastModified != "" {
			req.Header.Set("If-Modified-Since", r.LastModified)
		}
		resp, err := f.client.Do(req)
		h.next = time.Now().Add(delay)
		if err != nil {
			return nil, "", fetchError(target, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			resp.Body.Close()
			wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			switch {
			case !ok:
				return nil, "", errorf(CodeRateLimited, target, nil, "The site answered %s for %s without saying when to come back; try again later", resp.Status, target)
			case wait > f.opts.MaxRetryWait:
				return nil, "", errorf(CodeRateLimited, target, nil, "The site answered %s for %s and asks to wait %s, longer than %s; try again later", resp.Status, target, wait.Round(time.Second), f.opts.MaxRetryWait)
			case attempt >= f.opts.Retries:
				return nil, "", errorf(CodeRateLimited, target, nil, "The site still answered %s for %s after %d retries; try again later", resp.Status, target, attempt)
			}
			h.next = later(h.next, time.Now().Add(wait))
			continue
		}
		defer resp.Body.Close()
		return f.read(target, resp, r)
	}
}

// read turns a response into a Response, or a redirect's target.
func (f *Fetcher) read(target string, resp *http.Response, r Request) (*Response, string, error) {
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out := &Response{URL: target, NotModified: true, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		if out.ETag == "" && out.LastModified == "" {
			out.ETag, out.LastModified = r.ETag, r.LastModified
		}
		return out, "", nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, "", errorf(CodeFetch, target, err, "The page at %s redirects to an address that cannot be read", target)
		}
		return nil, next.String(), nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, "", errorf(CodeHTTPStatus, target, nil, "The page at %s answered %s", target, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fetchError(target, err)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	media, _, _ := mime.ParseMediaType(ct)
	switch media {
	case "text/html", "application/xhtml+xml", "application/xml", "text/xml":
	default:
		return nil, "", errorf(CodeNotHTML, target, nil, "The address %s gives %q, not an HTML page or a sitemap", target, mediaTypeName(media))
	}
	utf, err := UTF8(body, ct)
	if err != nil {
		return nil, "", errorf(CodeNotHTML, target, err, "The page at %s cannot be converted to UTF-8", target)
	}
	return &Response{URL: target, Body: utf, ContentType: media, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, "", nil
}

// mediaTypeName names a media type in a message.
func mediaTypeName(s string) string {
	if s == "" {
		return "an unknown type"
	}
	return s
}

// fetchError explains a failed request.
func fetchError(target string, err error) *Error {
	if errors.Is(err, safefetch.ErrTooLarge) {
		return errorf(CodeTooLarge, target, nil, "The page at %s is larger than %d MiB; it was not read", target, MaxPageBytes>>20)
	}
	if errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedPort) || errors.Is(err, ssrf.ErrProhibitedNetwork) {
		return errorf(CodeFetch, target, err, "The page at %s is on a private or reserved address, which the scraper does not fetch", target)
	}
	return errorf(CodeFetch, target, err, "The page at %s cannot be fetched", target)
}

// host returns the state of scheme://host, creating it.
func (f *Fetcher) host(key string) *hostState {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hosts[key]
	if h == nil {
		h = &hostState{slot: make(chan struct{}, 1)}
		f.hosts[key] = h
	}
	return h
}

// wait sleeps until the host may be asked again.
func (f *Fetcher) wait(ctx context.Context, h *hostState) error {
	d := time.Until(h.next)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// robots returns the host's rules for BotName, reading robots.txt when
// the cached copy is older than RobotsTTL. A missing robots.txt (4xx)
// allows everything; a 5xx disallows everything, as an error.
func (f *Fetcher) robots(ctx context.Context, h *hostState, u *url.URL) (*robotstxt.Group, error) {
	if h.robots != nil && time.Now().Before(h.robotsUntil) {
		return h.robots, nil
	}
	robotsURL := u.Scheme + "://" + u.Host + "/robots.txt"
	if err := f.wait(ctx, h); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, robotsURL, nil)
	if err != nil {
		return nil, errorf(CodeFetch, u.String(), err, "%q is not an address that can be fetched", u.String())
	}
	resp, err := f.client.Do(req)
	h.next = time.Now().Add(f.opts.Delay)
	if err != nil {
		e := fetchError(robotsURL, err)
		if e.Code == CodeFetch {
			e.Message = strings.Replace(e.Message, "The page at "+robotsURL, "The site "+u.Scheme+"://"+u.Host, 1) + " (reading its robots.txt)"
		}
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes))
	if err != nil && !errors.Is(err, safefetch.ErrTooLarge) {
		return nil, errorf(CodeFetch, robotsURL, err, "The site's robots.txt at %s cannot be read", robotsURL)
	}
	var data *robotstxt.RobotsData
	switch {
	case resp.StatusCode >= 500:
		return nil, errorf(CodeRobotsUnavailable, robotsURL, nil,
			"The site's robots.txt at %s answered %s, so nothing on the site is fetched until it answers", robotsURL, resp.Status)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// A redirected robots.txt is treated as missing rather than
		// followed to another host.
		data, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	case resp.StatusCode >= 400:
		data, _ = robotstxt.FromStatusAndBytes(resp.StatusCode, nil) // allows all
	default:
		if data, err = robotstxt.FromBytes(body); err != nil {
			data, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
		}
	}
	h.robots = data.FindGroup(BotName)
	h.robotsUntil = time.Now().Add(f.opts.RobotsTTL)
	return h.robots, nil
}

// retryAfter reads a Retry-After header, seconds or an HTTP date; ok is
// false when it is absent or malformed.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(secs, 0)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// UTF8 converts a page to UTF-8 using, in order, a byte-order mark, the
// charset of contentType, a <meta charset> or http-equiv declaration in
// the first 1024 bytes; an undeclared page that is valid UTF-8 is taken as
// UTF-8, any other as windows-1252, as browsers do. Invalid UTF-8 in a
// page that claims it is replaced.
func UTF8(body []byte, contentType string) ([]byte, error) {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" || (!certain && utf8.Valid(body)) {
		body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(body) {
			body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
		}
		return body, nil
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return out, nil
}
