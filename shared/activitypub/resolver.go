package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/net/html"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// Errors of resolving remote actors and documents.
var (
	// ErrNotFound: the server says the account or document does not exist.
	ErrNotFound = errors.New("not found")
	// ErrGone: the server says it is gone for good (410).
	ErrGone = errors.New("gone")
	// ErrUnreachable: the server could not be reached or answered badly.
	ErrUnreachable = errors.New("unreachable")
)

// DefaultActorTTL is how long a fetched actor is trusted before it is
// fetched again when next needed.
const DefaultActorTTL = 24 * time.Hour

// RemoteActor is an actor of another server (or one of ours seen from
// outside) as stored in ap_actors.
type RemoteActor struct {
	URI, Host, Type, Username, Name, Summary, IconURL, URL string
	Inbox, SharedInbox, Outbox, Followers, Following       string
	KeyID, PublicKeyPEM                                    string
	Locked                                                 bool
	FetchedAt                                              time.Time
	GoneAt                                                 *time.Time
}

// Handle is the actor's address, "@user@host".
func (a RemoteActor) Handle() string {
	if a.Username == "" {
		return a.URI
	}
	return "@" + a.Username + "@" + a.Host
}

// DeliveryInbox is where activities for this actor go: its server's shared
// inbox when it has one.
func (a RemoteActor) DeliveryInbox() string {
	if a.SharedInbox != "" {
		return a.SharedInbox
	}
	return a.Inbox
}

// Resolver finds remote actors by handle or URL and the keys they sign
// with, fetching with signed GETs through the SSRF-safe client and caching
// what it found in ap_actors (and parsed keys in memory).
type Resolver struct {
	DB *pgxpool.Pool
	// Client is the SSRF-safe client (shared/safefetch).
	Client *http.Client
	// Signer signs every GET (servers in authorized-fetch mode refuse
	// unsigned ones): a local actor's key id with the site key.
	Signer signature.Signer
	// PlainHTTP reports the hosts whose handles are resolved over http
	// rather than https: the platform's own hosts in development, fake
	// servers in tests. Nil means https everywhere.
	PlainHTTP func(host string) bool
	// TTL is how long a fetched actor is trusted (DefaultActorTTL).
	TTL time.Duration

	keys sync.Map // key id -> cachedKey
}

type cachedKey struct {
	key   crypto.PublicKey
	owner string
	at    time.Time
}

const actorColumns = `uri, host, type, username, name, summary, icon_url, url, inbox, shared_inbox, outbox,
	followers, following, key_id, public_key_pem, locked, fetched_at, gone_at`

func scanActor(row pgx.Row) (RemoteActor, error) {
	var a RemoteActor
	err := row.Scan(&a.URI, &a.Host, &a.Type, &a.Username, &a.Name, &a.Summary, &a.IconURL, &a.URL, &a.Inbox,
		&a.SharedInbox, &a.Outbox, &a.Followers, &a.Following, &a.KeyID, &a.PublicKeyPEM, &a.Locked, &a.FetchedAt, &a.GoneAt)
	return a, err
}

// Stored returns the actor as stored, without any network I/O. Errors:
// ErrNotFound when it is not stored, and the database's.
func (r *Resolver) Stored(ctx context.Context, uri string) (RemoteActor, error) {
	a, err := scanActor(r.DB.QueryRow(ctx, `SELECT `+actorColumns+` FROM ap_actors WHERE uri = $1`, uri))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("actor %s: %w", uri, ErrNotFound)
	}
	return a, err
}

// Actor returns the actor with id uri, from ap_actors when fetched within
// the TTL, otherwise fetched again (the stored copy is used when the server
// cannot be reached). Errors: those of Fetch (ErrNotFound, ErrGone,
// ErrUnreachable) when it is not stored, and the database's.
func (r *Resolver) Actor(ctx context.Context, uri string) (RemoteActor, error) {
	stored, err := r.Stored(ctx, uri)
	if err == nil && (stored.GoneAt != nil || time.Since(stored.FetchedAt) < r.ttl()) {
		return stored, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return stored, err
	}
	fresh, ferr := r.refresh(ctx, uri)
	if ferr != nil && err == nil && !errors.Is(ferr, ErrGone) {
		return stored, nil
	}
	return fresh, ferr
}

// Refresh fetches the actor again whatever the cache says, and stores it.
// Errors: those of Fetch and ParseActor, and the database's.
func (r *Resolver) Refresh(ctx context.Context, uri string) (RemoteActor, error) {
	return r.refresh(ctx, uri)
}

func (r *Resolver) refresh(ctx context.Context, uri string) (RemoteActor, error) {
	doc, err := r.Fetch(ctx, uri)
	if errors.Is(err, ErrGone) {
		_, _ = r.DB.Exec(ctx, `UPDATE ap_actors SET gone_at = coalesce(gone_at, now()) WHERE uri = $1`, uri)
		return RemoteActor{}, err
	}
	if err != nil {
		return RemoteActor{}, err
	}
	a, err := ParseActor(doc)
	if err != nil {
		return RemoteActor{}, err
	}
	// Fetched by another URL (a profile page), the document's own id is
	// what is stored; Fetch made sure it lives on the host it came from.
	return a, r.Store(ctx, a)
}

// Store upserts an actor into ap_actors (no longer gone, fetched now) and
// forgets its cached key. Errors: the database's.
func (r *Resolver) Store(ctx context.Context, a RemoteActor) error {
	_, err := r.DB.Exec(ctx, `
		INSERT INTO ap_actors (uri, host, type, username, name, summary, icon_url, url, inbox, shared_inbox, outbox,
		                       followers, following, key_id, public_key_pem, locked, fetched_at, gone_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now(), NULL)
		ON CONFLICT (uri) DO UPDATE SET host = EXCLUDED.host, type = EXCLUDED.type, username = EXCLUDED.username,
		       name = EXCLUDED.name, summary = EXCLUDED.summary, icon_url = EXCLUDED.icon_url, url = EXCLUDED.url,
		       inbox = EXCLUDED.inbox, shared_inbox = EXCLUDED.shared_inbox, outbox = EXCLUDED.outbox,
		       followers = EXCLUDED.followers, following = EXCLUDED.following, key_id = EXCLUDED.key_id,
		       public_key_pem = EXCLUDED.public_key_pem, locked = EXCLUDED.locked, fetched_at = now(), gone_at = NULL`,
		a.URI, a.Host, a.Type, a.Username, a.Name, a.Summary, a.IconURL, a.URL, a.Inbox, a.SharedInbox, a.Outbox,
		a.Followers, a.Following, a.KeyID, a.PublicKeyPEM, a.Locked)
	if err != nil {
		return fmt.Errorf("activitypub: store actor %s: %w", a.URI, err)
	}
	r.keys.Delete(a.KeyID)
	return nil
}

func (r *Resolver) ttl() time.Duration {
	if r.TTL > 0 {
		return r.TTL
	}
	return DefaultActorTTL
}

// Lookup finds an actor by handle ("@user@host" or "user@host", through
// WebFinger) or by URL (its id or its profile page). Errors: ErrNotFound
// (not a handle or URL, no such account, no actor), ErrGone,
// ErrUnreachable, and the database's.
func (r *Resolver) Lookup(ctx context.Context, query string) (RemoteActor, error) {
	q := strings.TrimSpace(query)
	if strings.HasPrefix(q, "https://") || strings.HasPrefix(q, "http://") {
		if a, err := r.Stored(ctx, q); err == nil && a.GoneAt == nil {
			return r.Actor(ctx, q)
		}
		a, err := r.refresh(ctx, q)
		if alt := alternateOf(err); alt != "" {
			// A profile page that links its actor document.
			return r.refresh(ctx, alt)
		}
		return a, err
	}
	q = strings.TrimPrefix(q, "acct:")
	q = strings.TrimPrefix(q, "@")
	user, host, ok := strings.Cut(q, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(q, "/?#\\ ") {
		return RemoteActor{}, fmt.Errorf("%q is not a handle like @name@example.org or a URL: %w", query, ErrNotFound)
	}
	host = strings.ToLower(host)
	if a, err := r.byHandle(ctx, user, host); err == nil && time.Since(a.FetchedAt) < r.ttl() && a.GoneAt == nil {
		return a, nil
	}
	href, err := r.webfinger(ctx, user, host)
	if err != nil {
		return RemoteActor{}, err
	}
	return r.refresh(ctx, href)
}

func (r *Resolver) byHandle(ctx context.Context, user, host string) (RemoteActor, error) {
	return scanActor(r.DB.QueryRow(ctx, `SELECT `+actorColumns+` FROM ap_actors
		WHERE lower(username) = lower($1) AND host = $2 ORDER BY fetched_at DESC LIMIT 1`, user, host))
}

func (r *Resolver) scheme(host string) string {
	if r.PlainHTTP != nil && r.PlainHTTP(host) {
		return "http"
	}
	return "https"
}

// webfinger asks host for acct:user@host and returns its self link.
func (r *Resolver) webfinger(ctx context.Context, user, host string) (string, error) {
	u := r.scheme(host) + "://" + host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+user+"@"+host)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", host, ErrNotFound)
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := r.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("webfinger at %s: %v: %w", host, err, ErrUnreachable)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return "", fmt.Errorf("no account @%s@%s: %w", user, host, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("webfinger at %s answered %d: %w", host, resp.StatusCode, ErrUnreachable)
	}
	var jrd struct {
		Links []struct{ Rel, Type, Href string } `json:"links"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jrd); err != nil {
		return "", fmt.Errorf("webfinger at %s: %v: %w", host, err, ErrUnreachable)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && (strings.HasPrefix(l.Type, "application/activity+json") || strings.HasPrefix(l.Type, "application/ld+json")) && l.Href != "" {
			return l.Href, nil
		}
	}
	return "", fmt.Errorf("@%s@%s has no ActivityPub actor: %w", user, host, ErrNotFound)
}

// Fetch GETs an ActivityStreams document with a signed request. The
// document's id must be on the host it was fetched from (after redirects),
// so that no server can speak for another.
//
// A server that answers with an HTML page gets an error that wraps
// ErrUnreachable and carries the page's link to its ActivityStreams
// document, if it has one (see alternateOf).
func (r *Resolver) Fetch(ctx context.Context, uri string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil || (req.URL.Scheme != "https" && req.URL.Scheme != "http") {
		return nil, fmt.Errorf("%q is not a URL: %w", uri, ErrNotFound)
	}
	req.Header.Set("Accept", AcceptHeader)
	if r.Signer.Key != nil {
		if err := r.Signer.Sign(req, nil); err != nil {
			return nil, fmt.Errorf("sign the fetch of %s: %w", uri, err)
		}
	}
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %v: %w", uri, err, ErrUnreachable)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s: %w", uri, ErrGone)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", uri, ErrNotFound)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("fetch %s: answered %d: %w", uri, resp.StatusCode, ErrUnreachable)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil || len(body) > MaxBody {
		return nil, fmt.Errorf("fetch %s: body too large or cut: %w", uri, ErrUnreachable)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		return nil, &htmlPageError{uri: uri, alternate: alternateLink(body, resp.Request.URL)}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("fetch %s: not JSON: %w", uri, ErrUnreachable)
	}
	id, _ := doc["id"].(string)
	from := resp.Request.URL.Host
	if resp.Request.Host != "" {
		from = resp.Request.Host // the public host when routed inside the platform
	}
	if id == "" || !strings.EqualFold(hostOf(id), from) {
		return nil, fmt.Errorf("fetch %s: document id %q is not on %s: %w", uri, id, from, ErrUnreachable)
	}
	return doc, nil
}

// htmlPageError is a fetch answered by an HTML page.
type htmlPageError struct{ uri, alternate string }

func (e *htmlPageError) Error() string {
	return "fetch " + e.uri + ": an HTML page, not an ActivityStreams document"
}

func (e *htmlPageError) Unwrap() error { return ErrUnreachable }

// alternateOf is the ActivityStreams document an HTML page that a fetch
// answered links to, "" when err is not such a page or it links none.
func alternateOf(err error) string {
	var page *htmlPageError
	if errors.As(err, &page) {
		return page.alternate
	}
	return ""
}

// alternateLink finds, in an HTML page, the <link rel="alternate"> to an
// ActivityStreams document (as Mastodon, Misskey and others put on profile
// pages), resolved against the page's URL; "" when there is none.
func alternateLink(page []byte, base *url.URL) string {
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "body" {
				return "" // links live in the head
			}
			if string(name) != "link" || !hasAttr {
				continue
			}
			var rel, typ, href string
			for {
				k, v, more := z.TagAttr()
				switch string(k) {
				case "rel":
					rel = strings.ToLower(string(v))
				case "type":
					typ = strings.ToLower(string(v))
				case "href":
					href = string(v)
				}
				if !more {
					break
				}
			}
			if !slices.Contains(strings.Fields(rel), "alternate") || href == "" {
				continue
			}
			mt, params, _ := mime.ParseMediaType(typ)
			if mt != "application/activity+json" && !(mt == "application/ld+json" && strings.Contains(params["profile"], "activitystreams")) {
				continue
			}
			u, err := base.Parse(href)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
				continue
			}
			return u.String()
		}
	}
}

// ParseActor reads an actor document: its summary sanitized, the key it
// owns (a key owned by another actor is ignored). Errors: ErrNotFound when
// the document has no id, no inbox, or an inbox that is not a URL.
func ParseActor(doc map[string]any) (RemoteActor, error) {
	a := RemoteActor{
		URI:       str(doc["id"]),
		Type:      str(doc["type"]),
		Username:  str(doc["preferredUsername"]),
		Name:      str(doc["name"]),
		Summary:   SanitizeHTML(str(doc["summary"])),
		URL:       firstURL(doc["url"]),
		Inbox:     str(doc["inbox"]),
		Outbox:    str(doc["outbox"]),
		Followers: str(doc["followers"]),
		Following: str(doc["following"]),
	}
	a.Host = hostOf(a.URI)
	if a.URI == "" || a.Inbox == "" || a.Host == "" {
		return a, fmt.Errorf("not an actor (no id or inbox): %w", ErrNotFound)
	}
	if hostOf(a.Inbox) == "" {
		return a, fmt.Errorf("actor %s has a bad inbox: %w", a.URI, ErrNotFound)
	}
	if ep, ok := doc["endpoints"].(map[string]any); ok {
		a.SharedInbox = str(ep["sharedInbox"])
	}
	a.Locked, _ = doc["manuallyApprovesFollowers"].(bool)
	a.IconURL = firstURL(doc["icon"])
	for _, k := range asList(doc["publicKey"]) {
		if m, ok := k.(map[string]any); ok && str(m["publicKeyPem"]) != "" {
			if owner := str(m["owner"]); owner != "" && owner != a.URI {
				continue
			}
			a.KeyID, a.PublicKeyPEM = str(m["id"]), str(m["publicKeyPem"])
			break
		}
	}
	return a, nil
}

// The SQL of an inbox that answered 410 Gone.
const (
	inboxGoneQuery       = `UPDATE ap_actors SET gone_at = now() WHERE inbox = $1 AND gone_at IS NULL`
	sharedInboxGoneQuery = `UPDATE ap_actors SET shared_inbox = '' WHERE shared_inbox = $1`
)

// InboxGone records, in tx, that inbox answered a delivery with 410 Gone
// (delivery.Deliverer.InboxGone): the actors whose own inbox it is are
// marked gone; those whose shared inbox it was lose it (the server stopped
// offering it; they are delivered to at their own inboxes). It returns how
// many actors went and how many lost their shared inbox. Errors: the
// database's.
func InboxGone(ctx context.Context, tx pgx.Tx, inbox string) (gone, lostShared int64, err error) {
	shared, err := tx.Exec(ctx, sharedInboxGoneQuery, inbox)
	if err != nil {
		return 0, 0, err
	}
	personal, err := tx.Exec(ctx, inboxGoneQuery, inbox)
	if err != nil {
		return 0, 0, err
	}
	return personal.RowsAffected(), shared.RowsAffected(), nil
}
