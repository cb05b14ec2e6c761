package journeys

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/activitypub/aptest"
)

// signInAtFederation signs a new user in at federation itself, as someone
// opening the hub would: the sign-in form, the mailed link, a username.
func (st *Stack) signInAtFederation(t *testing.T, b *Browser, email, username, next string) Page {
	t.Helper()
	fed := st.URL["federation"]
	sent := b.Post(t, fed+"/auth/signin", url.Values{"email": {email}, "next": {next}})
	if sent.Status != http.StatusOK || !strings.Contains(sent.Body, "Check your email") {
		t.Fatalf("asking for a link: %d\n%s", sent.Status, sent.Body)
	}
	link := magicLinkRE.FindString(st.Mail.WaitFor(t, email, 10*time.Second).Text)
	if link == "" {
		t.Fatal("no sign-in link in the mail")
	}
	p := st.ConfirmSignInLink(t, b, link)
	if strings.Contains(p.URL, "/auth/welcome") {
		p = b.Post(t, fed+"/auth/welcome", url.Values{"username": {username}, "display_name": {strings.ToUpper(username[:1]) + username[1:]},
			"next": {htmlUnescape(between(p.Body, `name="next" value="`, `"`))}})
	}
	return p
}

// deliver POSTs an activity to inbox signed as actor, as a remote server
// does, and fails the test unless it is accepted.
func deliver(t *testing.T, b *Browser, actor *aptest.Actor, inbox string, activity map[string]any) {
	t.Helper()
	req, err := actor.NewRequest(context.Background(), inbox, activity)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s %s = %d: %s", inbox, activity["type"], resp.StatusCode, body)
	}
}

// waitForPage polls a page until it contains want.
func waitForPage(t *testing.T, b *Browser, u, want string) Page {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := b.Get(t, u)
		if strings.Contains(p.Body, want) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q:\n%s", u, want, p.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A user of the hub finds someone on another server, follows them (the
// Follow reaches that server, signed), sees their posts once accepted,
// likes and answers one (both delivered), and is told when they follow back.
func TestHubFollowsAndTalksWithARemoteServer(t *testing.T) {
	st := StartStackWith(t, map[string]string{"ACTIVITYPUB_ALLOW_PRIVATE": "127.0.0.0/8"}, "federation", "blog")
	b := NewBrowser(t)
	// The remote server is GoToSocial: its actors sign with a key id served
	// as a stub actor, and it drops a post that mentions none of its users
	// when none of them follows the sender.
	remote := aptest.NewServer(t, aptest.WithFetchClient(NewBrowser(t).http), aptest.WithGoToSocial())
	alice := remote.AddActor("alice")
	fed := st.URL["federation"]
	me := fed + "/users/carol"

	home := st.signInAtFederation(t, b, "carol@example.org", "carol", "/hub")
	if !strings.HasPrefix(home.URL, fed+"/hub") || !strings.Contains(home.Body, `action="/hub/posts"`) {
		t.Fatalf("sign-in ended at %s, not the hub", home.URL)
	}

	profile := b.Get(t, fed+"/hub/search?q="+url.QueryEscape("@alice@"+remote.Host()))
	if !strings.Contains(profile.Body, "@alice@"+remote.Host()) || !strings.Contains(profile.Body, `action="/hub/follow"`) {
		t.Fatalf("search did not find alice: %d at %s\n%s", profile.Status, profile.URL, profile.Body)
	}
	if p := b.Post(t, fed+"/hub/follow", url.Values{"uri": {alice.ID}}); !strings.Contains(p.Body, "Follow requested") {
		t.Fatalf("after following: %d\n%s", p.Status, p.Body)
	}
	follow := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Follow" })
	if !follow.Verified || follow.Activity["actor"] != me || follow.Activity["object"] != alice.ID {
		t.Fatalf("the Follow that arrived: verified %v, %v", follow.Verified, follow.Activity)
	}

	inbox := me + "/inbox"
	deliver(t, b, alice, inbox, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": alice.ID + "#accepts/1", "type": "Accept", "actor": alice.ID, "object": follow.Activity})
	waitForPage(t, b, fed+"/hub/actor?uri="+url.QueryEscape(alice.ID), "You follow")

	note := alice.ID + "/statuses/1"
	deliver(t, b, alice, inbox, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": note + "/activity", "type": "Create", "actor": alice.ID,
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{alice.Followers},
		"object": map[string]any{"id": note, "type": "Note", "attributedTo": alice.ID,
			"content":   `<p>Hello from alice</p><script>alert(1)</script>`,
			"published": time.Now().UTC().Format(time.RFC3339), "url": alice.ProfileURL + "/1",
			"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{alice.Followers}}})
	timeline := waitForPage(t, b, fed+"/hub", "Hello from alice")
	if strings.Contains(timeline.Body, "<script") {
		t.Fatal("a remote post's script reached the page")
	}

	id := base64.RawURLEncoding.EncodeToString([]byte(note))
	if p := b.Post(t, fed+"/hub/posts/"+id+"/like", url.Values{"next": {"/hub"}}); !strings.Contains(p.Body, "/hub/posts/"+id+"/unlike") {
		t.Fatalf("after liking: %d\n%s", p.Status, p.Body)
	}
	like := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Like" })
	if like.Activity["object"] != note || !like.Verified {
		t.Errorf("the Like that arrived: %v", like.Activity)
	}
	// The reply's text does not name alice (the user cleared the box):
	// it must mention her all the same, or GoToSocial drops it.
	if p := b.Post(t, fed+"/hub/posts/"+id+"/reply", url.Values{"text": {"hello back"}, "summary": {"greetings"}}); p.Status != http.StatusOK {
		t.Fatalf("replying: %d\n%s", p.Status, p.Body)
	}
	reply := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Create" })
	obj, _ := reply.Activity["object"].(map[string]any)
	if obj["inReplyTo"] != note || obj["summary"] != "greetings" || !strings.Contains(obj["content"].(string), "hello back") {
		t.Errorf("the reply that arrived: %v", obj)
	}
	if !reply.Verified || reply.Err != "" {
		t.Errorf("GoToSocial would not show the reply to alice: verified %v, %s; tags %v", reply.Verified, reply.Err, obj["tag"])
	}

	// Every service's header shows the notifications badge: none unread yet.
	blog := st.URL["blog"]
	b.Get(t, blog+"/auth/login?next=/") // single sign-on
	if p := b.Get(t, blog+"/"); !strings.Contains(p.Body, `class="notifications-mini"`) ||
		strings.Contains(between(p.Body, `class="notifications-mini"`, `</div>`), "unread") {
		t.Fatalf("the blog's header before any notification:\n%s", between(p.Body, "<header", "</header>"))
	}

	// alice follows back: a notification, shown with an unread count, then read.
	deliver(t, b, alice, inbox, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": alice.ID + "#follows/1", "type": "Follow", "actor": alice.ID, "object": me})
	waitForPage(t, b, fed+"/hub", `class="hub-badge"`)
	// The blog's cached badge was dropped when the inbox stored it.
	waitForPage(t, b, blog+"/", `aria-label="1 unread"`)
	if p := b.Get(t, fed+"/hub/notifications"); !strings.Contains(p.Body, "followed you") {
		t.Fatalf("notifications:\n%s", p.Body)
	}
	if p := b.Get(t, fed+"/hub"); strings.Contains(between(p.Body, `class="hub-nav"`, `</nav>`), "hub-badge") {
		t.Error("the unread count stays after the notifications were seen")
	}
}
