package identity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/services/identity"
)

// graced is life with federation's refresh grace window.
var graced = identity.Lifetimes{Code: life.Code, Access: life.Access, Refresh: life.Refresh, RefreshGrace: identity.DefaultRefreshGrace}

// Parallel requests of one browser at expiry all refresh with the token they
// loaded: within the grace window each gets the same new pair, nobody is
// taken for a thief, and only one pair is issued.
func TestRefreshRaceWithinGraceGetsTheSamePair(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, _ := f.exchange(f.code(t, "blog"), "blog")

	pairs := make([]identity.TokenPair, 20)
	errs := make([]error, len(pairs))
	var wg sync.WaitGroup
	for i := range pairs {
		wg.Go(func() { pairs[i], errs[i] = f.store.Refresh(ctx, first.RefreshToken, "blog", graced) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("refresh %d of 20: %v", i, err)
		}
		if pairs[i].AccessToken != pairs[0].AccessToken || pairs[i].RefreshToken != pairs[0].RefreshToken {
			t.Fatalf("refresh %d got another pair than refresh 0", i)
		}
		if pairs[i].ExpiresIn <= 0 || pairs[i].ExpiresIn > life.Access {
			t.Fatalf("refresh %d: expires in %v", i, pairs[i].ExpiresIn)
		}
	}
	if _, err := f.store.CheckAccessToken(ctx, pairs[0].AccessToken); err != nil {
		t.Fatalf("the new access token: %v", err)
	}
	var n int
	f.db.QueryRow(ctx, `SELECT count(*) FROM oauth_tokens WHERE kind = 'refresh'`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d refresh tokens after 20 parallel refreshes, want 2 (the first and one successor)", n)
	}
	var plain int
	f.db.QueryRow(ctx, `SELECT count(*) FROM oauth_tokens WHERE position(convert_to($1, 'UTF8') IN coalesce(successor, '')) > 0`,
		pairs[0].RefreshToken).Scan(&plain)
	if plain != 0 {
		t.Fatal("the successor pair is stored in the clear")
	}

	// Another client cannot use the grace to get the pair.
	if _, err := f.store.Refresh(ctx, first.RefreshToken, "cart", graced); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("another client's reuse: %v", err)
	}
}

// An old refresh token presented after the grace window is theft: the
// chain is revoked, the pair it had led to included.
func TestRefreshReuseAfterGraceRevokesTheChain(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, _ := f.exchange(f.code(t, "blog"), "blog")
	second, err := f.store.Refresh(ctx, first.RefreshToken, "blog", graced)
	if err != nil {
		t.Fatal(err)
	}
	f.db.Exec(ctx, `UPDATE oauth_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL`)
	if _, err := f.store.Refresh(ctx, first.RefreshToken, "blog", graced); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("reuse a minute later: %v", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, second.AccessToken); err == nil {
		t.Fatal("reuse a minute later left the chain alive")
	}
	if _, err := f.store.Refresh(ctx, second.RefreshToken, "blog", graced); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("the revoked chain's refresh token still works: %v", err)
	}
}

// A revoked grant's refresh token gets nothing, even within the grace.
func TestRefreshGraceEndsWithTheGrant(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, _ := f.exchange(f.code(t, "blog"), "blog")
	if _, err := f.store.Refresh(ctx, first.RefreshToken, "blog", graced); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RevokeSSOSession(ctx, f.sso); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Refresh(ctx, first.RefreshToken, "blog", graced); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("reuse after sign-out: %v", err)
	}
}

// The confirmation page names the link's address without using it up.
func TestMagicLinkEmailDoesNotUseTheLink(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	tok := mustLink(t, f.store, "Someone@Example.org")
	for range 2 {
		if email, err := f.store.MagicLinkEmail(ctx, tok); err != nil || email != "Someone@example.org" {
			t.Fatalf("MagicLinkEmail = %q, %v", email, err)
		}
	}
	if _, err := f.store.SignInWithMagicLink(ctx, tok, uuid.Nil, time.Hour); err != nil {
		t.Fatalf("the link after two looks: %v", err)
	}
	if _, err := f.store.MagicLinkEmail(ctx, tok); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("a used link: %v", err)
	}
	if _, err := f.store.MagicLinkEmail(ctx, "made-up"); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("an unknown link: %v", err)
	}
}

// A link used in a browser signed in as someone else ends that sign-in
// (and its grants) before starting the new one; a link of the same user
// keeps the browser's session.
func TestSignInWithMagicLinkEndsTheBrowsersOtherSignIn(t *testing.T) {
	ctx := context.Background()
	f := setup(t) // the reader, signed in with f.sso
	blog, _ := f.exchange(f.code(t, "blog"), "blog")

	same, err := f.store.SignInWithMagicLink(ctx, mustLink(t, f.store, "reader@example.org"), f.sso, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if same.SSOSessionID != f.sso || same.User.ID != f.user.ID {
		t.Fatalf("same user's link: session %v (had %v), user %v", same.SSOSessionID, uuid.UUID(f.sso), same.User.ID)
	}
	if _, err := f.store.CheckAccessToken(ctx, blog.AccessToken); err != nil {
		t.Fatalf("the same user's link signed the blog out: %v", err)
	}

	other, err := f.store.SignInWithMagicLink(ctx, mustLink(t, f.store, "b@example.org"), f.sso, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if other.SSOSessionID == f.sso || other.User.Email != "b@example.org" {
		t.Fatalf("another user's link: %+v", other)
	}
	if _, err := f.store.SSOSessionUser(ctx, f.sso); !errors.Is(err, identity.ErrSignedOut) {
		t.Fatalf("the reader's session after b's link: %v", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, blog.AccessToken); err == nil {
		t.Fatal("the reader's blog grant outlived b's sign-in in the same browser")
	}
	if u, err := f.store.SSOSessionUser(ctx, other.SSOSessionID); err != nil || u.ID != other.User.ID {
		t.Fatalf("b's session: %v %v", u.ID, err)
	}

	// A used link changes nothing, not even the session it was used in.
	if _, err := f.store.SignInWithMagicLink(ctx, "made-up", other.SSOSessionID, time.Hour); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("made-up link: %v", err)
	}
	if _, err := f.store.SSOSessionUser(ctx, other.SSOSessionID); err != nil {
		t.Fatalf("a bad link signed the browser out: %v", err)
	}
}
