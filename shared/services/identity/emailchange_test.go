package identity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/identity"
)

// TestEmailChangeIsSingleUseAndLatestWins: a newer request voids the
// older link; a link confirms once even when confirmed twice at once; the
// change revokes sign-in links still on their way to the old address; a
// member asking too often is told to wait.
func TestEmailChangeIsSingleUseAndLatestWins(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	first, err := f.store.IssueEmailChange(ctx, f.user.ID, "first@new.example")
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.store.IssueEmailChange(ctx, f.user.ID, " Second@NEW.example ")
	if err != nil {
		t.Fatal(err)
	}
	if second.NewEmail != "Second@new.example" || second.OldEmail != f.user.Email || time.Until(second.ExpiresAt) > identity.EmailChangeTTL {
		t.Errorf("second request %+v", second.EmailChange)
	}
	if _, err := f.store.PendingEmailChange(ctx, first.Token); !errors.Is(err, identity.ErrEmailChangeInvalid) {
		t.Errorf("the older link after a newer request: %v", err)
	}
	pending, err := f.store.IssueMagicLink(ctx, f.user.Email, "/", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	results := make([]error, 2)
	for i := range results {
		wg.Go(func() { _, results[i] = f.store.ConfirmEmailChange(ctx, second.Token) })
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, identity.ErrEmailChangeInvalid):
			t.Errorf("the second confirmation: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d confirmations succeeded, want 1 (%v)", ok, results)
	}
	u, err := f.store.UserByID(ctx, f.user.ID)
	if err != nil || u.Email != "Second@new.example" {
		t.Fatalf("after confirming: %q %v", u.Email, err)
	}
	if _, err := f.store.MagicLinkEmail(ctx, pending); !errors.Is(err, identity.ErrLinkInvalid) {
		t.Errorf("a sign-in link to the old address still works after the change: %v", err)
	}

	for i := 0; i < identity.EmailChangesPerHour; i++ {
		_, err = f.store.IssueEmailChange(ctx, f.user.ID, "again@new.example")
	}
	if models.Code(err) != models.EConflict {
		t.Errorf("request %d in an hour: %v, want a conflict telling them to wait", identity.EmailChangesPerHour+2, err)
	}
}

// TestEditProfileAndAvatar: names are trimmed and validated; a username
// taken or known to the fediverse is refused; a picture must be an http(s)
// URL.
func TestEditProfileAndAvatar(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	const fed = "https://federation.example"
	if _, err := f.store.EditProfile(ctx, f.user.ID, " reader ", " Rea Der ", fed); err != nil {
		t.Fatal(err)
	}
	p, err := f.store.Profile(ctx, f.user.ID)
	if err != nil || p.Username != "reader" || p.DisplayName != "Rea Der" {
		t.Fatalf("profile %+v %v", p, err)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO users (email, username) VALUES ('other@example.org', 'other')`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.EditProfile(ctx, f.user.ID, "other", "Rea", fed); models.Code(err) != models.EConflict {
		t.Errorf("a taken username: %v", err)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO ap_activities (uri, actor, type, payload) VALUES ($1 || '/activities/1', $1, 'Create', '{}')`, fed+"/users/reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.EditProfile(ctx, f.user.ID, "reader2", "Rea", fed); !errors.Is(err, identity.ErrUsernameKnown) {
		t.Errorf("renaming a user who posted: %v", err)
	}
	for _, bad := range []string{"javascript:alert(1)", "/media/ab/x.png", "https://"} {
		if err := f.store.SetAvatar(ctx, f.user.ID, bad); models.Code(err) != models.EInvalid {
			t.Errorf("avatar %q: %v", bad, err)
		}
	}
	if err := f.store.SetAvatar(ctx, f.user.ID, "https://account.example/media/ab/x.png"); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.store.Profile(ctx, f.user.ID); p.AvatarURL != "https://account.example/media/ab/x.png" {
		t.Errorf("avatar %q", p.AvatarURL)
	}
}
