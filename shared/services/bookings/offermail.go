package bookings

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"log/slog"
	"strconv"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
)

// ClaimToken is the token of a waitlist offer's claim link: the HMAC of
// "waitlist-claim:<entry id>" with the site's secret key, which the events
// service checks when the link is opened.
func ClaimToken(secret []byte, entryID uuid.UUID) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("waitlist-claim:" + entryID.String()))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// OfferMailer emails each waitlist offer its link to claim the places, in
// the same words whichever service freed them (events, the cart's expired
// orders, an account deletion). Its Send is a Store's Offered hook.
type OfferMailer struct {
	Mail mail.Sender
	// Secret is the site's secret key (ClaimToken); EventsURL turns a path
	// into the events service's public URL.
	Secret    []byte
	EventsURL func(path string) string
	Logger    *slog.Logger
}

// Send emails each offer; a message that cannot be sent is logged, and
// the offer stands (the waitlist page shows it to a member).
func (m OfferMailer) Send(ctx context.Context, offers []models.WaitlistEntry) {
	if m.Mail == nil {
		return
	}
	for _, o := range offers {
		link := m.EventsURL("/waitlist/" + o.ID.String() + "/claim?t=" + ClaimToken(m.Secret, o.ID))
		if err := m.Mail.Send(ctx, OfferMessage(o, link)); err != nil && m.Logger != nil {
			m.Logger.WarnContext(ctx, "waitlist offer email not sent", "entry", o.ID, "error", err)
		}
	}
}

// OfferMessage is the email telling o's person that places are free for
// them until the offer expires, with link to claim them.
func OfferMessage(o models.WaitlistEntry, link string) mail.Message {
	zone := models.ZoneOf(o.TimeZone)
	places, verb := "1 place", "is"
	if o.Quantity != 1 {
		places, verb = strconv.Itoa(o.Quantity)+" places", "are"
	}
	first := places + " at " + o.EventTitle + " (" + o.StartsAt.In(zone).Format("Monday 2 January 2006, 15:04 MST") + ") " +
		verb + " free and kept for you until " + o.OfferExpiresAt.In(zone).Format("Monday 2 January, 15:04 MST") + "."
	second := "Claim them before then; after that they go to the next person waiting. No longer interested? The same page lets you leave the waitlist."
	return mail.Message{To: o.Email, Subject: "A place is free: " + o.EventTitle,
		Text: "Hello,\n\n" + first + "\n\n" + second + "\n\nClaim your places: " + link + "\n\n-- Rose Ash\n",
		HTML: "<p>Hello,</p><p>" + html.EscapeString(first) + "</p><p>" + html.EscapeString(second) + "</p><p><a href=\"" +
			html.EscapeString(link) + "\">Claim your places</a></p><p>-- Rose Ash</p>"}
}
