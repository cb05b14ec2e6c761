package bookings

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
)

// sinkSender keeps what it is given.
type sinkSender struct{ got []mail.Message }

func (s *sinkSender) Send(_ context.Context, m mail.Message) error {
	s.got = append(s.got, m)
	return nil
}

// An offer's email names the places, the event, its date and the offer's
// end in the event's zone, and links to the claim page with a token the
// events service accepts (and no other secret's).
func TestOfferMailerEmailsTheClaimLink(t *testing.T) {
	secret := []byte("site-secret")
	id := uuid.New()
	starts := time.Date(2026, 12, 12, 10, 0, 0, 0, time.UTC)
	o := models.WaitlistEntry{ID: id, Email: "wendy@example.org", Quantity: 2, EventTitle: "Bread-making workshop",
		TimeZone: "Europe/London", StartsAt: starts, OfferExpiresAt: starts.Add(-24 * time.Hour)}
	sink := &sinkSender{}
	OfferMailer{Mail: sink, Secret: secret, EventsURL: func(p string) string { return "https://events.example" + p }}.Send(context.Background(), []models.WaitlistEntry{o})
	if len(sink.got) != 1 {
		t.Fatalf("%d messages, want 1", len(sink.got))
	}
	m := sink.got[0]
	link := "https://events.example/waitlist/" + id.String() + "/claim?t=" + ClaimToken(secret, id)
	if m.To != o.Email || m.Subject != "A place is free: Bread-making workshop" ||
		!strings.Contains(m.Text, "2 places at Bread-making workshop (Saturday 12 December 2026, 10:00 GMT) are free and kept for you until Friday 11 December, 10:00 GMT.") ||
		!strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `<a href="`+link+`">Claim your places</a>`) {
		t.Errorf("offer message %+v", m)
	}
	if ClaimToken([]byte("another"), id) == ClaimToken(secret, id) || ClaimToken(secret, uuid.New()) == ClaimToken(secret, id) {
		t.Error("claim tokens do not depend on the secret and the entry")
	}
}
