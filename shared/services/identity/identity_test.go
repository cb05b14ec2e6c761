package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/identity"
)

var life = identity.Lifetimes{Code: time.Minute, Access: time.Hour, Refresh: 24 * time.Hour}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123"

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

type fixture struct {
	db    *pgxpool.Pool
	store *identity.Store
	user  models.User
	sso   uuid.UUID
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.MustPool(t)
	st := identity.New(db)
	tok, err := st.IssueMagicLink(ctx, "Reader@Example.ORG", "/welcome", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.SignInWithMagicLink(ctx, tok, uuid.Nil, time.Hour)
	if err != nil || in.Next != "/welcome" {
		t.Fatalf("sign in: %v next=%q", err, in.Next)
	}
	u, sso := in.User, in.SSOSessionID
	return fixture{db: db, store: st, user: u, sso: sso}
}

func (f fixture) code(t *testing.T, client string) string {
	t.Helper()
	c, err := f.store.IssueCode(context.Background(), identity.CodeRequest{
		SSOSessionID: f.sso, UserID: f.user.ID, ClientID: client,
		RedirectURI: "http://" + client + ".localhost/auth/callback", CodeChallenge: challenge(verifier),
	}, life.Code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f fixture) exchange(code, client string) (identity.TokenPair, error) {
	return f.store.ExchangeCode(context.Background(), code, client, "http://"+client+".localhost/auth/callback", verifier, life)
}

func TestMagicLinkIsSingleUseAndCreatesTheUserOnce(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	if f.user.Email != "Reader@example.org" || !f.user.NeedsProfile() {
		t.Fatalf("new user = %+v", f.user)
	}
	tok, _ := f.store.IssueMagicLink(ctx, "reader@example.org", "", time.Minute)
	// Clicked twice at once: exactly one succeeds.
	var wg sync.WaitGroup
	results := make([]error, 5)
	for i := range results {
		wg.Go(func() { _, results[i] = f.store.SignInWithMagicLink(ctx, tok, uuid.Nil, time.Hour) })
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errors.Is(err, identity.ErrLinkInvalid) {
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 5 concurrent uses succeeded, want 1", ok)
	}
	var n int
	f.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d users for one address in two cases", n)
	}
}

func TestNewMagicLinkReplacesOlderOnesAndLinksExpire(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	old, _ := f.store.IssueMagicLink(ctx, "a@example.org", "", time.Minute)
	fresh, _ := f.store.IssueMagicLink(ctx, "A@example.org", "", time.Minute)
	if _, err := f.store.SignInWithMagicLink(ctx, old, uuid.Nil, time.Hour); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("older link still works: %v", err)
	}
	if _, err := f.store.SignInWithMagicLink(ctx, fresh, uuid.Nil, time.Hour); err != nil {
		t.Fatalf("newest link refused: %v", err)
	}
	expiring, _ := f.store.IssueMagicLink(ctx, "b@example.org", "", time.Minute)
	f.db.Exec(ctx, `UPDATE magic_links SET expires_at = now() - interval '1 second' WHERE email = 'b@example.org'`)
	if _, err := f.store.SignInWithMagicLink(ctx, expiring, uuid.Nil, time.Hour); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("expired link accepted: %v", err)
	}
	if _, err := f.store.SignInWithMagicLink(ctx, "made-up", uuid.Nil, time.Hour); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Fatalf("unknown link: %v", err)
	}
	var stored string
	f.db.QueryRow(ctx, `SELECT encode(token_hash, 'hex') FROM magic_links LIMIT 1`).Scan(&stored)
	if strings.Contains(stored, fresh) || len(stored) != 64 {
		t.Fatalf("token not stored as its SHA-256: %q", stored)
	}
}

func TestCodeExchange(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	pair, err := f.exchange(f.code(t, "blog"), "blog")
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.store.CheckAccessToken(ctx, pair.AccessToken)
	if err != nil || u.ID != f.user.ID {
		t.Fatalf("check = %v, %v", u.ID, err)
	}

	bad := []struct {
		name                     string
		client, redirect, verify string
	}{
		{"other client", "cart", "http://blog.localhost/auth/callback", verifier},
		{"other redirect", "blog", "http://blog.localhost/auth/callback/x", verifier},
		{"wrong verifier", "blog", "http://blog.localhost/auth/callback", verifier[:len(verifier)-1] + "Z"},
		{"missing verifier", "blog", "http://blog.localhost/auth/callback", ""},
		{"plain verifier (challenge itself)", "blog", "http://blog.localhost/auth/callback", challenge(verifier)},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			code := f.code(t, "blog")
			if _, err := f.store.ExchangeCode(ctx, code, b.client, b.redirect, b.verify, life); !errors.Is(err, identity.ErrInvalidGrant) {
				t.Fatalf("err = %v, want invalid grant", err)
			}
			// The failed attempt burns the code.
			if _, err := f.exchange(code, "blog"); !errors.Is(err, identity.ErrInvalidGrant) {
				t.Fatalf("code usable after a failed attempt: %v", err)
			}
		})
	}

	t.Run("expired code", func(t *testing.T) {
		code := f.code(t, "blog")
		f.db.Exec(ctx, `UPDATE oauth_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`)
		if _, err := f.exchange(code, "blog"); !errors.Is(err, identity.ErrInvalidGrant) {
			t.Fatalf("expired code accepted: %v", err)
		}
	})
}

func TestCodeReplayRevokesWhatTheFirstExchangeIssued(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	code := f.code(t, "cart")
	pair, err := f.exchange(code, "cart")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.exchange(code, "cart"); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, pair.AccessToken); err == nil {
		t.Fatal("tokens from the first exchange survive a replay")
	}
	if _, err := f.store.Refresh(ctx, pair.RefreshToken, "cart", life); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatal("refresh token from the first exchange survives a replay")
	}
}

func TestParallelExchangesYieldNoLiveTokens(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	code := f.code(t, "blog")
	var wg sync.WaitGroup
	pairs := make([]identity.TokenPair, 4)
	errs := make([]error, 4)
	for i := range pairs {
		wg.Go(func() { pairs[i], errs[i] = f.exchange(code, "blog") })
	}
	wg.Wait()
	live := 0
	for i := range pairs {
		if errs[i] == nil {
			if _, err := f.store.CheckAccessToken(ctx, pairs[i].AccessToken); err == nil {
				live++
			}
		}
	}
	if live != 0 {
		t.Fatalf("%d live token sets after parallel exchanges of one code, want 0", live)
	}
}

func TestRefreshRotatesAndReuseRevokesTheChain(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, _ := f.exchange(f.code(t, "events"), "events")
	second, err := f.store.Refresh(ctx, first.RefreshToken, "events", life)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CheckAccessToken(ctx, second.AccessToken); err != nil {
		t.Fatalf("rotated access token: %v", err)
	}
	if _, err := f.store.Refresh(ctx, second.RefreshToken, "market", life); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("another client's refresh accepted: %v", err)
	}
	third, _ := f.exchange(f.code(t, "events"), "events")
	if _, err := f.store.Refresh(ctx, first.RefreshToken, "events", life); !errors.Is(err, identity.ErrInvalidGrant) {
		t.Fatalf("reused refresh token accepted: %v", err)
	}
	if _, err := f.store.CheckAccessToken(ctx, second.AccessToken); err == nil {
		t.Fatal("reuse of an old refresh token did not revoke the chain")
	}
	if _, err := f.store.CheckAccessToken(ctx, third.AccessToken); err != nil {
		t.Fatalf("an unrelated grant was revoked too: %v", err)
	}
}

func TestExpiredAccessTokenAsksForRefresh(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	pair, _ := f.exchange(f.code(t, "blog"), "blog")
	f.db.Exec(ctx, `UPDATE oauth_tokens SET expires_at = now() - interval '1 second' WHERE kind = 'access'`)
	if _, err := f.store.CheckAccessToken(ctx, pair.AccessToken); !contracts.IsTokenExpired(err) {
		t.Fatalf("err = %v, want token expired", err)
	}
}

func TestSignOutEndsEveryGrantOfTheBrowser(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	blog, _ := f.exchange(f.code(t, "blog"), "blog")
	cart, _ := f.exchange(f.code(t, "cart"), "cart")
	if err := f.store.SignOut(ctx, cart.AccessToken); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]identity.TokenPair{"blog": blog, "cart": cart} {
		if _, err := f.store.CheckAccessToken(ctx, p.AccessToken); err == nil {
			t.Errorf("%s still signed in after signing out on cart", name)
		}
	}
	if _, err := f.store.SSOSessionUser(ctx, f.sso); !errors.Is(err, identity.ErrSignedOut) {
		t.Errorf("federation session survives: %v", err)
	}
	if err := f.store.SignOut(ctx, "unknown"); err != nil {
		t.Errorf("signing out an unknown token: %v", err)
	}
}

func TestRevokeTokenRevokesOnlyTheClientsOwnGrant(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	blog, _ := f.exchange(f.code(t, "blog"), "blog")
	if err := f.store.RevokeToken(ctx, blog.RefreshToken, "cart"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CheckAccessToken(ctx, blog.AccessToken); err != nil {
		t.Fatal("another client revoked blog's grant")
	}
	if err := f.store.RevokeToken(ctx, blog.RefreshToken, "blog"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CheckAccessToken(ctx, blog.AccessToken); err == nil {
		t.Fatal("revoking the refresh token left the access token alive")
	}
}

// After a database rebuild a stale token must not sign anyone in, even when
// a new user row carries the same id.
func TestTokenOfDeletedUserIsDead(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	pair, _ := f.exchange(f.code(t, "blog"), "blog")
	if _, err := f.db.Exec(ctx, `DELETE FROM users WHERE id = $1`, f.user.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO users (id, email) VALUES ($1, 'someone.else@example.org')`, f.user.ID); err != nil {
		t.Fatal(err)
	}
	if u, err := f.store.CheckAccessToken(ctx, pair.AccessToken); err == nil {
		t.Fatalf("stale token signs in as %s", u.Email)
	}
}

func TestSetProfile(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	u, err := f.store.SetProfile(ctx, f.user.ID, "reader_1", "Rea Der")
	if err != nil || u.Username != "reader_1" || u.Name() != "Rea Der" {
		t.Fatalf("set profile = %+v, %v", u, err)
	}
	in, _ := f.store.SignInWithMagicLink(ctx, mustLink(t, f.store, "other@example.org"), uuid.Nil, time.Hour)
	other := in.User
	if _, err := f.store.SetProfile(ctx, other.ID, "reader_1", "Other"); models.Code(err) != models.EConflict {
		t.Fatalf("taken username: %v", err)
	}
	for _, bad := range []string{"ab", "Has Caps", "semi;colon", strings.Repeat("x", 31)} {
		if _, err := f.store.SetProfile(ctx, other.ID, bad, "Other"); models.Code(err) != models.EInvalid {
			t.Errorf("username %q: %v", bad, err)
		}
	}
	if _, err := f.store.SetProfile(ctx, other.ID, "other", "  "); models.Code(err) != models.EInvalid {
		t.Errorf("blank display name: %v", err)
	}
}

func mustLink(t *testing.T, st *identity.Store, email string) string {
	t.Helper()
	tok, err := st.IssueMagicLink(context.Background(), email, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
