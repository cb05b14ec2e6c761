package aptest

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// send sends a request signed as a (a POST of activity, or a GET when
// activity is nil) and returns the response status and headers.
func send(t *testing.T, a *Actor, target string, activity any) *http.Response {
	t.Helper()
	req, err := a.NewRequest(context.Background(), target, activity)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func follow(from *Actor, to *Actor, id string) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       from.ID + "#follows/" + id,
		"type":     "Follow",
		"actor":    from.ID,
		"object":   to.ID,
	}
}

func getJSON(t *testing.T, target string, into any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", ActivityJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
	}
	return resp
}

func TestActorDocumentKeyVerifiesItsSignatures(t *testing.T) {
	s := NewServer(t)
	alice := s.AddActor("alice")
	if alice.ID != s.URL()+"/users/alice" || s.AddActor("alice") != alice {
		t.Fatalf("actor id %q, or AddActor not idempotent", alice.ID)
	}

	var doc struct {
		ID, Type, PreferredUsername, Inbox, Outbox, Followers, Following string
		PublicKey                                                        struct{ ID, Owner, PublicKeyPem string }
		Endpoints                                                        struct{ SharedInbox string }
	}
	resp := getJSON(t, alice.ID, &doc)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ActivityJSON) {
		t.Fatalf("GET actor: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if doc.ID != alice.ID || doc.Type != "Person" || doc.PreferredUsername != "alice" || doc.Inbox != alice.Inbox ||
		doc.Outbox == "" || doc.Followers == "" || doc.Following == "" ||
		doc.PublicKey.ID != alice.KeyID || doc.PublicKey.Owner != alice.ID || doc.Endpoints.SharedInbox != s.URL()+"/inbox" {
		t.Errorf("actor document: %+v", doc)
	}
	for _, c := range []string{doc.Outbox, doc.Followers, doc.Following, alice.Featured} {
		var coll struct{ ID, Type string }
		if resp := getJSON(t, c, &coll); resp.StatusCode != http.StatusOK || coll.ID != c || coll.Type != "OrderedCollection" {
			t.Errorf("GET %s: %s %+v", c, resp.Status, coll)
		}
	}

	pub, err := signature.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	if err != nil {
		t.Fatal(err)
	}
	req, err := alice.NewRequest(context.Background(), "https://blog.test/inbox", follow(alice, alice, "1"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.Verify(req, body, time.Now(), func(_ context.Context, keyID string) (crypto.PublicKey, error) {
		if keyID != doc.PublicKey.ID {
			return nil, signature.ErrKeyNotFound
		}
		return pub, nil
	})
	if err != nil || v.KeyID != alice.KeyID {
		t.Fatalf("signature by Actor.Signer does not verify with the published key: %v", err)
	}

	// Without an ActivityPub Accept header Mastodon serves the profile page.
	page, err := http.Get(alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET without Accept: Content-Type %q, want HTML", page.Header.Get("Content-Type"))
	}
	if resp := getJSON(t, s.URL()+"/users/nobody", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown actor: %s", resp.Status)
	}
}

func TestWebFingerAndNodeInfo(t *testing.T) {
	s := NewServer(t)
	alice := s.AddActor("alice")

	for _, resource := range []string{"acct:alice@" + s.Host(), alice.ID} {
		var jrd struct {
			Subject string
			Links   []struct{ Rel, Type, Href string }
		}
		resp := getJSON(t, s.URL()+"/.well-known/webfinger?resource="+url.QueryEscape(resource), &jrd)
		if resp.StatusCode != http.StatusOK || jrd.Subject != "acct:alice@"+s.Host() {
			t.Fatalf("WebFinger %s: %s %+v", resource, resp.Status, jrd)
		}
		var self string
		for _, l := range jrd.Links {
			if l.Rel == "self" && l.Type == ActivityJSON {
				self = l.Href
			}
		}
		if self != alice.ID {
			t.Errorf("WebFinger %s: self link %q, want %q", resource, self, alice.ID)
		}
	}
	for _, resource := range []string{"acct:bob@" + s.Host(), "acct:alice@elsewhere.test"} {
		if resp := getJSON(t, s.URL()+"/.well-known/webfinger?resource="+url.QueryEscape(resource), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("WebFinger %s: %s, want 404", resource, resp.Status)
		}
	}

	var links struct{ Links []struct{ Rel, Href string } }
	getJSON(t, s.URL()+"/.well-known/nodeinfo", &links)
	if len(links.Links) != 1 {
		t.Fatalf("nodeinfo links: %+v", links)
	}
	var info struct {
		Version   string
		Software  struct{ Name string }
		Protocols []string
	}
	getJSON(t, links.Links[0].Href, &info)
	if info.Version != "2.0" || info.Software.Name != "mastodon" || len(info.Protocols) != 1 || info.Protocols[0] != "activitypub" {
		t.Errorf("nodeinfo: %+v", info)
	}
}

func TestInboxVerifiesSignatures(t *testing.T) {
	home := NewServer(t) // where the senders live
	alice, mallory := home.AddActor("alice"), home.AddActor("mallory")
	var fetches atomic.Int32
	fetchClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		fetches.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	s := NewServer(t, WithFetchClient(fetchClient))
	bob := s.AddActor("bob")

	if resp := send(t, alice, bob.Inbox, follow(alice, bob, "1")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed POST: %s", resp.Status)
	}
	if resp := send(t, alice, s.SharedInbox(), follow(alice, bob, "2")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed POST to the shared inbox: %s", resp.Status)
	}
	if fetches.Load() != 1 {
		t.Errorf("%d key fetches through the fetch client, want 1 (then cached)", fetches.Load())
	}

	// Signed with another key under alice's key id.
	forger := &Actor{KeyID: alice.KeyID, Key: OtherKey(alice.Key)}
	req, err := forger.NewRequest(context.Background(), bob.Inbox, follow(alice, bob, "3"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST signed with the wrong key: %s, want 401", resp.Status)
	}
	if fetches.Load() != 2 {
		t.Errorf("%d key fetches, want 2: a cached key that fails is fetched again once", fetches.Load())
	}

	unsigned, err := http.Post(bob.Inbox, ActivityJSON, strings.NewReader(`{"type":"Follow"}`))
	if err != nil {
		t.Fatal(err)
	}
	unsigned.Body.Close()
	if unsigned.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned POST: %s, want 401", unsigned.Status)
	}

	// Signed by alice, claiming to be mallory.
	if resp := send(t, alice, bob.Inbox, follow(mallory, bob, "4")); resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST for another actor: %s, want 202 (dropped later)", resp.Status)
	}

	got := s.Received()
	if len(got) != 5 {
		t.Fatalf("recorded %d deliveries, want 5: %+v", len(got), got)
	}
	for i, want := range []struct {
		path     string
		verified bool
		status   int
		err      string
	}{
		{"/users/bob/inbox", true, 202, ""},
		{"/inbox", true, 202, ""},
		{"/users/bob/inbox", false, 401, "does not verify"},
		{"/users/bob/inbox", false, 401, "no Signature header"},
		{"/users/bob/inbox", true, 202, "is not the signer"},
	} {
		d := got[i]
		if d.Path != want.path || d.Verified != want.verified || d.Status != want.status || !strings.Contains(d.Err, want.err) || (want.err == "" && d.Err != "") {
			t.Errorf("delivery %d: %s verified=%v status=%d err=%q; want %+v", i, d.Path, d.Verified, d.Status, d.Err, want)
		}
	}
	if got[0].Type() != "Follow" || got[0].Activity["actor"] != alice.ID || got[0].Header.Get("Signature") == "" {
		t.Errorf("delivery 0 recorded as %+v", got[0])
	}
}

func TestWaitFor(t *testing.T) {
	home, s := NewServer(t), NewServer(t)
	alice, bob := home.AddActor("alice"), s.AddActor("bob")
	done := make(chan error, 1)
	go func() {
		req, err := alice.NewRequest(context.Background(), bob.Inbox, follow(alice, bob, "late"))
		if err == nil {
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		done <- err
	}()
	d := s.WaitFor(t, 10*time.Second, func(d Delivery) bool { return d.Activity["id"] == alice.ID+"#follows/late" })
	if !d.Verified {
		t.Errorf("delivery not verified: %s", d.Err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFailNext(t *testing.T) {
	home, s := NewServer(t), NewServer(t)
	alice, bob := home.AddActor("alice"), s.AddActor("bob")

	s.FailNext(2, http.StatusServiceUnavailable, nil)
	s.FailNext(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}})
	s.FailNext(1, http.StatusGone, nil)
	for i, want := range []int{503, 503, 429, 410, 202, 202} {
		resp := send(t, alice, bob.Inbox, follow(alice, bob, "x"))
		if resp.StatusCode != want {
			t.Errorf("POST %d: %s, want %d", i, resp.Status, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "30" {
			t.Errorf("429 without Retry-After: %v", resp.Header)
		}
	}
	if s.Hits() != 6 {
		t.Errorf("Hits = %d, want 6", s.Hits())
	}
	if got := s.Received(); len(got) != 2 || !got[0].Verified || !got[1].Verified {
		t.Errorf("recorded %+v, want the two that got through", got)
	}
}

func TestHangAndDropNext(t *testing.T) {
	home, s := NewServer(t), NewServer(t)
	alice, bob := home.AddActor("alice"), s.AddActor("bob")
	s.HangNext(1)
	s.DropNext(1)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	post := func() (*http.Response, error) {
		req, err := alice.NewRequest(context.Background(), bob.Inbox, follow(alice, bob, "x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}

	var timeout interface{ Timeout() bool }
	if _, err := post(); !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("hung POST: err = %v, want a client timeout", err)
	}
	if resp, err := post(); err == nil {
		t.Errorf("dropped POST answered %s", resp.Status)
	}
	client.Timeout = 10 * time.Second
	if resp, err := post(); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST after the failures: %v, %v", resp, err)
	}
	if s.Hits() != 3 || len(s.Received()) != 1 {
		t.Errorf("Hits = %d, recorded %d; want 3 and 1", s.Hits(), len(s.Received()))
	}
}

func TestAuthorizedFetch(t *testing.T) {
	home := NewServer(t)
	alice := home.AddActor("alice")
	s := NewServer(t, WithAuthorizedFetch())
	bob := s.AddActor("bob")

	if resp := getJSON(t, bob.ID, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET of an actor: %s, want 401", resp.Status)
	}
	if resp := getJSON(t, bob.Followers, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET of a collection: %s, want 401", resp.Status)
	}
	if resp := send(t, alice, bob.ID, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("signed GET of an actor: %s, want 200", resp.Status)
	}
	forger := &Actor{KeyID: alice.KeyID, Key: OtherKey(alice.Key)}
	if resp := send(t, forger, bob.ID, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET signed with the wrong key: %s, want 401", resp.Status)
	}
	for _, public := range []string{s.URL() + "/actor", s.URL() + "/.well-known/webfinger?resource=acct:bob@" + s.Host(), s.URL() + "/.well-known/nodeinfo"} {
		if resp := getJSON(t, public, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("unsigned GET %s: %s, want 200", public, resp.Status)
		}
	}
}

func TestUnverified(t *testing.T) {
	s := NewServer(t, WithUnverified())
	bob := s.AddActor("bob")
	resp, err := http.Post(s.SharedInbox(), ActivityJSON, strings.NewReader(`{"type":"Announce","id":"https://x.test/1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("unsigned POST: %s, want 202", resp.Status)
	}
	if got := s.Received(); len(got) != 1 || got[0].Verified || got[0].Type() != "Announce" {
		t.Errorf("recorded %+v", got)
	}
	bad, err := http.Post(bob.Inbox, ActivityJSON, strings.NewReader(`not json`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed body: %s, want 400", bad.Status)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
