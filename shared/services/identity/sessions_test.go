package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/identity"
)

// signIn signs email in on a new browser (a new sign-on session) and
// returns the session and a live access token of client under it.
func (f fixture) signIn(t *testing.T, email, client string) (uuid.UUID, models.User, string) {
	t.Helper()
	ctx := context.Background()
	in, err := f.store.SignInWithMagicLink(ctx, mustLink(t, f.store, email), uuid.Nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.store.IssueCode(ctx, identity.CodeRequest{
		SSOSessionID: in.SSOSessionID, UserID: in.User.ID, ClientID: client,
		RedirectURI: "http://" + client + ".localhost/auth/callback", CodeChallenge: challenge(verifier),
	}, life.Code)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := f.exchange(c, client)
	if err != nil {
		t.Fatal(err)
	}
	return in.SSOSessionID, in.User, pair.AccessToken
}

func TestSignOutEverywhereEndsEverySignInOfTheUserOnly(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	_, me, laptop := f.signIn(t, "reader@example.org", "account")
	_, _, phone := f.signIn(t, "reader@example.org", "cart")
	_, other, theirs := f.signIn(t, "other@example.org", "account")
	for _, tok := range []string{laptop, phone, theirs} {
		if _, err := f.store.CheckAccessToken(ctx, tok); err != nil {
			t.Fatalf("before: %v", err)
		}
	}
	n, err := f.store.SignOutEverywhere(ctx, me.ID)
	if err != nil || n != 3 { // the fixture's sign-in, the laptop's and the phone's
		t.Fatalf("SignOutEverywhere = %d, %v; want 3 sessions", n, err)
	}
	for _, tok := range []string{laptop, phone} {
		if _, err := f.store.CheckAccessToken(ctx, tok); models.Code(err) != models.EUnauthenticated {
			t.Fatalf("a token of a signed-out session still passes: %v", err)
		}
	}
	if u, err := f.store.CheckAccessToken(ctx, theirs); err != nil || u.ID != other.ID {
		t.Fatalf("another user's token: %+v, %v", u, err)
	}
	if list, _ := f.store.SSOSessions(ctx, me.ID); len(list) != 0 {
		t.Fatalf("sessions left after signing out everywhere: %d", len(list))
	}
}

func TestSessionsListAndRevokeOnlyYourOwn(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	laptop, me, laptopTok := f.signIn(t, "reader@example.org", "account")
	if err := f.store.RecordSSOUserAgent(ctx, laptop, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"); err != nil {
		t.Fatal(err)
	}
	phone, _, phoneTok := f.signIn(t, "reader@example.org", "account")
	theirs, _, theirTok := f.signIn(t, "other@example.org", "account")

	list, err := f.store.SSOSessions(ctx, me.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("SSOSessions = %d, %v; want 3 (fixture, laptop, phone)", len(list), err)
	}
	var sawUA bool
	for _, s := range list {
		if s.ID == theirs {
			t.Fatal("another user's sign-in is listed")
		}
		if s.ID == laptop && s.UserAgent != "" {
			sawUA = true
		}
	}
	if !sawUA {
		t.Fatal("the laptop's user agent is not listed")
	}
	if got, _ := f.store.SSOSessionOfToken(ctx, phoneTok); got != phone {
		t.Fatalf("SSOSessionOfToken = %v, want the phone's %v", got, phone)
	}

	// Someone else's session: 404, and it still works.
	if err := f.store.RevokeUserSSOSession(ctx, me.ID, theirs); models.Code(err) != models.ENotFound {
		t.Fatalf("revoking another's sign-in: %v, want ENotFound", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, theirTok); err != nil {
		t.Fatalf("their token after my attempt: %v", err)
	}
	// The phone: gone; the laptop stays.
	if err := f.store.RevokeUserSSOSession(ctx, me.ID, phone); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CheckAccessToken(ctx, phoneTok); models.Code(err) != models.EUnauthenticated {
		t.Fatalf("the revoked phone's token: %v", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, laptopTok); err != nil {
		t.Fatalf("the laptop's token: %v", err)
	}
	if list, _ := f.store.SSOSessions(ctx, me.ID); len(list) != 2 {
		t.Fatalf("after revoking one: %d sessions, want 2", len(list))
	}
	if err := f.store.RevokeUserSSOSession(ctx, me.ID, phone); models.Code(err) != models.ENotFound {
		t.Fatalf("revoking twice: %v, want ENotFound", err)
	}
}

func TestTouchBumpsLastSeenAtMostOnceAMinute(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	id, me, tok := f.signIn(t, "reader@example.org", "account")
	if _, err := f.db.Exec(ctx, `UPDATE sso_sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		for _, s := range mustSessions(t, f, me.ID) {
			if s.ID == id {
				return s.LastSeenAt
			}
		}
		t.Fatal("session not listed")
		return time.Time{}
	}
	before := lastSeen()
	if err := f.store.TouchSSOSessionOfToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	touched := lastSeen()
	if !touched.After(before.Add(time.Minute)) {
		t.Fatalf("last seen not bumped: %v -> %v", before, touched)
	}
	if err := f.store.TouchSSOSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if again := lastSeen(); !again.Equal(touched) {
		t.Fatalf("bumped again within a minute: %v -> %v", touched, again)
	}
}

func mustSessions(t *testing.T, f fixture, userID uuid.UUID) []identity.SSOSession {
	t.Helper()
	list, err := f.store.SSOSessions(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestDeletionRequestUndoAndDue(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	now := time.Now()
	d, err := f.store.RequestDeletion(ctx, f.user.ID, now, 14*24*time.Hour)
	if err != nil || d.DueAt.Sub(d.RequestedAt) != 14*24*time.Hour {
		t.Fatalf("RequestDeletion = %+v, %v", d, err)
	}
	// Asking again keeps the first dates.
	again, _ := f.store.RequestDeletion(ctx, f.user.ID, now.Add(time.Hour), 14*24*time.Hour)
	if !again.DueAt.Equal(d.DueAt) {
		t.Fatalf("a second request moved the date: %v -> %v", d.DueAt, again.DueAt)
	}
	if due, _ := f.store.DueDeletions(ctx, now.Add(13*24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("due before the grace is over: %v", due)
	}
	if due, _ := f.store.DueDeletions(ctx, now.Add(15*24*time.Hour), 10); len(due) != 1 || due[0] != f.user.ID {
		t.Fatalf("due after the grace: %v", due)
	}
	if undone, err := f.store.CancelDeletion(ctx, f.user.ID); err != nil || !undone {
		t.Fatalf("CancelDeletion = %v, %v", undone, err)
	}
	if _, pending, _ := f.store.PendingDeletion(ctx, f.user.ID); pending {
		t.Fatal("still pending after undo")
	}
	if due, _ := f.store.DueDeletions(ctx, now.Add(15*24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("due after undo: %v", due)
	}
	if undone, _ := f.store.CancelDeletion(ctx, f.user.ID); undone {
		t.Fatal("undoing twice reported an undo")
	}
}
