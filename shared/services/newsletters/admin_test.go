package newsletters

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
)

var byAdmin = Consent{Source: "admin ada@example.org", UserAgent: "Firefox"}

// An address an admin adds to a double opt-in list gets the confirmation
// mail and counts only once it follows the link; the consent log keeps
// both steps.
func TestAddSubscriberToDoubleOptInWaitsForTheLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.store.AddSubscriber(ctx, e.priv.ID, "Lee@Example.org", byAdmin)
	if err != nil || res.Outcome != ConfirmationSent || res.Email != "lee@example.org" {
		t.Fatalf("add: %+v %v", res, err)
	}
	if n := e.work(t); n != 1 {
		t.Fatalf("%d mails queued", n)
	}
	msgs := e.out.to("lee@example.org")
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "Confirm your subscription to Board") {
		t.Fatalf("mails: %+v", msgs)
	}
	page, err := e.store.Subscribers(ctx, e.priv.ID, SubscriberQuery{Status: StatusConfirmed})
	if err != nil || page.Total != 0 {
		t.Fatalf("confirmed before the link: %+v %v", page, err)
	}
	if _, err := e.store.Confirm(ctx, tokenOf(t, firstLink(t, msgs[0].Text, "/confirm")), web); err != nil {
		t.Fatal(err)
	}
	page, _ = e.store.Subscribers(ctx, e.priv.ID, SubscriberQuery{Status: StatusConfirmed})
	if page.Total != 1 || page.Rows[0].LastAction != "confirm" {
		t.Errorf("after the link: %+v", page)
	}
	if got := e.consents(t, "lee@example.org"); len(got) != 2 || !strings.HasPrefix(got[0], "admin_add admin ada@example.org") || !strings.HasPrefix(got[1], "confirm ") {
		t.Errorf("consent log %q", got)
	}
	counts, err := e.store.ListsWithCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.ID == e.priv.ID && (c.Confirmed != 1 || c.Unconfirmed != 0 || c.Unsubscribed != 0) {
			t.Errorf("board's counts %+v", c)
		}
	}
}

// Searching treats % and _ as themselves, not as wildcards.
func TestSubscribersSearchIsLiteral(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids, err := SeedSubscribers(ctx, e.db, []string{"a_b@example.org", "axb@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if err := SeedSubscriptions(ctx, e.db, e.days.ID, ids, StatusConfirmed); err != nil {
		t.Fatal(err)
	}
	page, err := e.store.Subscribers(ctx, e.days.ID, SubscriberQuery{Search: "A_B"})
	if err != nil || page.Total != 1 || page.Rows[0].Email != "a_b@example.org" {
		t.Errorf("search a_b: %+v %v", page, err)
	}
	if _, err := e.store.Subscribers(ctx, e.days.ID, SubscriberQuery{Status: "maybe"}); models.Code(err) != models.EInvalid {
		t.Errorf("an unknown state: %v", err)
	}
}

// A list with a campaign going out (scheduled, sending, paused) is kept;
// a draft only loses the list.
func TestDeleteListUnlessSending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var id uuid.UUID
	if err := e.db.QueryRow(ctx, `INSERT INTO newsletter_campaigns (subject, slug, status) VALUES ('Autumn', 'autumn', 'scheduled') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO newsletter_campaign_lists (campaign_id, list_id) VALUES ($1, $2)`, id, e.days.ID); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"scheduled", "sending", "paused"} {
		if _, err := e.db.Exec(ctx, `UPDATE newsletter_campaigns SET status = $1`, st); err != nil {
			t.Fatal(err)
		}
		err := e.store.DeleteListUnlessSending(ctx, e.days.ID)
		if models.Code(err) != models.EConflict || !strings.Contains(models.Message(err), `"Autumn" is going out to Market days`) {
			t.Errorf("%s: %v", st, err)
		}
	}
	used, err := e.store.ListCampaigns(ctx, e.days.ID)
	if err != nil || len(used) != 1 || !used[0].InFlight() {
		t.Fatalf("campaigns of the list: %+v %v", used, err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE newsletter_campaigns SET status = 'draft'`); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteListUnlessSending(ctx, e.days.ID); err != nil {
		t.Fatal(err)
	}
	var lists int
	e.db.QueryRow(ctx, `SELECT count(*) FROM newsletter_campaign_lists WHERE campaign_id = $1`, id).Scan(&lists)
	if lists != 0 {
		t.Errorf("the draft still names %d lists", lists)
	}
	if err := e.store.DeleteListUnlessSending(ctx, e.days.ID); models.Code(err) != models.ENotFound {
		t.Errorf("deleting again: %v", err)
	}
}

// Taking an address off the suppression list keeps its bounces: at the
// soft-bounce limit already, the next soft bounce suppresses it again.
func TestRemoveSuppressionKeepsBounces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for range DefaultSoftBounceLimit {
		if _, err := e.store.RecordBounce(ctx, Bounce{Email: "kim@example.org", Kind: BounceSoft}); err != nil {
			t.Fatal(err)
		}
	}
	x, err := e.store.SuppressionOf(ctx, "KIM@example.org")
	if err != nil || x.Reason != ReasonSoftBounces || x.Bounces.Soft != DefaultSoftBounceLimit {
		t.Fatalf("suppression %+v %v", x, err)
	}
	if err := e.store.RemoveSuppression(ctx, "kim@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RemoveSuppression(ctx, "kim@example.org"); models.Code(err) != models.ENotFound {
		t.Errorf("removing twice: %v", err)
	}
	if _, err := e.store.Subscribe(ctx, SubscribeRequest{Email: "kim@example.org", ListID: e.days.ID}); err != nil {
		t.Fatalf("subscribe after removal: %v", err)
	}
	bounced, err := e.store.BouncedNotSuppressed(ctx, 10)
	if err != nil || len(bounced) != 1 || bounced[0].Bounces.Soft != DefaultSoftBounceLimit {
		t.Errorf("bounced, not suppressed: %+v %v", bounced, err)
	}
	if again, _ := e.store.RecordBounce(ctx, Bounce{Email: "kim@example.org", Kind: BounceSoft}); !again {
		t.Error("the next soft bounce did not suppress it again")
	}
	if _, added, err := e.store.AddSuppression(ctx, "kim@example.org", "by hand"); err != nil || added {
		t.Errorf("suppressing a suppressed address: added %v, %v", added, err)
	}
	if _, err := e.store.AddSubscriber(ctx, e.news.ID, "kim@example.org", byAdmin); !errors.Is(err, ErrSuppressed) {
		t.Errorf("adding a suppressed address by hand: %v", err)
	}
	if _, _, err := e.store.AddSuppression(ctx, "two@example.org, three@example.org", ""); models.Code(err) != models.EInvalid {
		t.Errorf("two addresses: %v", err)
	}
}
