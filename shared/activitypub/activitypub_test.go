package activitypub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/services/social"
)

// platform is one of our services (federation: service actor plus user
// actors) served on loopback, with a real database.
type platform struct {
	svc *activitypub.Service
	db  *pgxpool.Pool
	url string
}

func newPlatform(t *testing.T) *platform { return newPlatformTB(t) }

func newPlatformTB(t testing.TB) *platform {
	t.Helper()
	ctx := context.Background()
	db := pgtest.MustPool(t)
	key, err := activitypub.LoadOrCreateKey(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	client := safefetch.New(safefetch.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	r := chi.NewRouter()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	svc := &activitypub.Service{Name: "federation", BaseURL: srv.URL, FederationURL: srv.URL, Users: true, Title: "Test",
		DB: db, Key: key, Jobs: jobs, Logger: slog.New(slog.DiscardHandler), Hooks: social.NewInbound(srv.URL)}
	svc.Resolver = &activitypub.Resolver{DB: db, Client: client, PlainHTTP: func(string) bool { return true }}
	svc.Resolver.Signer.KeyID, svc.Resolver.Signer.Key = activitypub.KeyID(svc.ActorID()), key.Private
	svc.Mount(r)
	if _, err := db.Exec(ctx, `INSERT INTO users (email, username, display_name) VALUES ('ann@example.org', 'ann', 'Ann')`); err != nil {
		t.Fatal(err)
	}
	return &platform{svc: svc, db: db, url: srv.URL}
}

func getJSON(t *testing.T, url, accept string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc, resp.Header
}

func TestDiscoveryWebFingerActorNodeInfo(t *testing.T) {
	p := newPlatform(t)
	host := strings.TrimPrefix(p.url, "http://")
	for _, name := range []string{"federation", "ann"} {
		code, jrd, _ := getJSON(t, p.url+"/.well-known/webfinger?resource=acct:"+name+"@"+host, "application/jrd+json")
		if code != 200 || jrd["subject"] != "acct:"+name+"@"+host {
			t.Fatalf("webfinger %s: %d %v", name, code, jrd)
		}
		var self string
		for _, l := range jrd["links"].([]any) {
			if m := l.(map[string]any); m["rel"] == "self" {
				self = m["href"].(string)
			}
		}
		if self != p.url+"/users/"+name {
			t.Fatalf("self link %q", self)
		}
		for _, accept := range []string{activitypub.MediaType, activitypub.LDMediaType} {
			code, actor, hdr := getJSON(t, self, accept)
			if code != 200 || !strings.Contains(hdr.Get("Content-Type"), "json") {
				t.Fatalf("actor as %s: %d %s", accept, code, hdr.Get("Content-Type"))
			}
			for _, k := range []string{"inbox", "outbox", "followers", "following", "featured", "preferredUsername", "name",
				"summary", "icon", "url", "manuallyApprovesFollowers", "discoverable", "published"} {
				if _, ok := actor[k]; !ok {
					t.Errorf("%s actor lacks %s", name, k)
				}
			}
			pk := actor["publicKey"].(map[string]any)
			if pk["id"] != self+"#main-key" || pk["owner"] != self || !strings.HasPrefix(pk["publicKeyPem"].(string), "-----BEGIN PUBLIC KEY") {
				t.Errorf("publicKey %v", pk)
			}
			if actor["endpoints"].(map[string]any)["sharedInbox"] != p.url+"/inbox" {
				t.Errorf("sharedInbox %v", actor["endpoints"])
			}
			// Every collection answers, even empty.
			for _, k := range []string{"outbox", "followers", "following", "featured"} {
				code, coll, _ := getJSON(t, actor[k].(string), activitypub.MediaType)
				if code != 200 || coll["type"] != "OrderedCollection" {
					t.Errorf("%s %s: %d %v", name, k, code, coll["type"])
				}
			}
		}
	}
	// The service actor is also served on the home page for AS2.
	if code, _, _ := getJSON(t, p.url+"/.well-known/webfinger?resource=acct:nobody@"+host, "application/jrd+json"); code != 404 {
		t.Errorf("unknown account: %d", code)
	}
	if code, _, _ := getJSON(t, p.url+"/.well-known/webfinger?resource=acct:ann@elsewhere.example", "application/jrd+json"); code != 404 {
		t.Errorf("account on another host: %d", code)
	}
	_, links, _ := getJSON(t, p.url+"/.well-known/nodeinfo", "application/json")
	href := links["links"].([]any)[0].(map[string]any)["href"].(string)
	code, ni, _ := getJSON(t, href, "application/json")
	if code != 200 || ni["software"].(map[string]any)["name"] != "rose-ash" || ni["protocols"].([]any)[0] != "activitypub" {
		t.Fatalf("nodeinfo %d %v", code, ni)
	}
	if got := ni["usage"].(map[string]any)["users"].(map[string]any)["total"]; got != float64(1) {
		t.Errorf("nodeinfo users %v, want 1", got)
	}
}

// post sends a signed activity as a remote actor to inbox and, once it is
// accepted, lets the inbox's processor handle it.
func (p *platform) post(t *testing.T, a *aptest.Actor, inbox string, activity map[string]any) int {
	t.Helper()
	req, err := a.NewRequest(context.Background(), inbox, activity)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Logf("inbox said %d: %s", resp.StatusCode, b)
		return resp.StatusCode
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.svc.Drain(ctx); err != nil {
		t.Fatalf("processing the inbox: %v", err)
	}
	return resp.StatusCode
}

func count(t *testing.T, db *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An erased member's actor answers 410 Gone (actor, WebFinger,
// collections), so that peers drop their copy of the account: Mastodon
// removes an account on a 410, not on a 404.
func TestAnErasedMembersActorIsGone(t *testing.T) {
	p := newPlatform(t)
	host := strings.TrimPrefix(p.url, "http://")
	if _, err := p.db.Exec(context.Background(), `UPDATE users SET deleted_at = now() WHERE username = 'ann'`); err != nil {
		t.Fatal(err)
	}
	for url, accept := range map[string]string{
		p.url + "/users/ann":                                       activitypub.MediaType,
		p.url + "/users/ann/outbox":                                activitypub.MediaType,
		p.url + "/users/ann/followers":                             activitypub.MediaType,
		p.url + "/.well-known/webfinger?resource=acct:ann@" + host: "application/jrd+json",
	} {
		if code, _, _ := getJSON(t, url, accept); code != http.StatusGone {
			t.Errorf("%s: %d, want 410", url, code)
		}
	}
	if code, _, _ := getJSON(t, p.url+"/users/nobody", activitypub.MediaType); code != http.StatusNotFound {
		t.Errorf("an account that never was: %d, want 404", code)
	}
	if code, _, _ := getJSON(t, p.url+"/users/federation", activitypub.MediaType); code != http.StatusOK {
		t.Errorf("the service actor: %d", code)
	}
}

func TestInboxRefusesWhatIsNotSignedByTheActor(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice, mallory := remote.AddActor("alice"), remote.AddActor("mallory")
	follow := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/follows/1", "type": "Follow",
		"actor": alice.ID, "object": p.url + "/users/ann"}
	body, _ := json.Marshal(follow)

	// Unsigned, even without an id (what a probe sends).
	resp, err := http.Post(p.url+"/inbox", activitypub.MediaType, strings.NewReader(`{"type":"Follow","actor":"http://evil.example/a"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned POST without an id: %d, want 401", resp.StatusCode)
	}
	resp, err = http.Post(p.url+"/users/ann/inbox", activitypub.MediaType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned POST: %d, want 401", resp.StatusCode)
	}
	// Signed by someone else than the actor.
	if code := p.post(t, mallory, p.url+"/users/ann/inbox", follow); code != http.StatusUnauthorized {
		t.Errorf("POST signed by another actor: %d, want 401", code)
	}
	// Body changed after signing.
	req, _ := alice.NewRequest(context.Background(), p.url+"/inbox", follow)
	tampered := bytes.Replace(body, []byte("ann"), []byte("bob"), 1)
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered body: %d, want 401", resp.StatusCode)
	}
	// Too large.
	big := map[string]any{"id": alice.ID + "/x", "type": "Create", "actor": alice.ID, "object": strings.Repeat("x", 1<<20)}
	if code := p.post(t, alice, p.url+"/inbox", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB body: %d, want 413", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_followers`); n != 0 {
		t.Errorf("%d followers recorded from refused requests", n)
	}
	// Signed properly: accepted.
	if code := p.post(t, alice, p.url+"/users/ann/inbox", follow); code != http.StatusAccepted {
		t.Fatalf("signed Follow: %d", code)
	}
}

func TestDeleteFromAnUnknownActorIsDroppedBeforeAnyFetch(t *testing.T) {
	p := newPlatform(t)
	var asked atomic.Int32
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "gone", http.StatusGone)
	}))
	defer remote.Close()
	ghost := remote.URL + "/users/ghost"
	del, _ := json.Marshal(map[string]any{"id": ghost + "#delete", "type": "Delete", "actor": ghost, "object": ghost,
		"to": []any{activitypub.Public}})
	req, _ := http.NewRequest(http.MethodPost, p.url+"/inbox", bytes.NewReader(del))
	req.Header.Set("Content-Type", activitypub.MediaType)
	req.Header.Set("Signature", `keyId="`+ghost+`#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Delete of an unknown actor: %d, want 202", resp.StatusCode)
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("the remote server was asked %d times for a Delete of an actor we never knew", n)
	}
}

func TestFollowUndoAndDuplicates(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	ann := p.url + "/users/ann"
	follow := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/follows/1", "type": "Follow",
		"actor": alice.ID, "object": ann}
	for range 2 { // the second is a duplicate delivery
		if code := p.post(t, alice, p.url+"/inbox", follow); code != http.StatusAccepted {
			t.Fatalf("Follow: %d", code)
		}
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE local_actor = $1 AND actor_uri = $2 AND state = 'accepted'`, ann, alice.ID); n != 1 {
		t.Fatalf("followers rows: %d", n)
	}
	var accept map[string]any
	if err := p.db.QueryRow(context.Background(), `SELECT payload FROM ap_activities WHERE type = 'Accept' AND actor = $1`, ann).Scan(&accept); err != nil {
		t.Fatalf("no Accept queued: %v", err)
	}
	embedded, _ := accept["object"].(map[string]any)
	if embedded["id"] != follow["id"] || embedded["actor"] != alice.ID || embedded["object"] != ann || embedded["type"] != "Follow" {
		t.Fatalf("the Accept does not embed the Follow: %v", accept["object"])
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_activities WHERE type = 'Accept'`); n != 1 {
		t.Errorf("%d Accepts for one Follow delivered twice", n)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE kind = 'follow'`); n != 1 {
		t.Errorf("follow notifications: %d", n)
	}
	// The followers collection shows her.
	_, coll, _ := getJSON(t, ann+"/followers?page=1", activitypub.MediaType)
	if items, _ := coll["orderedItems"].([]any); len(items) != 1 || items[0] != alice.ID {
		t.Errorf("followers page %v", coll)
	}
	undo := map[string]any{"id": alice.ID + "/undo/1", "type": "Undo", "actor": alice.ID, "object": follow}
	if code := p.post(t, alice, p.url+"/users/ann/inbox", undo); code != http.StatusAccepted {
		t.Fatalf("Undo: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_followers`); n != 0 {
		t.Fatalf("follower kept after Undo")
	}
}

func TestNotesRepliesLikesBoostsAndDeletes(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	ann := p.url + "/users/ann"
	// Ann's own post, as the hub stores it.
	mine := ann + "/notes/1"
	if _, err := p.db.Exec(ctx, `INSERT INTO ap_objects (uri, type, actor, user_id, content)
		SELECT $1, 'Note', $2, id, '<p>hello</p>' FROM users WHERE username = 'ann'`, mine, ann); err != nil {
		t.Fatal(err)
	}
	note := map[string]any{"id": alice.ID + "/notes/9", "type": "Note", "attributedTo": alice.ID,
		"content":   `<p>hi <a href="` + ann + `">@ann</a><script>alert(1)</script></p>`,
		"inReplyTo": mine, "to": []any{activitypub.Public}, "cc": []any{alice.Followers},
		"tag":       []any{map[string]any{"type": "Mention", "href": ann, "name": "@ann"}},
		"published": time.Now().UTC().Format(time.RFC3339)}
	create := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/notes/9/activity", "type": "Create",
		"actor": alice.ID, "object": note, "to": note["to"], "cc": note["cc"]}
	for range 2 {
		if code := p.post(t, alice, p.url+"/inbox", create); code != http.StatusAccepted {
			t.Fatalf("Create: %d", code)
		}
	}
	var content, visibility string
	if err := p.db.QueryRow(ctx, `SELECT content, visibility FROM ap_objects WHERE uri = $1`, note["id"]).Scan(&content, &visibility); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(content, "<script") || !strings.Contains(content, "hi") || visibility != "public" {
		t.Errorf("stored note %q (%s)", content, visibility)
	}
	if n := count(t, p.db, `SELECT reply_count FROM ap_objects WHERE uri = $1`, mine); n != 1 {
		t.Errorf("reply count %d after a reply delivered twice", n)
	}
	// A reply that mentions the author answered (as Mastodon's and
	// GoToSocial's replies all do) is one notification, a reply.
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE kind IN ('reply', 'mention')`); n != 1 {
		t.Errorf("reply+mention notifications for one reply that mentions ann: %d, want 1", n)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE kind = 'reply' AND object_uri = $1`, note["id"]); n != 1 {
		t.Errorf("reply notifications: %d, want 1", n)
	}
	like := map[string]any{"id": alice.ID + "/likes/1", "type": "Like", "actor": alice.ID, "object": mine}
	boost := map[string]any{"id": alice.ID + "/boosts/1", "type": "Announce", "actor": alice.ID, "object": mine,
		"to": []any{activitypub.Public}}
	for _, a := range []map[string]any{like, boost} {
		if code := p.post(t, alice, p.url+"/inbox", a); code != http.StatusAccepted {
			t.Fatalf("%s: %d", a["type"], code)
		}
	}
	if n := count(t, p.db, `SELECT like_count + announce_count FROM ap_objects WHERE uri = $1`, mine); n != 2 {
		t.Errorf("like+boost counts: %d", n)
	}
	for i, a := range []map[string]any{like, boost} {
		undo := map[string]any{"id": alice.ID + "/undo/" + string(rune('a'+i)), "type": "Undo", "actor": alice.ID, "object": a}
		if code := p.post(t, alice, p.url+"/inbox", undo); code != http.StatusAccepted {
			t.Fatalf("Undo %s: %d", a["type"], code)
		}
	}
	if n := count(t, p.db, `SELECT like_count + announce_count FROM ap_objects WHERE uri = $1`, mine); n != 0 {
		t.Errorf("like+boost counts after Undo: %d", n)
	}
	// Delete with a Tombstone, then of the actor itself.
	del := map[string]any{"id": alice.ID + "/notes/9#delete", "type": "Delete", "actor": alice.ID,
		"object": map[string]any{"id": note["id"], "type": "Tombstone"}}
	if code := p.post(t, alice, p.url+"/inbox", del); code != http.StatusAccepted {
		t.Fatalf("Delete: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri = $1 AND deleted_at IS NOT NULL AND content = ''`, note["id"]); n != 1 {
		t.Errorf("note not deleted")
	}
	// As when a local reply is deleted: the post answered counts it no
	// more, and the notification it gave (now without text) is gone.
	if n := count(t, p.db, `SELECT reply_count FROM ap_objects WHERE uri = $1`, mine); n != 0 {
		t.Errorf("reply count %d after the only reply was deleted", n)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE object_uri = $1`, note["id"]); n != 0 {
		t.Errorf("%d notifications left of a deleted reply", n)
	}
	if code := p.post(t, alice, p.url+"/inbox", del); code != http.StatusAccepted || count(t, p.db, `SELECT reply_count FROM ap_objects WHERE uri = $1`, mine) != 0 {
		t.Errorf("a repeated Delete: %d", code)
	}
	// Someone else cannot delete Ann's post.
	bob := remote.AddActor("bob")
	evil := map[string]any{"id": bob.ID + "/d", "type": "Delete", "actor": bob.ID, "object": mine}
	p.post(t, bob, p.url+"/inbox", evil)
	if n := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri = $1 AND deleted_at IS NULL`, mine); n != 1 {
		t.Errorf("another actor deleted ann's post")
	}
	gone := map[string]any{"id": alice.ID + "#delete", "type": "Delete", "actor": alice.ID, "object": alice.ID}
	if code := p.post(t, alice, p.url+"/inbox", gone); code != http.StatusAccepted {
		t.Fatalf("actor Delete: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_actors WHERE uri = $1 AND gone_at IS NOT NULL`, alice.ID); n != 1 {
		t.Errorf("actor not marked gone")
	}
}

func TestUnknownTypesAreAcceptedAndIgnored(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	act := map[string]any{"id": alice.ID + "/x/1", "type": "EmojiReact", "actor": alice.ID, "object": p.url + "/users/ann"}
	if code := p.post(t, alice, p.url+"/inbox", act); code != http.StatusAccepted {
		t.Fatalf("unknown type: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_inbox`); n != 1 {
		t.Errorf("inbox rows %d", n)
	}
}

func TestResolverFindsActorsByHandleAndKeyOwner(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	remote := aptest.NewServer(t, aptest.WithAuthorizedFetch())
	alice := remote.AddActor("alice")
	a, err := p.svc.Resolver.Lookup(ctx, "@alice@"+remote.Host())
	if err != nil {
		t.Fatalf("lookup (the remote wants signed GETs): %v", err)
	}
	if a.URI != alice.ID || a.Inbox != alice.Inbox || a.SharedInbox != remote.SharedInbox() || a.Handle() != "@alice@"+remote.Host() {
		t.Fatalf("resolved %+v", a)
	}
	if _, err := p.svc.Resolver.Lookup(ctx, "@nobody@"+remote.Host()); err == nil {
		t.Fatal("unknown handle resolved")
	}
	if _, err := p.svc.Resolver.Lookup(ctx, "not a handle"); err == nil {
		t.Fatal("garbage resolved")
	}
	key, owner, err := p.svc.Resolver.PublicKey(ctx, alice.KeyID, false)
	if err != nil || key == nil || owner != alice.ID {
		t.Fatalf("key: %v %s", err, owner)
	}
}

// A profile page's URL (HTML, as Misskey and others answer whatever is
// asked) finds the actor its <link rel="alternate"> points to; a page
// without one is not an actor.
func TestResolverFollowsAProfilePagesAlternateLink(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	a, err := p.svc.Resolver.Lookup(ctx, remote.URL()+"/@alice")
	if err != nil {
		t.Fatalf("lookup by profile page: %v", err)
	}
	if a.URI != alice.ID {
		t.Fatalf("the profile page resolved to %s, want %s", a.URI, alice.ID)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" href="/feed">`+
			`<link rel="alternate" type="application/activity+json" href="javascript:alert(1)"></head>`+
			`<body><link rel="alternate" type="application/activity+json" href="`+alice.ID+`"></body></html>`)
	}))
	defer plain.Close()
	if a, err := p.svc.Resolver.Lookup(ctx, plain.URL+"/about"); err == nil {
		t.Fatalf("a page without an ActivityStreams link in its head resolved to %s", a.URI)
	}
}

// A locked actor's followers wait for the user: no Accept until approved,
// a Reject when refused, and unlocking accepts whoever still waits.
func TestALockedActorApprovesItsFollowers(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice, bob, carol := remote.AddActor("alice"), remote.AddActor("bob"), remote.AddActor("carol")
	ann := p.url + "/users/ann"
	var annID uuid.UUID
	if err := p.db.QueryRow(ctx, `SELECT id FROM users WHERE username = 'ann'`).Scan(&annID); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.SetLocked(ctx, annID, true); err != nil {
		t.Fatal(err)
	}
	_, doc, _ := getJSON(t, ann, activitypub.MediaType)
	if doc["manuallyApprovesFollowers"] != true {
		t.Fatalf("a locked actor's manuallyApprovesFollowers = %v", doc["manuallyApprovesFollowers"])
	}
	follow := func(a *aptest.Actor) map[string]any {
		f := map[string]any{"@context": activitypub.ContextURL, "id": a.ID + "/follows/1", "type": "Follow", "actor": a.ID, "object": ann}
		if code := p.post(t, a, p.url+"/users/ann/inbox", f); code != http.StatusAccepted {
			t.Fatalf("Follow: %d", code)
		}
		return f
	}
	follow(alice)
	follow(bob)
	follow(carol)
	if n := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE local_actor = $1 AND state = 'pending'`, ann); n != 3 {
		t.Fatalf("%d pending requests, want 3", n)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_activities WHERE type IN ('Accept', 'Reject')`); n != 0 {
		t.Fatalf("%d answers sent before Ann decided", n)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE kind = 'follow_request'`); n != 3 {
		t.Errorf("follow request notifications: %d", n)
	}
	if _, coll, _ := getJSON(t, ann+"/followers", activitypub.MediaType); coll["totalItems"] != float64(0) {
		t.Errorf("pending followers are counted: %v", coll["totalItems"])
	}

	if err := p.svc.AnswerFollowRequest(ctx, ann, alice.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.AnswerFollowRequest(ctx, ann, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.AnswerFollowRequest(ctx, ann, bob.ID, true); !errors.Is(err, activitypub.ErrNoFollowRequest) {
		t.Errorf("answering a request twice: %v", err)
	}
	answers := func(typ, actor string) int {
		return count(t, p.db, `SELECT count(*) FROM ap_activities WHERE type = $1 AND payload->'object'->>'actor' = $2
			AND payload->'object'->>'type' = 'Follow'`, typ, actor)
	}
	if answers("Accept", alice.ID) != 1 || answers("Reject", bob.ID) != 1 {
		t.Errorf("Accept to alice %d, Reject to bob %d", answers("Accept", alice.ID), answers("Reject", bob.ID))
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE actor_uri = $1`, bob.ID); n != 0 {
		t.Errorf("a rejected follower is kept")
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_notifications WHERE kind = 'follow_request' AND read_at IS NULL`); n != 1 {
		t.Errorf("%d follow requests unread after answering two of three", n)
	}

	// Unlocking accepts carol, who still waits, and tells followers.
	if err := p.svc.SetLocked(ctx, annID, false); err != nil {
		t.Fatal(err)
	}
	if answers("Accept", carol.ID) != 1 || count(t, p.db, `SELECT count(*) FROM ap_followers WHERE state = 'pending'`) != 0 {
		t.Errorf("unlocking left carol waiting")
	}
	var update map[string]any
	if err := p.db.QueryRow(ctx, `SELECT payload FROM ap_activities WHERE type = 'Update' AND actor = $1 ORDER BY created_at DESC LIMIT 1`,
		ann).Scan(&update); err != nil {
		t.Fatal(err)
	}
	if obj, _ := update["object"].(map[string]any); obj["manuallyApprovesFollowers"] != false || obj["id"] != ann {
		t.Errorf("the actor Update sent on unlocking: %v", update["object"])
	}
}

// Peers publish their keys in several shapes, and a Follow signed in any of
// them is accepted (a 401 is never retried by GoToSocial, so a refused
// first Follow stays "requested" for good): Mastodon's key inside the
// actor, a list of keys, a key document with its owner, and GoToSocial's
// stub actor at <actor>/main-key whose publicKey.owner is the real actor.
// A key whose named owner does not publish it is refused.
func TestSignaturesInEveryKeyShapePeersUseAreAccepted(t *testing.T) {
	p := newPlatform(t)
	ann := p.url + "/users/ann"
	for _, c := range []struct {
		name  string
		style aptest.KeyStyle
		gts   bool
	}{
		{"mastodon", aptest.KeyInActor, false},
		{"keylist", aptest.KeyInList, false},
		{"keydoc", aptest.KeyDocument, false},
		{"gotosocial", aptest.KeyStub, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []aptest.Option
			if c.gts {
				opts = append(opts, aptest.WithGoToSocial(), aptest.WithAuthorizedFetch())
			}
			remote := aptest.NewServer(t, opts...)
			a := remote.AddActorWithKey(c.name, c.style)
			follow := map[string]any{"@context": activitypub.ContextURL, "id": a.ID + "/follows/1", "type": "Follow",
				"actor": a.ID, "object": ann}
			if code := p.post(t, a, p.url+"/users/ann/inbox", follow); code != http.StatusAccepted {
				t.Fatalf("a Follow signed with key %s: %d, want 202", a.KeyID, code)
			}
			if n := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE local_actor = $1 AND actor_uri = $2 AND state = 'accepted'`,
				ann, a.ID); n != 1 {
				t.Fatalf("%s does not follow ann after its Follow", a.ID)
			}
			var inbox string
			if err := p.db.QueryRow(context.Background(), `SELECT inbox FROM ap_actors WHERE uri = $1`, a.ID).Scan(&inbox); err != nil || inbox != a.Inbox {
				t.Errorf("the actor stored for key %s: inbox %q (%v), want %q", a.KeyID, inbox, err, a.Inbox)
			}
		})
	}

	t.Run("an owner that does not publish the key", func(t *testing.T) {
		remote := aptest.NewServer(t)
		alice := remote.AddActor("alice")
		eve := aptest.NewServer(t).AddActor("eve") // for her key alone
		var stub *httptest.Server
		stub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", activitypub.MediaType)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": stub.URL + "/users/eve", "type": "Person", "preferredUsername": "eve",
				"publicKey": map[string]any{"id": stub.URL + "/users/eve/main-key", "owner": alice.ID, "publicKeyPem": eve.PublicKeyPEM}})
		}))
		defer stub.Close()
		follow := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/follows/forged", "type": "Follow",
			"actor": alice.ID, "object": ann}
		body, _ := json.Marshal(follow)
		req, _ := http.NewRequest(http.MethodPost, p.url+"/users/ann/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", activitypub.MediaType)
		signer := eve.Signer()
		signer.KeyID = stub.URL + "/users/eve/main-key"
		if err := signer.Sign(req, body); err != nil {
			t.Fatal(err)
		}
		if code := do(t, req); code != http.StatusUnauthorized {
			t.Fatalf("a key claimed for alice, who does not publish it: %d, want 401", code)
		}
	})
}

// A refused signature is logged with its reason, so that an operator can
// see why a peer cannot talk to us (the peer may log only "401").
func TestARefusedSignatureIsLoggedWithItsReason(t *testing.T) {
	p := newPlatform(t)
	var logs syncBuffer
	p.svc.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	remote := aptest.NewServer(t)
	alice, mallory := remote.AddActor("alice"), remote.AddActor("mallory")
	follow := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/follows/1", "type": "Follow",
		"actor": alice.ID, "object": p.url + "/users/ann"}
	body, _ := json.Marshal(follow)
	req, _ := http.NewRequest(http.MethodPost, p.url+"/users/ann/inbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", activitypub.MediaType)
	signer := alice.Signer()
	signer.Key = mallory.Key // alice's key id, another key
	if mallory.Key.Equal(alice.Key) {
		signer.Key = aptest.OtherKey(alice.Key)
	}
	if err := signer.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	if code := do(t, req); code != http.StatusUnauthorized {
		t.Fatalf("a bad signature: %d, want 401", code)
	}
	got := logs.String()
	if !strings.Contains(got, "signature refused") || !strings.Contains(got, alice.KeyID) || !strings.Contains(got, "does not verify") {
		t.Fatalf("the log of a refused signature does not say whose or why:\n%s", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every actor's avatar and header are raster images (Mastodon, GoToSocial
// and the hub's media proxy refuse SVG): the icon's url, fetched as a peer
// fetches it, answers image/png or image/jpeg with a decodable image, for
// each service's actor and for users' actors.
func TestActorIconsAndHeadersAreRasterImages(t *testing.T) {
	p := newPlatform(t)
	actors := []string{p.url + "/users/federation", p.url + "/users/ann"}
	for _, name := range []string{"blog", "market", "cart", "events", "account"} {
		r := chi.NewRouter()
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		svc := &activitypub.Service{Name: name, BaseURL: srv.URL, FederationURL: p.url, Title: "Rose Ash " + name,
			DB: p.db, Key: p.svc.Key, Resolver: p.svc.Resolver, Logger: slog.New(slog.DiscardHandler)}
		svc.Mount(r)
		actors = append(actors, srv.URL+"/users/"+name)
	}
	for _, actor := range actors {
		code, doc, _ := getJSON(t, actor, activitypub.MediaType)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", actor, code)
		}
		for _, prop := range []string{"icon", "image"} {
			img := doc[prop]
			if list, ok := img.([]any); ok && len(list) > 0 {
				img = list[0]
			}
			m, _ := img.(map[string]any)
			u, _ := m["url"].(string)
			if u == "" {
				t.Fatalf("%s has no %s url: %v", actor, prop, doc[prop])
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			ct := resp.Header.Get("Content-Type")
			cfg, format, err := image.DecodeConfig(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !(strings.HasPrefix(ct, "image/png") || strings.HasPrefix(ct, "image/jpeg")) {
				t.Fatalf("%s's %s %s answers %d %s; peers need PNG or JPEG", actor, prop, u, resp.StatusCode, ct)
			}
			if err != nil || cfg.Width < 48 || "image/"+format != m["mediaType"] {
				t.Errorf("%s's %s: %s %dx%d (%v), declared %v", actor, prop, format, cfg.Width, cfg.Height, err, m["mediaType"])
			}
		}
	}
}

// Following someone fetches what they said lately: the first page of
// their outbox (signed, as their server may require), at most the number
// asked for, their own public posts only, without notifying anyone.
func TestBackfillStoresTheRecentPostsOfAnOutbox(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t)
	remote := aptest.NewServer(t, aptest.WithAuthorizedFetch())
	alice := remote.AddActor("alice")
	start := time.Now().Add(-time.Hour)
	var ids []string
	for i := range 4 {
		ids = append(ids, remote.AddNote(alice, fmt.Sprintf(`<p>post %d for <a href="%s/users/ann">@ann</a></p>`, i, p.url),
			start.Add(time.Duration(i)*time.Minute)))
	}
	a, err := p.svc.Resolver.Lookup(ctx, "@alice@"+remote.Host())
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.svc.Backfill(ctx, a, 3)
	if err != nil || n != 3 {
		t.Fatalf("backfill: %d posts (%v), want the 3 newest", n, err)
	}
	for i, id := range ids {
		var published time.Time
		err := p.db.QueryRow(ctx, `SELECT published FROM ap_objects WHERE uri = $1 AND actor = $2 AND visibility = 'public'`, id, alice.ID).Scan(&published)
		switch {
		case i == 0 && err == nil:
			t.Errorf("the oldest post, beyond the limit, was stored")
		case i > 0 && err != nil:
			t.Errorf("post %d not stored: %v", i, err)
		case i > 0 && !published.Equal(start.Add(time.Duration(i)*time.Minute).Truncate(time.Second)):
			t.Errorf("post %d published %s, want its own date", i, published)
		}
	}
	if c := count(t, p.db, `SELECT count(*) FROM ap_notifications`); c != 0 {
		t.Errorf("%d notifications of old posts", c)
	}
	if n, err := p.svc.Backfill(ctx, a, 20); err != nil || n != 1 {
		t.Errorf("a second backfill stored %d (%v), want only the one not held yet", n, err)
	}
}
