package internal

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/identity"
)

const testFederation = "http://federation.localhost:8005"

// erasureFixture is two members with orders, bookings of an event to
// come, a basket, and Ann with a hub post and a remote follower.
type erasureFixture struct {
	db       *pgxpool.Pool
	ids      *identity.Store
	jobs     *river.Client[pgx.Tx]
	eraser   *Eraser
	ann, bob memberFixture
	annActor string
	annPost  string
	follower string
	annToken string
}

func newErasureFixture(t *testing.T) *erasureFixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.MustPool(t)
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{}) // inserts only
	if err != nil {
		t.Fatal(err)
	}
	f := &erasureFixture{db: db, ids: identity.New(db), jobs: jobs}
	f.eraser = &Eraser{DB: db, Identity: f.ids, Bookings: bookings.New(db), FederationURL: testFederation,
		Logger: slog.New(slog.DiscardHandler)}
	soon := time.Now().Add(30 * 24 * time.Hour)
	f.ann = mustMember(t, db, "Ann", "Sourdough loaf", "Bread workshop", 2, soon)
	f.bob = mustMember(t, db, "Bob", "Rye loaf", "Cheese workshop", 1, soon)
	f.annActor = activitypub.UserActorID(testFederation, "ann")
	f.annPost = f.annActor + "/statuses/1"
	f.follower = "https://remote.example/users/zed"
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET username = 'ann', bio = 'I bake.' WHERE id = $1`, []any{f.ann.user.ID}},
		{`UPDATE orders SET fulfilment = 'delivery', address_name = 'Ann Smith', address_line1 = '1 Mill Lane', address_city = 'Ashby', address_postcode = 'AB1 2CD' WHERE user_id = $1`, []any{f.ann.user.ID}},
		{`INSERT INTO carts (user_id) VALUES ($1), ($2)`, []any{f.ann.user.ID, f.bob.user.ID}},
		{`INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity) SELECT id, 'p1', 'Loaf', 300, 'GBP', 1 FROM carts`, nil},
		{`INSERT INTO ap_objects (uri, type, actor, user_id, content, visibility) VALUES ($1, 'Note', $2, $3, '<p>Fresh bread today</p>', 'public')`, []any{f.annPost, f.annActor, f.ann.user.ID}},
		{`INSERT INTO ap_actors (uri, host, inbox, shared_inbox) VALUES ($1, 'remote.example', $1 || '/inbox', 'https://remote.example/inbox')`, []any{f.follower}},
		{`INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $2 || '/follows/1', 'accepted')`, []any{f.annActor, f.follower}},
		{`INSERT INTO newsletter_lists (slug, name) VALUES ('bakery-news', 'Bakery news')`, nil},
		{`INSERT INTO newsletter_subscribers (email, user_id) VALUES ('ann@example.org', $1), ('bob@example.org', $2)`, []any{f.ann.user.ID, f.bob.user.ID}},
		{`INSERT INTO newsletter_subscriptions (subscriber_id, list_id, status, confirmed_at) SELECT s.id, l.id, 'confirmed', now() FROM newsletter_subscribers s, newsletter_lists l`, nil},
	} {
		if _, err := db.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	f.annToken = accessToken(t, db, f.ann.user)
	return f
}

func (f *erasureFixture) scalar(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var v string
	if err := f.db.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestDeletionUndoneRemovesNothing: a deletion asked for and undone is
// never carried out, whenever the job runs.
func TestDeletionUndoneRemovesNothing(t *testing.T) {
	ctx := context.Background()
	f := newErasureFixture(t)
	now := time.Now()
	if _, err := f.ids.RequestDeletion(ctx, f.ann.user.ID, now, 14*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ids.CancelDeletion(ctx, f.ann.user.ID); err != nil {
		t.Fatal(err)
	}
	n, err := f.eraser.EraseDue(ctx, f.jobs, now.Add(30*24*time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("EraseDue = %d, %v; want nothing erased", n, err)
	}
	if got := f.scalar(t, `SELECT email FROM users WHERE id = $1`, f.ann.user.ID); got != "ann@example.org" {
		t.Fatalf("Ann's email is now %q", got)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM orders WHERE user_id = $1`, f.ann.user.ID); got != "1" {
		t.Fatalf("Ann's orders: %s", got)
	}
	if _, err := f.ids.CheckAccessToken(ctx, f.annToken); err != nil {
		t.Fatalf("Ann is signed out: %v", err)
	}
}

// TestDeletionErasesTheAccountAfterTheGrace: before the grace is over
// nothing happens; after it the job erases Ann in one go: her users row
// is scrubbed, her orders are kept without personal data, her booking of
// the event to come is cancelled and its places freed, her basket is
// gone, her newsletter subscriptions are forgotten, her hub post is a tombstone, a Delete of her actor (and of her
// post) is queued for her follower, her sign-ins end and her old email
// signs in to a new, empty account. Bob keeps everything.
func TestDeletionErasesTheAccountAfterTheGrace(t *testing.T) {
	ctx := context.Background()
	f := newErasureFixture(t)
	now := time.Now()
	link, err := f.ids.IssueMagicLink(ctx, "ann@example.org", "", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ids.RequestDeletion(ctx, f.ann.user.ID, now, 14*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := f.eraser.EraseDue(ctx, f.jobs, now.Add(13*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("before the grace is over: %d erased, %v", n, err)
	}
	if n, err := f.eraser.EraseDue(ctx, f.jobs, now.Add(15*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("after the grace: %d erased, %v; want 1", n, err)
	}
	ann, bob := f.ann.user.ID, f.bob.user.ID

	// The users row: no personal data left, the username kept (the actor id).
	var email, display, bio, username string
	var deleted *time.Time
	if err := f.db.QueryRow(ctx, `SELECT email, display_name, bio, coalesce(username, ''), deleted_at FROM users WHERE id = $1`, ann).
		Scan(&email, &display, &bio, &username, &deleted); err != nil {
		t.Fatal(err)
	}
	if email != "deleted-"+ann.String()+"@deleted.invalid" || display != "" || bio != "" || deleted == nil || username != "ann" {
		t.Fatalf("users row after deletion: email %q, name %q, bio %q, username %q, deleted %v", email, display, bio, username, deleted)
	}
	// Orders: kept, detached and without personal data; totals and lines kept.
	var userID *uuid.UUID
	var oEmail, addrName, line1, postcode string
	var total int64
	if err := f.db.QueryRow(ctx, `SELECT user_id, email, address_name, address_line1, address_postcode, total_minor FROM orders WHERE number = $1`, f.ann.orderNumber).
		Scan(&userID, &oEmail, &addrName, &line1, &postcode, &total); err != nil {
		t.Fatalf("Ann's order is gone: %v", err)
	}
	if userID != nil || oEmail != "erased" || addrName != "" || line1 == "1 Mill Lane" || postcode == "AB1 2CD" || total != 625 {
		t.Fatalf("anonymised order: user %v, email %q, name %q, line1 %q, postcode %q, total %d", userID, oEmail, addrName, line1, postcode, total)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.number = $1`, f.ann.orderNumber); got != "1" {
		t.Fatalf("the order's lines: %s", got)
	}
	// Her booking of the event to come: cancelled, places freed, no name.
	var status, bName, bEmail string
	var taken int
	if err := f.db.QueryRow(ctx, `
		SELECT b.status, b.name, b.email, o.taken FROM bookings b JOIN event_occurrences o ON o.id = b.occurrence_id WHERE b.id = $1`, f.ann.booking).
		Scan(&status, &bName, &bEmail, &taken); err != nil {
		t.Fatal(err)
	}
	if status != models.BookingCancelled || bName != "" || bEmail != "" || taken != 0 {
		t.Fatalf("Ann's booking: %s, name %q, email %q, occurrence taken %d", status, bName, bEmail, taken)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM tickets WHERE booking_id = $1 AND status = 'valid'`, f.ann.booking); got != "0" {
		t.Fatalf("valid tickets left: %s", got)
	}
	// Newsletters: Ann's subscriber row (and so her subscription) gone.
	if got := f.scalar(t, `SELECT count(*)::text FROM newsletter_subscribers WHERE email = 'ann@example.org' OR user_id = $1`, ann); got != "0" {
		t.Fatalf("Ann's newsletter subscribers left: %s", got)
	}
	// Basket gone.
	if got := f.scalar(t, `SELECT count(*)::text FROM carts WHERE user_id = $1`, ann); got != "0" {
		t.Fatalf("Ann's basket: %s", got)
	}
	// Hub: the post is a tombstone, the follows are gone.
	var content string
	var postDeleted *time.Time
	if err := f.db.QueryRow(ctx, `SELECT content, deleted_at FROM ap_objects WHERE uri = $1`, f.annPost).Scan(&content, &postDeleted); err != nil {
		t.Fatal(err)
	}
	if content != "" || postDeleted == nil {
		t.Fatalf("Ann's post: content %q, deleted %v", content, postDeleted)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM ap_followers WHERE local_actor = $1`, f.annActor); got != "0" {
		t.Fatalf("Ann's followers left: %s", got)
	}
	// The fediverse hears of it: a Delete of the actor, to the follower.
	var payload []byte
	var recipients []string
	var actorDelete uuid.UUID
	if err := f.db.QueryRow(ctx, `
		SELECT id, payload, recipients FROM ap_activities WHERE type = 'Delete' AND actor = $1 AND object_uri = $1`, f.annActor).
		Scan(&actorDelete, &payload, &recipients); err != nil {
		t.Fatalf("no Delete of Ann's actor: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["object"] != f.annActor || doc["actor"] != f.annActor || len(recipients) != 1 || recipients[0] != f.follower {
		t.Fatalf("the actor's Delete: %s to %v", payload, recipients)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM river_job WHERE kind = 'ap_fanout' AND args->>'activity_id' = $1`, actorDelete.String()); got != "1" {
		t.Fatalf("the actor's Delete is not queued for delivery (%s fan-out jobs)", got)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM ap_activities WHERE type = 'Delete' AND object_uri = $1 AND $2 = ANY(recipients)`, f.annPost, f.follower); got != "1" {
		t.Fatalf("Deletes of Ann's post to her follower: %s", got)
	}
	// Signed out, and the old address reaches a new, empty account.
	if _, err := f.ids.CheckAccessToken(ctx, f.annToken); models.Code(err) != models.EUnauthenticated {
		t.Fatalf("Ann's token after deletion: %v", err)
	}
	if _, err := f.ids.SignInWithMagicLink(ctx, link, uuid.Nil, time.Hour); err == nil {
		t.Fatal("a sign-in link issued before the deletion still works")
	}
	fresh, err := f.ids.IssueMagicLink(ctx, "ann@example.org", "", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.ids.SignInWithMagicLink(ctx, fresh, uuid.Nil, time.Hour)
	if err != nil || in.User.ID == ann {
		t.Fatalf("signing in with the old address: %+v, %v; want a new account", in.User, err)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM orders WHERE user_id = $1`, in.User.ID); got != "0" {
		t.Fatalf("the new account sees %s orders", got)
	}
	// Bob keeps everything.
	if got := f.scalar(t, `SELECT email FROM orders WHERE number = $1 AND user_id = $2`, f.bob.orderNumber, bob); got != "bob@example.org" {
		t.Fatalf("Bob's order: %q", got)
	}
	if got := f.scalar(t, `SELECT status FROM bookings WHERE id = $1`, f.bob.booking); got != models.BookingConfirmed {
		t.Fatalf("Bob's booking: %s", got)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM newsletter_subscriptions x JOIN newsletter_subscribers s ON s.id = x.subscriber_id WHERE s.user_id = $1`, bob); got != "1" {
		t.Fatalf("Bob's subscriptions: %s", got)
	}
	if got := f.scalar(t, `SELECT count(*)::text FROM carts c JOIN cart_items i ON i.cart_id = c.id WHERE c.user_id = $1`, bob); got != "1" {
		t.Fatalf("Bob's basket: %s items", got)
	}
	// Run again: nothing more to do.
	if n, err := f.eraser.EraseDue(ctx, f.jobs, now.Add(16*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("a second run: %d, %v", n, err)
	}
}
