package social_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/services/social"
)

// inTx runs fn as the inbox processor does: in one transaction.
func (e *env) inTx(fn func(tx pgx.Tx) error) {
	e.t.Helper()
	if err := pgx.BeginFunc(context.Background(), e.db, fn); err != nil {
		e.t.Fatal(err)
	}
}

// counts returns the like, boost and reply counts of post uri.
func (e *env) counts(uri string) (likes, boosts, replies int) {
	e.t.Helper()
	if err := e.db.QueryRow(context.Background(), `SELECT like_count, announce_count, reply_count FROM ap_objects WHERE uri = $1`,
		uri).Scan(&likes, &boosts, &replies); err != nil {
		e.t.Fatal(err)
	}
	return
}

// kinds returns the kinds of the user's notifications, newest first.
func (e *env) kinds(me social.Actor) []string {
	e.t.Helper()
	page, err := e.st.Notifications(context.Background(), me.UserID, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, n := range page.Items {
		out = append(out, n.Kind)
	}
	return out
}

// What a remote server says about a user's post reaches the user once,
// however often it is said, and is taken back when the server takes it
// back: the hub's side of the inbox (activitypub.Hooks).
func TestInboundRepliesAndReactionsReachTheAuthorOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann")
	bob := e.remote("bob", "remote.example")
	post, err := e.st.Compose(ctx, ann, social.Draft{Text: "Hello fediverse"})
	if err != nil {
		t.Fatal(err)
	}
	in := social.NewInbound(fed)
	reply := activitypub.Object{URI: "https://remote.example/users/bob/statuses/1", Type: "Note", Actor: bob,
		ActivityURI: "https://remote.example/users/bob/statuses/1/activity", Content: "<p>Hi Ann</p>",
		InReplyTo: post.URI, Visibility: "public", Mentions: []string{ann.ID}, Published: time.Now()}
	for range 2 { // delivered twice
		e.inTx(func(tx pgx.Tx) error {
			if _, err := in.ObjectReceived(ctx, tx, reply, true); err != nil {
				return err
			}
			if err := in.Liked(ctx, tx, "https://remote.example/likes/1", bob, post.URI); err != nil {
				return err
			}
			return in.Announced(ctx, tx, "https://remote.example/boosts/1", bob, post.URI, time.Now())
		})
	}
	if likes, boosts, replies := e.counts(post.URI); likes != 1 || boosts != 1 || replies != 1 {
		t.Fatalf("counts: %d likes, %d boosts, %d replies; want one of each", likes, boosts, replies)
	}
	// The reply also mentions Ann: one notification, a reply.
	if got := e.kinds(ann); len(got) != 3 || !contains(got, "reply") || !contains(got, "like") || !contains(got, "announce") {
		t.Fatalf("notifications %v, want one reply, one like, one announce", got)
	}
	e.inTx(func(tx pgx.Tx) error {
		if err := in.ReactionUndone(ctx, tx, bob, "https://remote.example/likes/1", ""); err != nil {
			return err
		}
		return in.ObjectDeleted(ctx, tx, bob, reply.URI, true)
	})
	if likes, boosts, replies := e.counts(post.URI); likes != 0 || boosts != 1 || replies != 0 {
		t.Fatalf("after the undo and delete: %d likes, %d boosts, %d replies; want 0, 1, 0", likes, boosts, replies)
	}
	if got := e.kinds(ann); contains(got, "reply") {
		t.Fatalf("notifications %v: the deleted reply is still there", got)
	}
	// A Delete that overtook its Create buries the post: the Create shows
	// nothing when it comes.
	late := reply
	late.URI, late.ActivityURI = "https://remote.example/users/bob/statuses/2", "https://remote.example/users/bob/statuses/2/activity"
	var added bool
	e.inTx(func(tx pgx.Tx) error {
		if err := in.ObjectDeleted(ctx, tx, bob, late.URI, true); err != nil {
			return err
		}
		added, err = in.ObjectReceived(ctx, tx, late, true)
		return err
	})
	if added {
		t.Fatal("a post deleted before it arrived was kept")
	}
	if _, _, replies := e.counts(post.URI); replies != 0 {
		t.Fatalf("the buried reply counts: %d replies", replies)
	}
}

// A remote actor answers a user's follow, by the Follow's id or, from
// servers that do not echo it, by the pair of actors.
func TestInboundFollowAnswers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann")
	bob := e.remote("bob", "remote.example")
	carol := e.remote("carol", "other.example")
	in := social.NewInbound(fed)
	for _, a := range []string{bob, carol} {
		if _, err := e.st.Follow(ctx, ann, a); err != nil {
			t.Fatal(err)
		}
	}
	var bobFollow string
	if err := e.db.QueryRow(ctx, `SELECT follow_uri FROM ap_following WHERE actor_uri = $1`, bob).Scan(&bobFollow); err != nil {
		t.Fatal(err)
	}
	e.inTx(func(tx pgx.Tx) error {
		if err := in.FollowAnswered(ctx, tx, bob, bobFollow, "", true); err != nil {
			return err
		}
		return in.FollowAnswered(ctx, tx, carol, "", ann.ID, false)
	})
	for a, want := range map[string]string{bob: social.Accepted, carol: social.Rejected} {
		if got, err := e.st.FollowState(ctx, ann.ID, a); err != nil || got != want {
			t.Errorf("follow of %s: %q %v, want %q", a, got, err, want)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
