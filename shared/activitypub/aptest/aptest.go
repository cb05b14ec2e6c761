// Package aptest runs a fake remote fediverse instance for tests, behaving
// the way Mastodon does towards the platform: it serves actors (with their
// keys), WebFinger and NodeInfo; it verifies every POST to an inbox with the
// sender's key fetched over HTTP, checks the Digest and the Date window, and
// records what arrived; it can be told to fail the next deliveries the ways
// real servers fail (an error status, Retry-After, a hang, a dropped
// connection); and in authorized-fetch mode it refuses unsigned GETs.
//
// The fake listens on 127.0.0.1 and its actors' ids are under its real base
// URL (Server.URL), so the platform's SSRF-safe client must allowlist
// loopback to reach it.
package aptest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// Media types of ActivityPub documents.
const (
	ActivityJSON = "application/activity+json"
	LDJSON       = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

// maxInboxBody is Mastodon's cap on an inbox POST.
const maxInboxBody = 1 << 20

// Option configures a Server.
type Option func(*options)

type options struct {
	fetch           *http.Client
	authorizedFetch bool
	unverified      bool
	gotosocial      bool
}

// WithFetchClient sets the client the server fetches senders' keys with
// (senders on the platform's own hosts need the client that reaches them).
// Without it a plain client with a 10 s timeout is used.
func WithFetchClient(c *http.Client) Option { return func(o *options) { o.fetch = c } }

// WithAuthorizedFetch makes the server behave like Mastodon in secure mode:
// GETs of actors and their collections must carry a valid signature, or are
// answered 401. WebFinger, NodeInfo and the instance actor stay public.
func WithAuthorizedFetch() Option { return func(o *options) { o.authorizedFetch = true } }

// WithGoToSocial makes the server behave like GoToSocial where it differs
// from Mastodon: its actors sign with keyId <actor>/main-key, served (to
// signed GETs) as a stub actor with no inbox; NodeInfo names gotosocial;
// and its inbox accepts, then drops, a Create of a post that concerns none
// of its actors (not "relevant to receiver": none of them is mentioned,
// and none follows the sender), recording that in Delivery.Err.
func WithGoToSocial() Option { return func(o *options) { o.gotosocial = true } }

// WithUnverified makes inbox POSTs accepted and recorded without verifying
// their signature, for throughput tests where key fetches would dominate.
func WithUnverified() Option { return func(o *options) { o.unverified = true } }

// Delivery is one POST that reached an inbox.
type Delivery struct {
	// Path is the inbox path: "/inbox" for the shared inbox,
	// "/users/<name>/inbox" for an actor's.
	Path string
	// Activity is the decoded JSON body, nil when it did not parse.
	Activity map[string]any
	// Body is the raw body.
	Body []byte
	// Verified says the signature verified with the sender's key. It is
	// false for every delivery when the server runs WithUnverified.
	Verified bool
	// Err says why the delivery was refused, or, with Verified still true,
	// why Mastodon would have dropped it after accepting it (the activity's
	// actor is not the key's owner). Empty for a good delivery.
	Err string
	// Status is the status the server answered: 202, 400, 401, 404 or 413.
	Status int
	// Header holds the request's headers, Host included.
	Header http.Header
	// At is when the request was handled.
	At time.Time
}

// Type returns the activity's type, or "" if it has none.
func (d Delivery) Type() string {
	s, _ := d.Activity["type"].(string)
	return s
}

// Server is a fake remote instance on one host: an httptest.Server on
// 127.0.0.1 whose host ("127.0.0.1:<port>") is the name it claims in actor
// ids, acct: addresses and signatures.
type Server struct {
	opts     options
	srv      *httptest.Server
	base     string // http://127.0.0.1:<port>
	closing  chan struct{}
	hits     atomic.Int64
	instance *Actor // the instance actor at /actor, which signs key fetches

	mu       sync.Mutex
	actors   map[string]*Actor // by username
	received []Delivery
	follows  map[[2]string]bool // {local actor, remote actor}: an Accept of the local one's Follow arrived
	posts    map[string][]any   // by username: Create activities, oldest first
	changed  chan struct{}      // closed and replaced when received grows
	failures []failure
	keys     map[string]remoteKey // by key id
}

// remoteKey is a sender's key as fetched.
type remoteKey struct {
	pub   crypto.PublicKey
	owner string // the actor the key belongs to
}

// NewServer starts a fake instance that closes when the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		closing: make(chan struct{}),
		actors:  make(map[string]*Actor),
		changed: make(chan struct{}),
		keys:    make(map[string]remoteKey),
		follows: make(map[[2]string]bool),
		posts:   make(map[string][]any),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.fetch == nil {
		s.opts.fetch = &http.Client{Timeout: 10 * time.Second}
	}
	// The instance actor exists before the first request can arrive.
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.base = "http://" + s.srv.Listener.Addr().String()
	s.instance = s.newActor("actor", "Application", KeyInActor)
	s.srv.Start()
	tb.Cleanup(func() {
		close(s.closing)
		s.srv.Close()
	})
	return s
}

// URL returns the base URL the server listens on, http://127.0.0.1:<port>.
func (s *Server) URL() string { return s.base }

// Host returns the server's host and port, the domain part of its actors'
// acct: addresses.
func (s *Server) Host() string { return strings.TrimPrefix(s.base, "http://") }

// SharedInbox returns the URL of the server's shared inbox.
func (s *Server) SharedInbox() string { return s.base + "/inbox" }

// InstanceActor returns the server's instance actor (an Application at
// /actor), the actor its own key fetches are signed as.
func (s *Server) InstanceActor() *Actor { return s.instance }

// AddActor creates a Person called username, served at
// <URL>/users/<username>, and returns it. Adding a name twice returns the
// existing actor.
func (s *Server) AddActor(username string) *Actor {
	s.mu.Lock()
	a, ok := s.actors[username]
	s.mu.Unlock()
	if ok {
		return a
	}
	style := KeyInActor
	if s.opts.gotosocial {
		style = KeyStub
	}
	return s.newActor(username, "Person", style)
}

// KeyStyle is how an actor publishes the key it signs with.
type KeyStyle int

// The shapes peers give their keys.
const (
	// KeyInActor: keyId <actor>#main-key, the actor's publicKey an object
	// (Mastodon).
	KeyInActor KeyStyle = iota
	// KeyInList: keyId <actor>#main-key, the actor's publicKey a list of
	// keys (some servers publish several).
	KeyInList
	// KeyDocument: keyId <actor>/publickey, a document of its own holding
	// the key and its owner (no actor fields), listed by the actor.
	KeyDocument
	// KeyStub: keyId <actor>/main-key, served as a stub actor (id,
	// type, preferredUsername, publicKey with owner; no inbox) whose
	// publicKey.owner names the full actor (GoToSocial).
	KeyStub
)

// AddActorWithKey creates a Person called username, as AddActor does,
// whose key is published in the given style. Adding a name twice returns
// the existing actor, whatever its style.
func (s *Server) AddActorWithKey(username string, style KeyStyle) *Actor {
	if a := s.Actor(username); a != nil {
		return a
	}
	return s.newActor(username, "Person", style)
}

// Follows reports whether the server's actor local follows remote: an
// Accept of its Follow, sent by remote, arrived in an inbox of the server.
func (s *Server) Follows(local, remote string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.follows[[2]string{local, remote}]
}

// AddNote publishes a public Note by a with the given HTML content, dated
// published, in a's outbox (newest first there, as Mastodon serves it),
// and returns the Note's id.
func (s *Server) AddNote(a *Actor, content string, published time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.posts[a.Username]) + 1
	id := fmt.Sprintf("%s/statuses/%d", a.ID, n)
	to, cc := []any{"https://www.w3.org/ns/activitystreams#Public"}, []any{a.Followers}
	s.posts[a.Username] = append(s.posts[a.Username], map[string]any{
		"id": id + "/activity", "type": "Create", "actor": a.ID, "published": published.UTC().Format(time.RFC3339),
		"to": to, "cc": cc,
		"object": map[string]any{"id": id, "type": "Note", "attributedTo": a.ID, "content": content,
			"published": published.UTC().Format(time.RFC3339), "url": a.ProfileURL + fmt.Sprintf("/%d", n),
			"to": to, "cc": cc, "tag": []any{}},
	})
	return id
}

// Actor returns the actor called username, or nil.
func (s *Server) Actor(username string) *Actor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.actors[username]
}

func (s *Server) newActor(username, typ string, style KeyStyle) *Actor {
	key := pooledKey()
	pemText, err := signature.EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		panic(err) // a key generated by crypto/rsa always encodes
	}
	base := s.base + "/users/" + username
	if typ == "Application" {
		base = s.base + "/actor"
	}
	a := &Actor{
		ID:           base,
		Inbox:        base + "/inbox",
		KeyID:        base + "#main-key",
		Username:     username,
		Key:          key,
		Type:         typ,
		Outbox:       base + "/outbox",
		Followers:    base + "/followers",
		Following:    base + "/following",
		Featured:     base + "/collections/featured",
		SharedInbox:  s.base + "/inbox",
		ProfileURL:   s.base + "/@" + username,
		PublicKeyPEM: pemText,
		KeyStyle:     style,
	}
	switch style {
	case KeyDocument:
		a.KeyID = base + "/publickey"
	case KeyStub:
		a.KeyID = base + "/main-key"
	}
	if typ == "Application" {
		a.ProfileURL = s.base + "/about/more"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.actors[username]; ok {
		return prev // AddActor raced with itself
	}
	if typ != "Application" {
		s.actors[username] = a
	}
	return a
}

// Received returns every inbox POST recorded so far, in arrival order.
// POSTs answered by programmed failures (FailNext, HangNext, DropNext) are
// counted by Hits but not recorded.
func (s *Server) Received() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.received...)
}

// WaitFor returns the first recorded delivery, past or future, for which
// match is true. It fails the test (t.Fatalf, so call it from the test's
// goroutine) when none arrives within timeout, listing what did arrive.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, match func(Delivery) bool) Delivery {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		s.mu.Lock()
		fresh := append([]Delivery(nil), s.received[seen:]...)
		changed := s.changed
		s.mu.Unlock()
		for _, d := range fresh {
			if match(d) {
				return d
			}
		}
		seen += len(fresh)
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("aptest: no matching delivery within %s; %d inbox POSTs, received:\n%s", timeout, s.Hits(), s.describeReceived())
			return Delivery{}
		}
	}
}

func (s *Server) describeReceived() string {
	var b strings.Builder
	for _, d := range s.Received() {
		fmt.Fprintf(&b, "  %s %s %d verified=%v %s id=%v err=%q\n", d.At.Format(time.TimeOnly), d.Path, d.Status, d.Verified, d.Type(), d.Activity["id"], d.Err)
	}
	if b.Len() == 0 {
		return "  (nothing)"
	}
	return b.String()
}

// Hits returns the number of inbox POSTs so far, failed ones included.
func (s *Server) Hits() int { return int(s.hits.Load()) }

// failure is one programmed inbox failure.
type failure struct {
	status int // an HTTP status, or hang or drop
	header http.Header
}

// Failure modes beside an HTTP status.
const (
	hang = -1
	drop = -2
)

// FailNext makes the next n inbox POSTs answer status (500, 503, 429, 410,
// 400...) with header added (e.g. "Retry-After: 30" with a 429), without
// looking at them. Failures queue behind ones already programmed; after
// them the server answers normally again.
func (s *Server) FailNext(n int, status int, header http.Header) {
	s.program(n, failure{status: status, header: header})
}

// HangNext makes the next n inbox POSTs never answer: the server reads the
// body and waits until the client gives up (or the test ends).
func (s *Server) HangNext(n int) { s.program(n, failure{status: hang}) }

// DropNext makes the next n inbox POSTs end with the connection closed and
// no response at all.
func (s *Server) DropNext(n int) { s.program(n, failure{status: drop}) }

func (s *Server) program(n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// nextFailure takes the next programmed failure, if any.
func (s *Server) nextFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return failure{}, false
	}
	f := s.failures[0]
	s.failures = s.failures[1:]
	return f, true
}

func (s *Server) record(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, d)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Actor is an account on a fake server, with its own RSA key.
type Actor struct {
	// ID is the actor's id, <URL>/users/<username>.
	ID string
	// Inbox is the actor's own inbox.
	Inbox string
	// KeyID is the id of its key, ID + "#main-key".
	KeyID string
	// Username is its preferredUsername.
	Username string
	// Key is its private key; PublicKeyPEM the public half as published.
	// Keys come from a small pool and repeat across actors after a few (see
	// OtherKey).
	Key          *rsa.PrivateKey
	PublicKeyPEM string
	// Type is "Person", or "Application" for the instance actor.
	Type string
	// The actor's collections, shared inbox and HTML profile page.
	Outbox, Followers, Following, Featured, SharedInbox, ProfileURL string
	// KeyStyle is how the actor publishes its key (and what KeyID is).
	KeyStyle KeyStyle
}

// Signer returns a signer that signs as this actor.
func (a *Actor) Signer() signature.Signer {
	return signature.Signer{KeyID: a.KeyID, Key: a.Key}
}

// NewRequest returns a request to target signed as this actor: a GET
// accepting ActivityPub JSON when activity is nil, else a POST of activity
// encoded as JSON (application/activity+json). It fails when activity does
// not encode or target is not a URL.
func (a *Actor) NewRequest(ctx context.Context, target string, activity any) (*http.Request, error) {
	method, contentType := http.MethodGet, ""
	var body []byte
	if activity != nil {
		method, contentType = http.MethodPost, ActivityJSON
		var err error
		if body, err = json.Marshal(activity); err != nil {
			return nil, fmt.Errorf("aptest: encoding activity: %w", err)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("aptest: %w", err)
	}
	r.Header.Set("Accept", ActivityJSON+", "+LDJSON)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("User-Agent", "aptest (Mastodon-like fake)")
	if err := a.Signer().Sign(r, body); err != nil {
		return nil, err
	}
	return r, nil
}

// Document returns the actor's ActivityPub JSON, shaped like Mastodon's.
func (a *Actor) Document() map[string]any {
	return map[string]any{
		"@context": []any{
			"https://www.w3.org/ns/activitystreams",
			"https://w3id.org/security/v1",
			map[string]any{
				"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
				"toot":                      "http://joinmastodon.org/ns#",
				"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
				"discoverable":              "toot:discoverable",
			},
		},
		"id":                        a.ID,
		"type":                      a.Type,
		"preferredUsername":         a.Username,
		"name":                      a.Username,
		"url":                       a.ProfileURL,
		"inbox":                     a.Inbox,
		"outbox":                    a.Outbox,
		"followers":                 a.Followers,
		"following":                 a.Following,
		"featured":                  a.Featured,
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"published":                 "2024-01-01T00:00:00Z",
		"publicKey":                 a.publicKey(),
		"endpoints":                 map[string]any{"sharedInbox": a.SharedInbox},
	}
}

// publicKey is the actor's publicKey property in its style.
func (a *Actor) publicKey() any {
	key := map[string]any{"id": a.KeyID, "owner": a.ID, "publicKeyPem": a.PublicKeyPEM}
	if a.KeyStyle == KeyInList {
		return []any{key}
	}
	return key
}

// KeyDocument returns what the actor's key id serves: for KeyDocument a
// key with its owner, for KeyStub GoToSocial's stub actor, otherwise the
// actor itself (the key id is a fragment of it).
func (a *Actor) KeyDocument() map[string]any {
	switch a.KeyStyle {
	case KeyDocument:
		return map[string]any{"@context": "https://w3id.org/security/v1", "id": a.KeyID, "type": "Key",
			"owner": a.ID, "publicKeyPem": a.PublicKeyPEM}
	case KeyStub:
		return map[string]any{
			"@context":          []any{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
			"id":                a.ID,
			"type":              a.Type,
			"preferredUsername": a.Username,
			"publicKey":         map[string]any{"id": a.KeyID, "owner": a.ID, "publicKeyPem": a.PublicKeyPEM},
		}
	}
	return a.Document()
}

// The key pool: RSA-2048 generation takes tens of milliseconds or more, so
// the process generates up to keyPoolSize keys, lazily, and hands them out
// round robin across all servers (instance actors included).
const keyPoolSize = 8

var keyPool struct {
	mu   sync.Mutex
	keys []*rsa.PrivateKey
	next int
}

func pooledKey() *rsa.PrivateKey {
	keyPool.mu.Lock()
	i := keyPool.next % keyPoolSize
	keyPool.next++
	keyPool.mu.Unlock()
	return poolKey(i)
}

func poolKey(i int) *rsa.PrivateKey {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	for len(keyPool.keys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("aptest: generating a key: %v", err))
		}
		keyPool.keys = append(keyPool.keys, k)
	}
	return keyPool.keys[i]
}

// OtherKey returns a key different from k, for signing forgeries: actors
// share the pool's keys once the process has made more than keyPoolSize of
// them, so another actor's key is not necessarily a wrong one.
func OtherKey(k *rsa.PrivateKey) *rsa.PrivateKey {
	for i := range 2 {
		if o := poolKey(i); !o.Equal(k) {
			return o
		}
	}
	panic("aptest: the key pool holds two equal keys")
}

// lookupKey finds the key for keyID: its own actors' keys directly, others
// from the cache (cached reports that) or fetched (signed as the instance
// actor, as Mastodon does).
func (s *Server) lookupKey(ctx context.Context, keyID string) (k remoteKey, cached bool, err error) {
	if a := s.localActorByKey(keyID); a != nil {
		return remoteKey{pub: &a.Key.PublicKey, owner: a.ID}, false, nil
	}
	s.mu.Lock()
	k, ok := s.keys[keyID]
	s.mu.Unlock()
	if ok {
		return k, true, nil
	}
	if k, err = s.fetchKey(ctx, keyID); err != nil {
		return remoteKey{}, false, err
	}
	s.mu.Lock()
	s.keys[keyID] = k
	s.mu.Unlock()
	return k, false, nil
}

func (s *Server) forgetKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, keyID)
}

func (s *Server) localActorByKey(keyID string) *Actor {
	if s.instance != nil && keyID == s.instance.KeyID {
		return s.instance
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.actors {
		if a.KeyID == keyID {
			return a
		}
	}
	return nil
}

// fetchKey fetches the document at keyID. An actor must list a publicKey
// with that id; a key document is followed to its owner, who must list it
// (Mastodon's rule, so nobody can claim another's key).
func (s *Server) fetchKey(ctx context.Context, keyID string) (remoteKey, error) {
	doc, err := s.fetchJSON(ctx, keyID)
	if err != nil {
		return remoteKey{}, err
	}
	if _, isKey := doc["publicKeyPem"]; isKey {
		owner, _ := doc["owner"].(string)
		if owner == "" {
			return remoteKey{}, fmt.Errorf("%w: key document %s has no owner", signature.ErrKeyNotFound, keyID)
		}
		if doc, err = s.fetchJSON(ctx, owner); err != nil {
			return remoteKey{}, err
		}
	}
	id, _ := doc["id"].(string)
	var keys []any
	switch pk := doc["publicKey"].(type) {
	case map[string]any:
		keys = []any{pk}
	case []any:
		keys = pk
	}
	for _, k := range keys {
		km, _ := k.(map[string]any)
		if km["id"] != keyID {
			continue
		}
		pemText, _ := km["publicKeyPem"].(string)
		pub, err := signature.ParsePublicKeyPEM(pemText)
		if err != nil {
			return remoteKey{}, fmt.Errorf("%w: key %s: %w", signature.ErrKeyNotFound, keyID, err)
		}
		return remoteKey{pub: pub, owner: id}, nil
	}
	return remoteKey{}, fmt.Errorf("%w: actor %s does not list key %s", signature.ErrKeyNotFound, id, keyID)
}

// fetchJSON GETs an ActivityPub document, signed as the instance actor.
func (s *Server) fetchJSON(ctx context.Context, target string) (map[string]any, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: key id %q is not an http(s) URL", signature.ErrKeyNotFound, target)
	}
	u.Fragment = ""
	req, err := s.instance.NewRequest(ctx, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.opts.fetch.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%w: %s answered %s", signature.ErrKeyNotFound, u, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("fetching %s: %s", u, resp.Status)
	}
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInboxBody)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	return doc, nil
}

// verify checks r's signature the way Mastodon does and returns the owner
// of the signing key. A cached key that fails is fetched again once, as the
// sender may have rotated it.
func (s *Server) verify(r *http.Request, body []byte) (owner string, err error) {
	var k remoteKey
	var cached bool
	lookup := func(ctx context.Context, keyID string) (crypto.PublicKey, error) {
		var err error
		k, cached, err = s.lookupKey(ctx, keyID)
		return k.pub, err
	}
	_, err = signature.Verify(r, body, time.Now(), lookup)
	if err != nil && cached && !errors.Is(err, signature.ErrKeyNotFound) {
		keyID, _ := signature.KeyIDOf(r)
		s.forgetKey(keyID)
		_, err = signature.Verify(r, body, time.Now(), lookup)
	}
	if err != nil {
		return "", err
	}
	return k.owner, nil
}
