package listings_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/activitypub/listings"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/services/products"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// market is the market's side: a fresh database, its actor served on
// loopback (so remote servers fetch its key), and a River client that
// delivers and works the market's queue.
type market struct {
	db    *pgxpool.Pool
	url   string
	jobs  *river.Client[pgx.Tx]
	pub   *listings.Publisher
	store *products.Store // announces its changes (OnChange)
	quiet *products.Store // does not, as the demo's seed
}

func startMarket(t *testing.T) *market {
	t.Helper()
	ctx := context.Background()
	db := pgtest.MustPool(t)
	key, err := activitypub.LoadOrCreateKey(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	svc := &activitypub.Service{Name: "market", BaseURL: srv.URL, FederationURL: srv.URL, Title: "Market",
		DB: db, Key: key, Logger: slog.New(slog.DiscardHandler)}
	svc.Mount(r)

	d := &delivery.Deliverer{DB: db, Client: safefetch.New(safefetch.Options{Allow: loopback, Timeout: 5 * time.Second}),
		Key: key.Private, Config: delivery.Config{MaxAttempts: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second,
			HostWait: 100 * time.Millisecond, Timeout: 5 * time.Second}}
	workers := river.NewWorkers()
	if err := d.Register(workers); err != nil {
		t.Fatal(err)
	}
	river.AddWorker(workers, &listings.DueWorker{MarketURL: srv.URL, DB: db})
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{delivery.Queue: {MaxWorkers: 2}, listings.Queue: {MaxWorkers: 1}},
		FetchPollInterval: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = jobs.Stop(stop)
	})
	m := &market{db: db, url: srv.URL, jobs: jobs, store: products.New(db), quiet: products.New(db)}
	m.pub = &listings.Publisher{MarketURL: srv.URL, Jobs: jobs}
	m.store.OnChange(m.pub.Sync)
	if _, err := m.quiet.CreateMarket(ctx, products.MarketInput{Slug: "hill-farm", Name: "Hill Farm"}); err != nil {
		t.Fatal(err)
	}
	return m
}

// follower makes a remote Mastodon-like server with one actor who follows
// the market.
func (m *market) follower(t *testing.T) *aptest.Server {
	t.Helper()
	remote := aptest.NewServer(t, aptest.WithFetchClient(safefetch.New(safefetch.Options{Allow: loopback})))
	alice := remote.AddActor("alice")
	ctx := context.Background()
	if _, err := m.db.Exec(ctx, `INSERT INTO ap_actors (uri, host, inbox, shared_inbox) VALUES ($1, split_part($1, '/', 3), $2, $3)`,
		alice.ID, alice.Inbox, remote.SharedInbox()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.Exec(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri) VALUES ($1, $2, $2 || '#follow')`,
		m.pub.Actor(), alice.ID); err != nil {
		t.Fatal(err)
	}
	return remote
}

func honey(price int64) products.ProductInput {
	return products.ProductInput{Market: "hill-farm", Slug: "heather-honey", Name: "Heather honey", Summary: "Set honey from the moor.",
		Currency: "GBP", Publish: true, Images: []models.ProductImage{{URL: "/media/honey.jpg", Alt: "A jar of honey"}},
		Variants: []products.VariantInput{{Name: "340g", Price: price, TrackStock: true, Stock: 20}}}
}

// sent counts the activities of a type the market emitted about a product.
func (m *market) sent(t *testing.T, id uuid.UUID, typ string) int {
	t.Helper()
	var n int
	if err := m.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_activities WHERE object_uri = $1 AND type = $2`,
		m.pub.ObjectID(id), typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func getAS(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

// A product published, repriced and unpublished reaches a follower's
// server as a signed Create, Update and Delete; a save that changes
// nothing followers see sends nothing.
func TestAProductReachesFollowersAsCreateUpdateAndDelete(t *testing.T) {
	m := startMarket(t)
	remote := m.follower(t)
	ctx := context.Background()

	p, err := m.store.CreateProduct(ctx, honey(725))
	if err != nil {
		t.Fatal(err)
	}
	create := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Create" })
	if !create.Verified || create.Err != "" {
		t.Fatalf("the Create did not verify the way Mastodon verifies: %s", create.Err)
	}
	if create.Activity["actor"] != m.url+"/users/market" {
		t.Errorf("sent by %v, want the market's actor", create.Activity["actor"])
	}
	note, _ := create.Activity["object"].(map[string]any)
	link := m.url + "/products/heather-honey"
	if note["type"] != "Note" || note["id"] != m.pub.ObjectID(p.ID) || note["url"] != link || note["attributedTo"] != m.pub.Actor() {
		t.Errorf("the product as sent: %v", note)
	}
	content, _ := note["content"].(string)
	for _, want := range []string{"<strong>Heather honey</strong>", "£7.25", "In stock", "Hill Farm", "Set honey from the moor.",
		`<a href="` + link + `">`} {
		if !strings.Contains(content, want) {
			t.Errorf("the post's text lacks %q:\n%s", want, content)
		}
	}
	att, _ := note["attachment"].([]any)
	if len(att) != 1 {
		t.Fatalf("attachments %v, want the product's image", note["attachment"])
	}
	if a, _ := att[0].(map[string]any); a["type"] != "Image" || a["url"] != m.url+"/media/honey.jpg" || a["mediaType"] != "image/jpeg" || a["name"] != "A jar of honey" {
		t.Errorf("the image attached: %v", a)
	}

	// The Note is served at its id, and the outbox lists the Create.
	if status, doc := getAS(t, m.pub.ObjectID(p.ID)); status != http.StatusOK || doc["id"] != m.pub.ObjectID(p.ID) {
		t.Errorf("GET the product's id: %d %v", status, doc)
	}
	if status, doc := getAS(t, m.pub.Actor()+"/outbox"); status != http.StatusOK || doc["totalItems"] != float64(1) {
		t.Errorf("the outbox: %d %v", status, doc)
	}

	// Saving it unchanged sends nothing.
	p, err = m.store.UpdateProduct(ctx, p.ID, p.Version, honey(725))
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sent(t, p.ID, "Update"); n != 0 {
		t.Errorf("an unchanged save sent %d Updates", n)
	}

	// A new price sends an Update with it.
	in := honey(725)
	in.Variants[0].ID = p.Variants[0].ID
	in.Variants[0].Price = 800
	if p, err = m.store.UpdateProduct(ctx, p.ID, p.Version, in); err != nil {
		t.Fatal(err)
	}
	update := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Update" })
	if !update.Verified {
		t.Fatalf("the Update did not verify: %s", update.Err)
	}
	if obj, _ := update.Activity["object"].(map[string]any); !strings.Contains(obj["content"].(string), "£8.00") || obj["updated"] == nil {
		t.Errorf("the Update carries %v", update.Activity["object"])
	}

	// Unpublishing sends a Delete, and the object is gone.
	if _, err := m.store.SetPublished(ctx, []uuid.UUID{p.ID}, false); err != nil {
		t.Fatal(err)
	}
	del := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Delete" })
	if obj, _ := del.Activity["object"].(map[string]any); !del.Verified || obj["id"] != m.pub.ObjectID(p.ID) || obj["type"] != "Tombstone" {
		t.Errorf("the Delete (verified %v) carries %v", del.Verified, del.Activity["object"])
	}
	if status, _ := getAS(t, m.pub.ObjectID(p.ID)); status != http.StatusGone {
		t.Errorf("GET an unpublished product's id: %d, want 410", status)
	}
	// Deleting it now sends nothing more: followers were told.
	if err := m.store.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := m.sent(t, p.ID, "Delete"); n != 1 {
		t.Errorf("%d Deletes after unpublishing then deleting, want 1", n)
	}
}

// A draft is never announced, and a product deleted after being announced
// is sent as a Delete.
func TestDraftsAreNotAnnouncedAndDeletedProductsAre(t *testing.T) {
	m := startMarket(t)
	ctx := context.Background()
	in := honey(500)
	in.Publish = false
	draft, err := m.store.CreateProduct(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sent(t, draft.ID, "Create"); n != 0 {
		t.Errorf("a draft was announced %d times", n)
	}
	in.Publish = true
	in.Variants[0].ID = draft.Variants[0].ID
	p, err := m.store.UpdateProduct(ctx, draft.ID, draft.Version, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.sent(t, p.ID, "Create"); n != 1 {
		t.Errorf("publishing a draft sent %d Creates, want 1", n)
	}
	if err := m.store.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := m.sent(t, p.ID, "Delete"); n != 1 {
		t.Errorf("deleting an announced product sent %d Deletes, want 1", n)
	}
}

// Products written without announcements (the demo's seed) are announced
// by the market's job, a batch at a time, each once: the market's outbox
// then lists them.
func TestTheJobAnnouncesProductsNeverAnnounced(t *testing.T) {
	m := startMarket(t)
	ctx := context.Background()
	var ids []uuid.UUID
	for i := range listings.DueBatch + 2 {
		in := honey(int64(100 + i))
		in.Slug = "honey-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		p, err := m.quiet.CreateProduct(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	in := honey(900)
	in.Slug, in.Publish = "draft-honey", false
	draft, err := m.quiet.CreateProduct(ctx, in)
	if err != nil {
		t.Fatal(err)
	}

	announced := func() int {
		var n int
		if err := m.db.QueryRow(ctx, `SELECT count(*) FROM ap_activities WHERE actor = $1 AND type = 'Create'`, m.pub.Actor()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// runDue queues the job and waits until it has run.
	runDue := func() {
		if err := listings.QueueDue(ctx, m.jobs); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			var waiting int
			if err := m.db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed', 'discarded', 'cancelled')`,
				listings.DueArgs{}.Kind()).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the job did not run within 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	runDue()
	if n := announced(); n != listings.DueBatch {
		t.Errorf("one run announced %d products, want a batch of %d", n, listings.DueBatch)
	}
	runDue()
	runDue() // finds nothing left
	if n := announced(); n != len(ids) {
		t.Fatalf("%d products announced, want each of the %d published once", n, len(ids))
	}
	if n := m.sent(t, draft.ID, "Create"); n != 0 {
		t.Errorf("the draft was announced")
	}
	if status, doc := getAS(t, m.pub.Actor()+"/outbox"); status != http.StatusOK || doc["totalItems"] != float64(len(ids)) {
		t.Errorf("the outbox: %d totalItems %v, want %d", status, doc["totalItems"], len(ids))
	}
}

// The price followers read: the lowest variant's, "from" it when variants
// differ; and availability in coarse words that a sale does not change.
func TestPriceAndAvailabilityText(t *testing.T) {
	one := []models.Variant{{Price: 725, TrackStock: true, Stock: 9}}
	if got := listings.PriceText("GBP", one); got != "£7.25" {
		t.Errorf("one variant: %q", got)
	}
	two := []models.Variant{{Price: 1200, TrackStock: true, Stock: 3}, {Price: 350, TrackStock: true}}
	if got := listings.PriceText("GBP", two); got != "from £3.50" {
		t.Errorf("two variants: %q", got)
	}
	for _, c := range []struct {
		vs   []models.Variant
		want string
	}{
		{one, "In stock"},
		{[]models.Variant{{TrackStock: true, Stock: 3}}, "Few left"},
		{[]models.Variant{{TrackStock: true, Stock: 2}, {TrackStock: true}}, "Few left"},
		{[]models.Variant{{TrackStock: true, AllowBackorder: true}}, "Available to order"},
		{[]models.Variant{{TrackStock: true}}, "Sold out"},
		{[]models.Variant{{TrackStock: false}}, "In stock"},
	} {
		if got := listings.Availability(c.vs); got != c.want {
			t.Errorf("Availability(%+v) = %q, want %q", c.vs, got, c.want)
		}
	}
}
