package activitypub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/aptest"
)

// send POSTs body to inbox signed by a, without waiting for processing.
func send(t *testing.T, a *aptest.Actor, inbox string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", activitypub.MediaType)
	if err := a.Signer().Sign(req, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func drain(t *testing.T, p *platform) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.svc.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func noteCreate(a *aptest.Actor, n int, content string) map[string]any {
	note := map[string]any{"id": fmt.Sprintf("%s/notes/%d", a.ID, n), "type": "Note", "attributedTo": a.ID,
		"content": content, "to": []any{activitypub.Public}, "published": time.Now().UTC().Format(time.RFC3339)}
	return map[string]any{"@context": activitypub.ContextURL, "id": fmt.Sprintf("%s/notes/%d/activity", a.ID, n),
		"type": "Create", "actor": a.ID, "object": note, "to": []any{activitypub.Public}}
}

// A 202 means stored: the activity is in the inbox before the answer, and
// is handled later, in order of arrival: a Create and its Delete sent back
// to back, many at once, leave every note deleted.
func TestAcceptedActivitiesAreStoredThenHandledInOrder(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	const n = 40
	var wg sync.WaitGroup
	codes := make(chan int, 2*n)
	for i := range n {
		wg.Go(func() {
			req, _ := alice.NewRequest(context.Background(), p.url+"/inbox", noteCreate(alice, i, "<p>soon gone</p>"))
			codes <- do(t, req)
			del := map[string]any{"@context": activitypub.ContextURL, "id": fmt.Sprintf("%s/notes/%d#delete", alice.ID, i),
				"type": "Delete", "actor": alice.ID, "object": fmt.Sprintf("%s/notes/%d", alice.ID, i)}
			req, _ = alice.NewRequest(context.Background(), p.url+"/inbox", del)
			codes <- do(t, req)
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusAccepted {
			t.Fatalf("inbox answered %d", c)
		}
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_inbox WHERE processed_at IS NULL`); got != 2*n {
		t.Fatalf("%d activities waiting after %d were accepted", got, 2*n)
	}
	drain(t, p)
	if got := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE deleted_at IS NULL`); got != 0 {
		t.Errorf("%d notes are still shown after their Deletes", got)
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_objects`); got != n {
		t.Errorf("%d notes stored, want %d", got, n)
	}
}

func do(t *testing.T, req *http.Request) int {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The service's processor handles what arrives without being asked.
func TestTheProcessorHandlesArrivalsInTheBackground(t *testing.T) {
	p := newPlatform(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.svc.Run(ctx)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	req, _ := alice.NewRequest(ctx, p.url+"/inbox", noteCreate(alice, 1, "<p>hello</p>"))
	if c := do(t, req); c != http.StatusAccepted {
		t.Fatalf("inbox answered %d", c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(t, p.db, `SELECT count(*) FROM ap_objects`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the note was not handled within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A batch claimed by a processor that died is handled once its lease has
// run out; one still leased is left alone.
func TestAProcessorsLeftoversAreTakenOverAfterTheLease(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	for i := range 2 {
		body, _ := json.Marshal(noteCreate(alice, i, "<p>x</p>"))
		if c, msg := send(t, alice, p.url+"/inbox", body); c != http.StatusAccepted {
			t.Fatalf("inbox answered %d: %s", c, msg)
		}
	}
	ctx := context.Background()
	// Both claimed by a processor that then died: one lease over, one not.
	if _, err := p.db.Exec(ctx, `UPDATE ap_inbox SET attempts = 1,
		lease_until = CASE WHEN activity_uri LIKE '%/0/activity' THEN now() - interval '1 second' ELSE now() + interval '1 hour' END`); err != nil {
		t.Fatal(err)
	}
	if n, err := p.svc.ProcessInbox(ctx); err != nil || n != 1 {
		t.Fatalf("claimed %d (%v), want the one whose lease ran out", n, err)
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri LIKE '%/notes/0'`); got != 1 {
		t.Errorf("the expired batch's note was not handled")
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri LIKE '%/notes/1'`); got != 0 {
		t.Errorf("a batch still leased to another processor was handled")
	}
}

// An activity that cannot be handled is dropped with its reason, and does
// not hold back the others of its batch.
func TestABadActivityIsDroppedWithItsReasonAlone(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	bob := remote.AddActor("bob")
	forged := noteCreate(alice, 1, "<p>in bob's name</p>")
	forged["object"].(map[string]any)["attributedTo"] = bob.ID
	good := noteCreate(alice, 2, "<p>mine</p>")
	for _, act := range []map[string]any{forged, good} {
		body, _ := json.Marshal(act)
		if c, msg := send(t, alice, p.url+"/inbox", body); c != http.StatusAccepted {
			t.Fatalf("inbox answered %d: %s", c, msg)
		}
	}
	drain(t, p)
	var reason string
	if err := p.db.QueryRow(context.Background(), `SELECT error FROM ap_inbox WHERE activity_uri = $1`, forged["id"]).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	// Attributed to bob, it was looked for on bob's server, which has no
	// such note.
	if !strings.Contains(reason, forged["object"].(map[string]any)["id"].(string)) || !strings.Contains(reason, "not found") {
		t.Errorf("the forged Create was dropped with reason %q", reason)
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_objects`); got != 1 {
		t.Errorf("%d notes stored, want only the good one", got)
	}
}

// A body naming its actor twice is handled as the actor whose signature
// was verified, never as the other.
func TestABodyNamingTwoActorsIsHandledAsTheSignedOne(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	ann := p.url + "/users/ann"
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + alice.ID + `/follows/1","type":"Follow",` +
		`"actor":"` + alice.ID + `","object":"` + ann + `","actor":"https://victim.example/users/carol"}`)
	if c, msg := send(t, alice, p.url+"/users/ann/inbox", body); c != http.StatusAccepted {
		t.Fatalf("inbox answered %d: %s", c, msg)
	}
	drain(t, p)
	if got := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE actor_uri = $1`, alice.ID); got != 1 {
		t.Errorf("the signed actor's follow: %d rows", got)
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_followers WHERE actor_uri LIKE 'https://victim.example/%'`); got != 0 {
		t.Errorf("the follow was recorded in the other actor's name")
	}
}

// A body PostgreSQL cannot store (a NUL in a string) is a 400 to its
// sender alone; activities stored alongside it are unaffected.
func TestABodyThatCannotBeStoredIs400ForItsSenderAlone(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	bad, _ := json.Marshal(noteCreate(alice, 1, "<p>nul \x00 here</p>"))
	var wg sync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		wg.Go(func() {
			body := bad
			if i > 0 {
				body, _ = json.Marshal(noteCreate(alice, 100+i, "<p>fine</p>"))
			}
			results[i], _ = send(t, alice, p.url+"/inbox", body)
		})
	}
	wg.Wait()
	if results[0] != http.StatusBadRequest {
		t.Errorf("the NUL body got %d, want 400", results[0])
	}
	for i, c := range results[1:] {
		if c != http.StatusAccepted {
			t.Errorf("good activity %d got %d", i+1, c)
		}
	}
	if got := count(t, p.db, `SELECT count(*) FROM ap_inbox`); got != len(results)-1 {
		t.Errorf("%d activities stored, want %d", got, len(results)-1)
	}
}

// Handled activities are kept a month for deduplication, then forgotten
// by the service that handled them.
func TestOldHandledActivitiesAreForgotten(t *testing.T) {
	p := newPlatform(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := p.db.Exec(ctx, `INSERT INTO ap_inbox (activity_uri, actor, type, payload, service, processed_at) VALUES
		('https://a.example/old', 'https://a.example/u', 'Like', '{}', 'federation', now() - interval '31 days'),
		('https://a.example/recent', 'https://a.example/u', 'Like', '{}', 'federation', now() - interval '29 days'),
		('https://a.example/blogs', 'https://a.example/u', 'Like', '{}', 'blog', now() - interval '31 days')`); err != nil {
		t.Fatal(err)
	}
	go p.svc.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for count(t, p.db, `SELECT count(*) FROM ap_inbox WHERE activity_uri = 'https://a.example/old'`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a 31-day-old handled activity was kept")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_inbox`); n != 2 {
		t.Errorf("%d rows left, want the recent one and the blog's", n)
	}
}

// A Delete handled before its Create (another replica's batch, or a peer
// delivering out of order) still wins: the note never shows.
func TestADeleteThatOvertakesItsCreateWins(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	alice := remote.AddActor("alice")
	create := noteCreate(alice, 7, "<p>regretted</p>")
	del := map[string]any{"@context": activitypub.ContextURL, "id": alice.ID + "/notes/7#delete", "type": "Delete",
		"actor": alice.ID, "object": map[string]any{"id": alice.ID + "/notes/7", "type": "Tombstone"}}
	// alice must be known for her Delete to be kept.
	if code := p.post(t, alice, p.url+"/inbox", noteCreate(alice, 1, "<p>hello</p>")); code != http.StatusAccepted {
		t.Fatalf("first note: %d", code)
	}
	for _, act := range []map[string]any{del, create} {
		if code := p.post(t, alice, p.url+"/inbox", act); code != http.StatusAccepted {
			t.Fatalf("%s: %d", act["type"], code)
		}
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri = $1 AND deleted_at IS NULL`, alice.ID+"/notes/7"); n != 0 {
		t.Error("the note deleted before it arrived is shown")
	}
	// Someone else's Delete buries nothing of alice's.
	mallory := remote.AddActor("mallory")
	if code := p.post(t, mallory, p.url+"/inbox", noteCreate(mallory, 1, "<p>hi</p>")); code != http.StatusAccepted {
		t.Fatalf("mallory's note: %d", code)
	}
	if code := p.post(t, mallory, p.url+"/inbox", map[string]any{"@context": activitypub.ContextURL, "id": mallory.ID + "#d",
		"type": "Delete", "actor": mallory.ID, "object": alice.ID + "/notes/8"}); code != http.StatusAccepted {
		t.Fatalf("mallory's Delete: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri = $1`, alice.ID+"/notes/8"); n != 0 {
		t.Error("a Delete by another actor left a tombstone for alice's future note")
	}
}

// originServer serves ActivityStreams documents by path, as another
// fediverse server would; it counts the fetches.
type originServer struct {
	*httptest.Server
	mu      sync.Mutex
	docs    map[string]map[string]any
	fetches int
}

func newOrigin(t *testing.T) *originServer {
	o := &originServer{docs: map[string]map[string]any{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		doc, ok := o.docs[r.URL.Path]
		o.fetches++
		o.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", activitypub.MediaType)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *originServer) serve(doc map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.docs[strings.TrimPrefix(doc["id"].(string), o.URL)] = doc
}

// A boost carrying a post of another server is believed only as that
// server tells it: the copy in the boost is not stored.
func TestABoostedPostFromElsewhereIsFetchedFromItsServer(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	mallory := remote.AddActor("mallory")
	origin := newOrigin(t)
	bob := origin.URL + "/users/bob"
	real := map[string]any{"id": bob + "/statuses/1", "type": "Note", "attributedTo": bob, "content": "<p>what bob said</p>",
		"to": []any{activitypub.Public}, "published": time.Now().UTC().Format(time.RFC3339)}
	origin.serve(real)
	forged := map[string]any{"id": bob + "/statuses/1", "type": "Note", "attributedTo": bob, "content": "<p>words put in bob's mouth</p>",
		"to": []any{activitypub.Public}}
	boost := map[string]any{"@context": activitypub.ContextURL, "id": mallory.ID + "/boosts/1", "type": "Announce",
		"actor": mallory.ID, "object": forged, "to": []any{activitypub.Public}}
	if code := p.post(t, mallory, p.url+"/inbox", boost); code != http.StatusAccepted {
		t.Fatalf("Announce: %d", code)
	}
	var content string
	if err := p.db.QueryRow(context.Background(), `SELECT content FROM ap_objects WHERE uri = $1`, real["id"]).Scan(&content); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(content, "what bob said") {
		t.Errorf("the boosted post stored is %q, not its server's", content)
	}
	// A boost of a post its server does not have stores nothing of it.
	ghost := map[string]any{"id": bob + "/statuses/2", "type": "Note", "attributedTo": bob, "content": "<p>never said</p>"}
	boost2 := map[string]any{"@context": activitypub.ContextURL, "id": mallory.ID + "/boosts/2", "type": "Announce",
		"actor": mallory.ID, "object": ghost, "to": []any{activitypub.Public}}
	if code := p.post(t, mallory, p.url+"/inbox", boost2); code != http.StatusAccepted {
		t.Fatalf("Announce: %d", code)
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_objects WHERE uri = $1`, ghost["id"]); n != 0 {
		t.Error("a boosted post its server never had was stored")
	}
}

// Mobilizon sends a group's events from the organiser, attributed to the
// group: the event is taken from its server and credited to the group,
// with when and where it happens.
func TestAGroupsEventSentByItsOrganiserIsCreditedToTheGroup(t *testing.T) {
	p := newPlatform(t)
	remote := aptest.NewServer(t)
	organiser := remote.AddActor("tcit")
	origin := newOrigin(t)
	group := origin.URL + "/@cidermakers"
	origin.serve(map[string]any{"id": group, "type": "Group", "preferredUsername": "cidermakers", "name": "Cider Makers",
		"inbox": group + "/inbox", "outbox": group + "/outbox",
		"publicKey": map[string]any{"id": group + "#main-key", "owner": group, "publicKeyPem": organiser.Document()["publicKey"].(map[string]any)["publicKeyPem"]}})
	event := map[string]any{"id": origin.URL + "/events/252d5816", "type": "Event", "name": "Cider pressing",
		"attributedTo": group, "actor": organiser.ID, "content": "<p>Bring apples.</p>",
		"startTime": "2026-12-18T13:00:00Z", "endTime": "2026-12-18T17:00:00Z",
		"location": map[string]any{"type": "Place", "name": "The Orchard <Barn>"},
		"joinMode": "free", "ical:status": "CONFIRMED", "to": []any{activitypub.Public},
		"published": time.Now().UTC().Format(time.RFC3339)}
	origin.serve(event)
	create := map[string]any{"@context": activitypub.ContextURL, "id": origin.URL + "/events/252d5816/activity", "type": "Create",
		"actor": organiser.ID, "object": event, "to": []any{activitypub.Public}}
	if code := p.post(t, organiser, p.url+"/inbox", create); code != http.StatusAccepted {
		t.Fatalf("Create(Event): %d", code)
	}
	var actor, name, content string
	if err := p.db.QueryRow(context.Background(), `SELECT actor, name, content FROM ap_objects WHERE uri = $1`, event["id"]).
		Scan(&actor, &name, &content); err != nil {
		t.Fatalf("the event was not stored: %v", err)
	}
	if actor != group || name != "Cider pressing" {
		t.Errorf("stored as %q by %s, want %q by the group", name, actor, "Cider pressing")
	}
	if n := count(t, p.db, `SELECT count(*) FROM ap_actors WHERE uri = $1 AND name = 'Cider Makers'`, group); n != 1 {
		t.Error("the group the event is credited to was not looked up, so the hub cannot name it")
	}
	for _, want := range []string{"18 Dec 2026", "13:00", "The Orchard &lt;Barn&gt;", "Bring apples."} {
		if !strings.Contains(content, want) {
			t.Errorf("the event's text %q lacks %q", content, want)
		}
	}
}
