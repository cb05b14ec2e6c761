package social_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"rose-ash.com/platform/shared/services/social"
)

// A member's data download holds their posts (not the deleted one), their
// follows either way with their state, and their likes and boosts; none
// of another member's posts or follows.
func TestExportHoldsTheMembersHubDataAndNoOneElses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, carol := e.user("alice"), e.user("carol")
	bob := e.remote("bob", "social.example")
	e.follows(alice, bob, social.Accepted)
	e.follows(carol, bob, social.Pending)

	kept, err := e.st.Compose(ctx, alice, social.Draft{Text: "Bread is in at the bakehouse.", Summary: "food"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := e.st.Compose(ctx, alice, social.Draft{Text: "A typo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Delete(ctx, alice, gone.URI); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Compose(ctx, carol, social.Draft{Text: "Carol's own news"}); err != nil {
		t.Fatal(err)
	}
	theirs := e.object(bob, social.Public, time.Now().Add(-time.Hour))
	if err := e.st.Like(ctx, alice, theirs); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Boost(ctx, alice, theirs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri) VALUES ($1, $2, $2 || '#follow')`, alice.ID, bob); err != nil {
		t.Fatal(err)
	}

	x, err := e.st.Export(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if x.Handle != "@alice@federation.example" || x.Actor != alice.ID {
		t.Errorf("handle %q actor %q", x.Handle, x.Actor)
	}
	if len(x.Posts) != 1 || x.Posts[0].URI != kept.URI || !strings.Contains(x.Posts[0].Content, "Bread is in") || x.Posts[0].Summary != "food" {
		t.Errorf("posts %+v, want only the kept one", x.Posts)
	}
	if len(x.Following) != 1 || x.Following[0].Actor != bob || x.Following[0].State != social.Accepted {
		t.Errorf("following %+v", x.Following)
	}
	if len(x.Followers) != 1 || x.Followers[0].Actor != bob {
		t.Errorf("followers %+v", x.Followers)
	}
	if len(x.Likes) != 1 || x.Likes[0].Object != theirs || len(x.Boosts) != 1 || x.Boosts[0].Object != theirs {
		t.Errorf("likes %+v boosts %+v", x.Likes, x.Boosts)
	}

	y, err := e.st.Export(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.Posts) != 1 || strings.Contains(y.Posts[0].Content, "Bread") || len(y.Likes) != 0 || len(y.Boosts) != 0 || len(y.Followers) != 0 {
		t.Errorf("carol's export holds someone else's data: %+v", y)
	}
	if y.Likes == nil || y.Boosts == nil || y.Followers == nil {
		t.Errorf("empty parts should be [] in JSON, not null: %+v", y)
	}
}
