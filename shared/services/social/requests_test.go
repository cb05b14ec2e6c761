package social_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/social"
)

// followRequest records that actor asks to follow local's actor, at at,
// in state.
func (e *env) followRequest(localActor, actor, state string, at time.Time) {
	e.t.Helper()
	_, err := e.db.Exec(context.Background(), `
INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state, created_at) VALUES ($1, $2, $3, $4, $5)`,
		localActor, actor, actor+"/follows/"+uuid.NewString(), state, at)
	if err != nil {
		e.t.Fatal(err)
	}
}

// A user's follow requests are those of their actor still pending, newest
// first, named like the rest of the hub (local users by their username);
// Approval counts them and reads whether the account is locked.
func TestFollowRequestsAndApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	other := e.user("dave")
	bob, carol, zed := e.remote("bob", "social.example"), e.remote("carol", "other.example"), e.remote("zed", "social.example")
	erin := fed + "/users/erin" // a local user, as the inbox stores her actor
	e.user("erin")
	if _, err := e.db.Exec(ctx, `INSERT INTO ap_actors (uri, host, username, name, inbox) VALUES ($1, 'federation.example', 'erin', 'stale', $1 || '/inbox')`, erin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE ap_actors SET icon_url = 'https://social.example/bob.png' WHERE uri = $1`, bob); err != nil {
		t.Fatal(err)
	}

	if a, err := e.st.Approval(ctx, me); err != nil || a != (social.Approval{}) {
		t.Fatalf("Approval with nothing waiting = %+v, %v", a, err)
	}
	if p, err := e.st.FollowRequests(ctx, me, 1); err != nil || len(p.Items) != 0 || p.HasMore {
		t.Fatalf("FollowRequests with nothing waiting = %+v, %v", p, err)
	}

	now := time.Now()
	e.followRequest(me.ID, bob, social.Pending, now.Add(-3*time.Minute))
	e.followRequest(me.ID, carol, social.Pending, now.Add(-1*time.Minute))
	e.followRequest(me.ID, erin, social.Pending, now.Add(-2*time.Minute))
	e.followRequest(me.ID, zed, social.Accepted, now)   // a follower, not a request
	e.followRequest(other.ID, bob, social.Pending, now) // someone else's request
	if _, err := e.db.Exec(ctx, `UPDATE users SET fediverse_locked = true WHERE id = $1`, me.UserID); err != nil {
		t.Fatal(err)
	}

	if a, err := e.st.Approval(ctx, me); err != nil || a != (social.Approval{Locked: true, Pending: 3}) {
		t.Fatalf("Approval = %+v, %v; want locked with 3 waiting", a, err)
	}
	if a, err := e.st.Approval(ctx, other); err != nil || a != (social.Approval{Pending: 1}) {
		t.Fatalf("Approval of another user = %+v, %v", a, err)
	}
	p, err := e.st.FollowRequests(ctx, me, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range p.Items {
		got = append(got, q.Actor.URI)
	}
	if want := []string{carol, erin, bob}; !slices.Equal(got, want) || p.HasMore {
		t.Fatalf("requests %q (more %v), want %q newest first", got, p.HasMore, want)
	}
	if b := p.Items[2]; b.Actor.Handle != "@bob@social.example" || b.Actor.Name != "BOB" ||
		b.Actor.IconURL != "https://social.example/bob.png" || b.Actor.Local || b.FollowURI == "" {
		t.Errorf("bob's request: %+v", b)
	}
	if l := p.Items[1].Actor; !l.Local || l.Name != "Erin" || l.Handle != "@erin@federation.example" {
		t.Errorf("a local user's request shows as %+v", l)
	}

	// Pages.
	for i := range social.FollowRequestsPerPage {
		who := e.remote(fmt.Sprintf("fan%d", i), "fans.example")
		e.followRequest(me.ID, who, social.Pending, now.Add(-time.Hour-time.Duration(i)*time.Second))
	}
	p1, err := e.st.FollowRequests(ctx, me, 1)
	if err != nil || len(p1.Items) != social.FollowRequestsPerPage || !p1.HasMore || p1.Items[0].Actor.URI != carol {
		t.Fatalf("page 1: %d items, more %v, %v", len(p1.Items), p1.HasMore, err)
	}
	p2, err := e.st.FollowRequests(ctx, me, 2)
	if err != nil || len(p2.Items) != 3 || p2.HasMore || p2.Items[2].Actor.URI != "https://fans.example/users/fan39" {
		t.Fatalf("page 2: %+v, %v", p2, err)
	}
	if a, _ := e.st.Approval(ctx, me); a.Pending != social.FollowRequestsPerPage+3 {
		t.Errorf("Approval counts %d waiting", a.Pending)
	}

	if _, err := e.st.Approval(ctx, social.Actor{UserID: uuid.New(), ID: fed + "/users/ghost"}); models.Code(err) != models.ENotFound {
		t.Errorf("Approval of no user: %v", err)
	}
}
