package agenda_test

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
	"rose-ash.com/platform/shared/activitypub/agenda"
	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/safefetch"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// site is the events service's side: a fresh database, its actor and
// inbox served on loopback (so remote servers fetch its key and post to
// it), and a River client that delivers and works the events queue.
type site struct {
	db       *pgxpool.Pool
	url      string
	ap       *activitypub.Service
	jobs     *river.Client[pgx.Tx]
	pub      *agenda.Publisher
	calendar uuid.UUID
}

func startSite(t *testing.T) *site {
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
	client := safefetch.New(safefetch.Options{Allow: loopback, Timeout: 5 * time.Second})
	svc := &activitypub.Service{Name: "events", BaseURL: srv.URL, FederationURL: srv.URL, Title: "Events",
		DB: db, Key: key, Logger: slog.New(slog.DiscardHandler)}
	svc.Resolver = &activitypub.Resolver{DB: db, Client: client, PlainHTTP: func(string) bool { return true }}
	svc.Resolver.Signer.KeyID, svc.Resolver.Signer.Key = activitypub.KeyID(svc.ActorID()), key.Private
	svc.Mount(r)

	d := &delivery.Deliverer{DB: db, Client: client, Key: key.Private,
		Config: delivery.Config{MaxAttempts: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second,
			HostWait: 100 * time.Millisecond, Timeout: 5 * time.Second}}
	workers := river.NewWorkers()
	if err := d.Register(workers); err != nil {
		t.Fatal(err)
	}
	river.AddWorker(workers, &agenda.DueWorker{EventsURL: srv.URL, DB: db})
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: workers, TestOnly: true,
		Queues:            map[string]river.QueueConfig{delivery.Queue: {MaxWorkers: 2}, agenda.Queue: {MaxWorkers: 1}},
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
	svc.Jobs = jobs
	s := &site{db: db, url: srv.URL, ap: svc, jobs: jobs, pub: &agenda.Publisher{EventsURL: srv.URL, Jobs: jobs}}
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('village', 'Village Diary') RETURNING id`).Scan(&s.calendar); err != nil {
		t.Fatal(err)
	}
	return s
}

// follower makes a remote Mastodon-like server with one actor who follows
// @events.
func (s *site) follower(t *testing.T) *aptest.Server {
	t.Helper()
	remote := aptest.NewServer(t, aptest.WithFetchClient(safefetch.New(safefetch.Options{Allow: loopback})))
	alice := remote.AddActor("alice")
	ctx := context.Background()
	if _, err := s.db.Exec(ctx, `INSERT INTO ap_actors (uri, host, inbox, shared_inbox) VALUES ($1, split_part($1, '/', 3), $2, $3)`,
		alice.ID, alice.Inbox, remote.SharedInbox()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri) VALUES ($1, $2, $2 || '#follow')`,
		s.pub.Actor(), alice.ID); err != nil {
		t.Fatal(err)
	}
	return remote
}

// fixture is an event as the calendars store would have written it.
type fixture struct {
	Slug, Title, Summary, Description string
	Location, Address, TimeZone       string
	Image, ImageAlt, Organiser        string
	Starts, Ends                      time.Time
	Capacity                          *int
	RRule                             string
	Published                         bool
	// Occurrences are extra occurrences (a recurring event's); a one-off
	// event gets one at Starts.
	Occurrences []time.Time
}

// addEvent inserts an event, its occurrences and a free ticket type with
// SQL, without announcing it (as the demo's seed does).
func (s *site) addEvent(t *testing.T, f fixture) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var published *time.Time
	if f.Published {
		now := time.Now()
		published = &now
	}
	status := "draft"
	if f.Published {
		status = "scheduled"
	}
	var id uuid.UUID
	err := s.db.QueryRow(ctx, `INSERT INTO events (calendar_id, slug, title, summary, description_html, location, address, time_zone,
		image, image_alt, starts_at, ends_at, capacity, rrule, status, published_at, organiser_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		s.calendar, f.Slug, f.Title, f.Summary, f.Description, f.Location, f.Address, f.TimeZone, f.Image, f.ImageAlt,
		f.Starts, f.Ends, f.Capacity, f.RRule, status, published, f.Organiser).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	starts := f.Occurrences
	if len(starts) == 0 {
		starts = []time.Time{f.Starts}
	}
	for _, st := range starts {
		if _, err := s.db.Exec(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, $4)`,
			id, st, st.Add(f.Ends.Sub(f.Starts)), f.Capacity); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO ticket_types (event_id, name) VALUES ($1, 'Free place')`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// change updates an event with SQL and syncs it in the same transaction,
// as the calendars store's hook does.
func (s *site) change(t *testing.T, id uuid.UUID, set string, args ...any) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if set != "" {
			if _, err := tx.Exec(ctx, `UPDATE events SET `+set+`, updated_at = now(), version = version + 1 WHERE id = $1`,
				append([]any{id}, args...)...); err != nil {
				return err
			}
		}
		return s.pub.Sync(ctx, tx, id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sent counts the activities of a type emitted about an event.
func (s *site) sent(t *testing.T, id uuid.UUID, typ string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_activities WHERE object_uri = $1 AND type = $2`,
		s.pub.ObjectID(id), typ).Scan(&n); err != nil {
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

func ptr[T any](v T) *T { return &v }

// hasMobilizonContext reports whether a document's @context defines the
// terms Mobilizon reads an Event with.
func hasMobilizonContext(doc map[string]any) bool {
	list, _ := doc["@context"].([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok && m["ical"] == "http://www.w3.org/2002/12/cal/ical#" &&
			m["mz"] == "https://joinmobilizon.org/ns#" && m["joinMode"] != nil && m["maximumAttendeeCapacity"] != nil {
			return true
		}
	}
	return false
}

func fair() fixture {
	starts := time.Date(2027, 6, 12, 18, 0, 0, 0, time.UTC) // 19:00 in London (BST)
	return fixture{Slug: "summer-fair", Title: "Summer fair", Summary: "Stalls, cakes and a tug of war.",
		Description: `<p>Bring the <em>family</em>.</p><script>alert(1)</script>`,
		Location:    "Village Hall", Address: "1 Church Lane, Hilltown HT1 2AB", TimeZone: "Europe/London",
		Image: "/media/fair.jpg", ImageAlt: "Bunting over the green", Organiser: "Hilltown WI",
		Starts: starts, Ends: starts.Add(2 * time.Hour), Capacity: ptr(80), Published: true}
}

// A published event reaches a follower's server as a signed Create of a
// Mobilizon-shaped Event; an edit sends an Update, a cancellation an Update
// with ical:status CANCELLED, unpublishing a Delete; a save that changes
// nothing followers see sends nothing.
func TestAnEventReachesFollowersAsCreateUpdateCancelAndDelete(t *testing.T) {
	s := startSite(t)
	remote := s.follower(t)
	id := s.addEvent(t, fair())
	s.change(t, id, "")

	create := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Create" })
	if !create.Verified || create.Err != "" {
		t.Fatalf("the Create did not verify the way Mastodon verifies: %s", create.Err)
	}
	if create.Activity["actor"] != s.url+"/users/events" || !hasMobilizonContext(create.Activity) {
		t.Errorf("the Create: actor %v, @context %v", create.Activity["actor"], create.Activity["@context"])
	}
	ev, _ := create.Activity["object"].(map[string]any)
	link := s.url + "/events/summer-fair"
	for k, want := range map[string]any{
		"id": s.pub.ObjectID(id), "type": "Event", "name": "Summer fair", "url": link, "attributedTo": s.pub.Actor(),
		"startTime": "2027-06-12T19:00:00+01:00", "endTime": "2027-06-12T21:00:00+01:00", "timezone": "Europe/London",
		"joinMode": "free", "maximumAttendeeCapacity": float64(80), "ical:status": "CONFIRMED",
	} {
		if ev[k] != want {
			t.Errorf("the Event's %s is %v, want %v", k, ev[k], want)
		}
	}
	if to, _ := ev["to"].([]any); len(to) != 1 || to[0] != activitypub.Public {
		t.Errorf("the Event is to %v, want the public", ev["to"])
	}
	if cc, _ := ev["cc"].([]any); len(cc) != 1 || cc[0] != s.pub.Actor()+"/followers" {
		t.Errorf("the Event is cc %v, want the followers", ev["cc"])
	}
	if ev["published"] == nil {
		t.Error("the Event has no published date")
	}
	place, _ := ev["location"].(map[string]any)
	addr, _ := place["address"].(map[string]any)
	if place["type"] != "Place" || place["name"] != "Village Hall" || addr["type"] != "PostalAddress" ||
		addr["streetAddress"] != "1 Church Lane, Hilltown HT1 2AB" {
		t.Errorf("the Event's location: %v", ev["location"])
	}
	att, _ := ev["attachment"].([]any)
	if len(att) != 1 {
		t.Fatalf("attachments %v, want the event's image", ev["attachment"])
	}
	if a, _ := att[0].(map[string]any); a["type"] != "Document" || a["url"] != s.url+"/media/fair.jpg" ||
		a["mediaType"] != "image/jpeg" || a["name"] != "Bunting over the green" {
		t.Errorf("the image attached: %v", a)
	}
	content, _ := ev["content"].(string)
	for _, want := range []string{"<strong>Summer fair</strong>", "Saturday 12 June 2027, 19:00–21:00 BST",
		"Village Hall, 1 Church Lane, Hilltown HT1 2AB", "Organised by Hilltown WI", "Stalls, cakes and a tug of war.", "<em>family</em>",
		`<a href="` + link + `">`} {
		if !strings.Contains(content, want) {
			t.Errorf("the post's text lacks %q:\n%s", want, content)
		}
	}
	if strings.Contains(content, "<script") {
		t.Errorf("the description was not sanitized:\n%s", content)
	}

	// The Event is served at its id with Mobilizon's context, and the
	// outbox lists the Create.
	status, doc := getAS(t, s.pub.ObjectID(id))
	if status != http.StatusOK || doc["id"] != s.pub.ObjectID(id) || doc["type"] != "Event" || !hasMobilizonContext(doc) {
		t.Errorf("GET the event's id: %d %v", status, doc)
	}
	if status, doc := getAS(t, s.pub.Actor()+"/outbox"); status != http.StatusOK || doc["totalItems"] != float64(1) {
		t.Errorf("the outbox: %d %v", status, doc)
	}

	// Saving it unchanged sends nothing.
	s.change(t, id, "summary = summary")
	if n := s.sent(t, id, "Update"); n != 0 {
		t.Errorf("an unchanged save sent %d Updates", n)
	}

	// A new time sends an Update with it.
	s.change(t, id, "starts_at = starts_at + interval '1 hour', ends_at = ends_at + interval '1 hour'")
	update := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Update" })
	if obj, _ := update.Activity["object"].(map[string]any); !update.Verified || obj["startTime"] != "2027-06-12T20:00:00+01:00" ||
		obj["updated"] == nil || !strings.Contains(obj["content"].(string), "20:00–22:00 BST") {
		t.Errorf("the Update (verified %v) carries %v", update.Verified, update.Activity["object"])
	}

	// With only paid places, Mobilizon is sent to the event's page rather
	// than offered a Join.
	if _, err := s.db.Exec(context.Background(), `UPDATE ticket_types SET price_minor = 500 WHERE event_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	s.change(t, id, "")
	paid := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool {
		obj, _ := d.Activity["object"].(map[string]any)
		return d.Type() == "Update" && obj["joinMode"] == "external"
	})
	if obj, _ := paid.Activity["object"].(map[string]any); obj["externalParticipationUrl"] != link {
		t.Errorf("an event with only paid places: %v", obj)
	}

	// Cancelling sends an Update with ical:status CANCELLED and the reason.
	s.change(t, id, "status = 'cancelled', cancelled_at = now(), cancel_reason = 'The field is flooded.'")
	cancel := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool {
		obj, _ := d.Activity["object"].(map[string]any)
		return d.Type() == "Update" && obj["ical:status"] == "CANCELLED"
	})
	if obj, _ := cancel.Activity["object"].(map[string]any); !cancel.Verified ||
		!strings.Contains(obj["content"].(string), "Cancelled: The field is flooded.") {
		t.Errorf("the cancellation (verified %v) carries %v", cancel.Verified, cancel.Activity["object"])
	}

	// Unpublishing sends a Delete, and the object is gone.
	s.change(t, id, "status = 'draft', published_at = NULL")
	del := remote.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool { return d.Type() == "Delete" })
	if obj, _ := del.Activity["object"].(map[string]any); !del.Verified || obj["id"] != s.pub.ObjectID(id) || obj["type"] != "Tombstone" {
		t.Errorf("the Delete (verified %v) carries %v", del.Verified, del.Activity["object"])
	}
	if status, _ := getAS(t, s.pub.ObjectID(id)); status != http.StatusGone {
		t.Errorf("GET an unpublished event's id: %d, want 410", status)
	}
	// Deleting it now sends nothing more: followers were told.
	if _, err := s.db.Exec(context.Background(), `DELETE FROM events WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	s.change(t, id, "")
	if n := s.sent(t, id, "Delete"); n != 1 {
		t.Errorf("%d Deletes after unpublishing then deleting, want 1", n)
	}
}

// A draft is never announced, nor an event cancelled before it was; a
// published event deleted after being announced is sent as a Delete.
func TestDraftsAreNotAnnouncedAndDeletedEventsAre(t *testing.T) {
	s := startSite(t)
	f := fair()
	f.Published = false
	draft := s.addEvent(t, f)
	s.change(t, draft, "")
	if n := s.sent(t, draft, "Create"); n != 0 {
		t.Errorf("a draft was announced %d times", n)
	}
	s.change(t, draft, "status = 'cancelled', published_at = now(), cancelled_at = now()")
	if n := s.sent(t, draft, "Create") + s.sent(t, draft, "Update"); n != 0 {
		t.Errorf("an event cancelled before it was announced was sent %d times", n)
	}
	s.change(t, draft, "status = 'scheduled', cancelled_at = NULL")
	if n := s.sent(t, draft, "Create"); n != 1 {
		t.Errorf("publishing a draft sent %d Creates, want 1", n)
	}
	if _, err := s.db.Exec(context.Background(), `DELETE FROM events WHERE id = $1`, draft); err != nil {
		t.Fatal(err)
	}
	s.change(t, draft, "")
	if n := s.sent(t, draft, "Delete"); n != 1 {
		t.Errorf("deleting an announced event sent %d Deletes, want 1", n)
	}
}

// runDue queues the events job and waits until it has run.
func (s *site) runDue(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := agenda.QueueDue(ctx, s.jobs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed', 'discarded', 'cancelled')`,
			agenda.DueArgs{}.Kind()).Scan(&waiting); err != nil {
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

// Events written without announcements (the demo's seed) are announced by
// the events job, a batch at a time, each once, the past ones and drafts
// not at all: the @events outbox then lists Creates of Events. A recurring
// event is sent with its next occurrence's times, and sent again (an
// Update) once that occurrence is over.
func TestTheJobAnnouncesEventsNeverAnnounced(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	base := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	var ids []uuid.UUID
	for i := range agenda.DueBatch + 2 {
		f := fair()
		f.Slug = "fair-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		f.Starts = base.Add(time.Duration(i) * time.Hour)
		f.Ends = f.Starts.Add(time.Hour)
		ids = append(ids, s.addEvent(t, f))
	}
	f := fair()
	f.Slug, f.Published = "draft-fair", false
	draft := s.addEvent(t, f)
	f = fair()
	f.Slug, f.Starts, f.Ends = "last-year", time.Now().AddDate(-1, 0, 0), time.Now().AddDate(-1, 0, 0).Add(time.Hour)
	past := s.addEvent(t, f)

	announced := func() int {
		var n int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM ap_activities WHERE actor = $1 AND type = 'Create'`, s.pub.Actor()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s.runDue(t)
	if n := announced(); n != agenda.DueBatch {
		t.Errorf("one run announced %d events, want a batch of %d", n, agenda.DueBatch)
	}
	s.runDue(t)
	s.runDue(t) // finds nothing left
	if n := announced(); n != len(ids) {
		t.Fatalf("%d events announced, want each of the %d upcoming published once", n, len(ids))
	}
	if n := s.sent(t, draft, "Create") + s.sent(t, past, "Create"); n != 0 {
		t.Errorf("the draft or the past event was announced")
	}
	status, doc := getAS(t, s.pub.Actor()+"/outbox?page=1")
	items, _ := doc["orderedItems"].([]any)
	if status != http.StatusOK || len(items) == 0 {
		t.Fatalf("the outbox's first page: %d %v", status, doc)
	}
	if a, _ := items[0].(map[string]any); a["type"] != "Create" || a["object"].(map[string]any)["type"] != "Event" {
		t.Errorf("the outbox lists %v, want Creates of Events", items[0])
	}

	// A weekly event, whose first occurrence is over, is sent with the
	// next one's times.
	f = fair()
	week := 7 * 24 * time.Hour
	first := time.Now().Add(-week).Truncate(time.Hour)
	f.Slug, f.RRule, f.Starts, f.Ends = "quiz", "FREQ=WEEKLY", first, first.Add(time.Hour)
	f.Occurrences = []time.Time{first, first.Add(week), first.Add(2 * week)}
	quiz := s.addEvent(t, f)
	s.runDue(t)
	var obj map[string]any
	if err := s.db.QueryRow(ctx, `SELECT payload->'object' FROM ap_activities WHERE object_uri = $1 AND type = 'Create'`,
		s.pub.ObjectID(quiz)).Scan(&obj); err != nil {
		t.Fatalf("the weekly event was not announced: %v", err)
	}
	next := first.Add(week).In(time.UTC).Format(time.RFC3339)
	if got, _ := time.Parse(time.RFC3339, obj["startTime"].(string)); got.UTC().Format(time.RFC3339) != next {
		t.Errorf("the weekly event starts %v, want its next occurrence %s", obj["startTime"], next)
	}
	if !strings.Contains(obj["content"].(string), "Every week; next: ") {
		t.Errorf("the weekly event's text: %s", obj["content"])
	}
	// Its announced occurrence over, the job sends the one after.
	if _, err := s.db.Exec(ctx, `UPDATE event_occurrences SET starts_at = starts_at - interval '8 days', ends_at = ends_at - interval '8 days'
		WHERE event_id = $1 AND starts_at = $2`, quiz, first.Add(week)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE ap_activities SET payload = jsonb_set(payload, '{object,endTime}', to_jsonb($2::text))
		WHERE object_uri = $1`, s.pub.ObjectID(quiz), time.Now().Add(-time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	s.runDue(t)
	if err := s.db.QueryRow(ctx, `SELECT payload->'object' FROM ap_activities WHERE object_uri = $1 AND type = 'Update'`,
		s.pub.ObjectID(quiz)).Scan(&obj); err != nil {
		t.Fatalf("the weekly event's next occurrence was not sent: %v", err)
	}
	after := first.Add(2 * week).In(time.UTC).Format(time.RFC3339)
	if got, _ := time.Parse(time.RFC3339, obj["startTime"].(string)); got.UTC().Format(time.RFC3339) != after {
		t.Errorf("the weekly event's Update starts %v, want %s", obj["startTime"], after)
	}
}

// A one-off event whose announced date is over but which was moved on
// without the hook (the demo's seed keeps its events upcoming so) is sent
// again with its new date.
func TestTheJobSendsTheNewDateOfAnEventMovedWithoutTheHook(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	id := s.addEvent(t, fair())
	s.runDue(t)
	if n := s.sent(t, id, "Create"); n != 1 {
		t.Fatalf("the event was announced %d times, want 1", n)
	}
	s.runDue(t)
	if n := s.sent(t, id, "Update"); n != 0 {
		t.Fatalf("an event still to come, unchanged, was sent again %d times", n)
	}
	// As if its announced date had passed and the seed had moved it on.
	if _, err := s.db.Exec(ctx, `UPDATE ap_activities SET payload = jsonb_set(payload, '{object,endTime}', to_jsonb($2::text))
		WHERE object_uri = $1`, s.pub.ObjectID(id), time.Now().Add(-time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE events SET starts_at = starts_at + interval '1 day', ends_at = ends_at + interval '1 day' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	s.runDue(t)
	var start string
	if err := s.db.QueryRow(ctx, `SELECT payload->'object'->>'startTime' FROM ap_activities WHERE object_uri = $1 AND type = 'Update'`,
		s.pub.ObjectID(id)).Scan(&start); err != nil {
		t.Fatalf("the moved event was not sent again: %v", err)
	}
	if start != "2027-06-13T19:00:00+01:00" {
		t.Errorf("the moved event's Update starts %s, want 2027-06-13T19:00:00+01:00", start)
	}
}

// Dates and recurrences read as followers read them.
func TestWhenAndRepeats(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	start := time.Date(2027, 12, 11, 19, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		start, end time.Time
		want       string
	}{
		{start, start.Add(2 * time.Hour), "Saturday 11 December 2027, 19:00–21:00 GMT"},
		{start, start, "Saturday 11 December 2027, 19:00 GMT"},
		{start, start.Add(26 * time.Hour), "Saturday 11 December 2027, 19:00 – Sunday 12 December 2027, 21:00 GMT"},
	} {
		if got := agenda.When(c.start, c.end, london); got != c.want {
			t.Errorf("When(%v, %v) = %q, want %q", c.start, c.end, got, c.want)
		}
	}
	for rule, want := range map[string]string{"": "", "FREQ=WEEKLY": "Every week", "FREQ=MONTHLY;INTERVAL=2;BYDAY=1SA": "Every 2 months",
		"RRULE:FREQ=DAILY;COUNT=3": "Every day", "FREQ=HOURLY": "Repeats"} {
		if got := agenda.Repeats(rule); got != want {
			t.Errorf("Repeats(%q) = %q, want %q", rule, got, want)
		}
	}
}
