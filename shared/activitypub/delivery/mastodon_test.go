package delivery

import (
	"net/http"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/safefetch"
)

// remote starts a fake Mastodon-like instance that fetches our actor's key
// to verify every delivery.
func remote(t *testing.T) *aptest.Server {
	return aptest.NewServer(t, aptest.WithFetchClient(safefetch.New(safefetch.Options{Allow: loopback})))
}

func TestFollowIsAcceptedWithASignedDelivery(t *testing.T) {
	e := startEnv(t, fastConfig())
	fake := remote(t)
	alice := fake.AddActor("alice")
	e.addActor(t, alice.ID, alice.Inbox, fake.SharedInbox())
	follow := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       alice.ID + "/follows/1", "type": "Follow", "actor": alice.ID, "object": e.actor,
	}

	id := e.emit(t, Activity{Actor: e.actor, Type: "Accept", Recipients: []string{alice.ID},
		Payload: map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "to": []string{alice.ID}, "object": follow}})

	got := fake.WaitFor(t, 10*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Accept" })
	if !got.Verified || got.Err != "" || got.Status != http.StatusAccepted {
		t.Fatalf("the Accept was not taken: verified=%v status=%d err=%q", got.Verified, got.Status, got.Err)
	}
	if got.Path != "/inbox" {
		t.Errorf("delivered to %s, want the shared inbox", got.Path)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/activity+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got.Activity["actor"] != e.actor {
		t.Errorf("actor %v, want %s", got.Activity["actor"], e.actor)
	}
	// Misskey ignores an Accept that only references the Follow.
	obj, _ := got.Activity["object"].(map[string]any)
	for _, k := range []string{"id", "type", "actor", "object"} {
		if obj[k] != follow[k] {
			t.Errorf("embedded Follow %s = %v, want %v", k, obj[k], follow[k])
		}
	}
	if d := e.settled(t, id, 1, 5*time.Second)[fake.SharedInbox()]; d.State != "delivered" || d.Attempts != 1 {
		t.Errorf("delivery %+v, want delivered at once", d)
	}
}

func TestRetriesNetworkErrors(t *testing.T) {
	cfg := fastConfig()
	cfg.Timeout = 500 * time.Millisecond
	e := startEnv(t, cfg)
	fake := remote(t)
	bob := fake.AddActor("bob")
	e.addActor(t, bob.ID, bob.Inbox, fake.SharedInbox())
	e.follow(t, bob.ID)
	fake.DropNext(1) // the connection closes without an answer
	fake.HangNext(1) // no answer before the attempt's timeout

	id := e.emit(t, e.createNote("hello"))
	d := e.settled(t, id, 1, 10*time.Second)[fake.SharedInbox()]
	if d.State != "delivered" || d.Attempts != 3 {
		t.Fatalf("delivery %+v, want delivered on the third attempt", d)
	}
	if fake.Hits() != 3 {
		t.Fatalf("%d POSTs, want 3", fake.Hits())
	}
	if r := fake.Received(); len(r) != 1 || !r[0].Verified {
		t.Fatalf("received %+v, want one verified delivery", r)
	}
}
