package newsletters

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestLinksRoundTripAndRefuseTampering(t *testing.T) {
	l := Links{Key: []byte("k1"), Base: "http://account.localhost:8006/"}
	sub, list := uuid.New(), uuid.New()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

	u, err := url.Parse(l.ConfirmURL(sub, list, now))
	if err != nil || u.Path != "/newsletters/confirm" || u.Host != "account.localhost:8006" {
		t.Fatalf("confirm URL %v (%v)", u, err)
	}
	tok := u.Query().Get("t")
	got, err := l.Parse(PurposeConfirm, tok, now.Add(time.Hour))
	if err != nil || got.SubscriberID != sub || got.ListID != list {
		t.Fatalf("parse: %+v %v", got, err)
	}
	if _, err := l.Parse(PurposeConfirm, tok, now.Add(ConfirmLinkTTL)); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("after its time a confirmation link gives %v, want expired", err)
	}
	if _, err := l.Parse(PurposeUnsubscribe, tok, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a confirmation token used to unsubscribe gives %v, want invalid", err)
	}
	if _, err := (Links{Key: []byte("k2")}).Parse(PurposeConfirm, tok, now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("another key's check gives %v, want invalid", err)
	}
	flipped := []byte(tok)
	flipped[3] ^= 1
	if _, err := l.Parse(PurposeConfirm, string(flipped), now); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("a tampered token gives %v, want invalid", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 200)} {
		if _, err := l.Parse(PurposeConfirm, bad, now); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("token %q gives %v, want invalid", bad, err)
		}
	}

	un, _ := url.Parse(l.UnsubscribeURL(sub, list))
	got, err = l.Parse(PurposeUnsubscribe, un.Query().Get("t"), now.AddDate(10, 0, 0))
	if err != nil || got.ListID != list || !got.Expires.IsZero() {
		t.Errorf("an unsubscribe link ten years on: %+v %v", got, err)
	}
	pr, _ := url.Parse(l.PreferencesURL(sub))
	if got, err := l.Parse(PurposePreferences, pr.Query().Get("t"), now); err != nil || got.SubscriberID != sub || got.ListID != uuid.Nil {
		t.Errorf("preferences: %+v %v", got, err)
	}
}
