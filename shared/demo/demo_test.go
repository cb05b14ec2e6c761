package demo_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/demo"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/posts"
)

func mustSeed(t *testing.T, db *pgxpool.Pool, times int) {
	t.Helper()
	mustSeedInto(t, db, nil, times)
}

func mustSeedInto(t *testing.T, db *pgxpool.Pool, store media.Store, times int) {
	t.Helper()
	for i := 0; i < times; i++ {
		if err := demo.Seed(context.Background(), db, store); err != nil {
			t.Fatalf("seed run %d: %v", i+1, err)
		}
	}
}

func count(t *testing.T, db *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Seeding twice leaves exactly one copy of each demo record.
func TestSeedIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 2)

	var users, admins int
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE is_admin) FROM users`).Scan(&users, &admins); err != nil {
		t.Fatal(err)
	}
	if users != len(demo.Users) || admins != 1 {
		t.Fatalf("after seeding twice: %d users (%d admins), want %d (1)", users, admins, len(demo.Users))
	}

	navItems := 0
	for _, it := range demo.Nav {
		navItems += 1 + len(it.Children)
	}
	for query, want := range map[string]int{
		`SELECT count(*) FROM nav_items`:  navItems,
		`SELECT count(*) FROM calendars`:  len(demo.Calendars),
		`SELECT count(*) FROM events`:     len(demo.Events),
		`SELECT count(*) FROM carts`:      1,
		`SELECT count(*) FROM cart_items`: len(demo.AdminCart),
		`SELECT count(*) FROM posts`:      len(demo.Posts),
		`SELECT count(*) FROM tags`:       len(demo.Tags),
		`SELECT count(*) FROM post_tags`:  demoPostTags(),
		`SELECT count(*) FROM markets`:    len(demo.Markets),
		`SELECT count(*) FROM products`:   len(demo.Products),
		// The nearly full welcome and the sold-out talk, booked once, and
		// the admin's place at the members' meeting.
		`SELECT count(*) FROM bookings`: 17 + 12 + 1,
		`SELECT count(*) FROM tickets`:  17 + 12 + 1,
		`SELECT count(*) FROM bookings b JOIN users u ON u.id = b.user_id
		  WHERE u.email = 'admin@rose-ash.localhost' AND b.status = 'confirmed'`: 1,
		// The admin's order history: one collected order of two lines.
		`SELECT count(*) FROM orders WHERE status = 'completed' AND paid_at IS NOT NULL`: 1,
		`SELECT count(*) FROM order_lines`:                                               len(demo.AdminOrder),
		`SELECT count(*) FROM order_events`:                                              4,
		`SELECT count(*) FROM waitlist_entries`:                                          3,
		`SELECT count(*) FROM event_occurrences o JOIN events e ON e.id = o.event_id
		  WHERE e.slug = 'seed-saving-talk' AND o.taken = o.capacity`: 1,
		`SELECT count(*) FROM event_occurrences o JOIN events e ON e.id = o.event_id
		  WHERE e.slug = 'new-members-welcome' AND o.capacity - o.taken = 3`: 1,
	} {
		if n := count(t, db, query); n != want {
			t.Errorf("after seeding twice, %s = %d, want %d", query, n, want)
		}
	}

	tree, err := navigation.New(db).NavTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// No Home item: the brand and the Blog entry already lead home.
	if len(tree) != len(demo.Nav) || tree[0].Label != "About" || tree[0].URL != "/about" ||
		len(tree[0].Children) != 1 || !tree[0].Children[0].External() {
		t.Errorf("demo nav tree = %+v", tree)
	}

	if got := upcomingSlugs(t, db); len(got) != len(demo.Events) {
		t.Errorf("upcoming after seeding: %v, want the %d demo events", got, len(demo.Events))
	}
	// The weekly breakfast has its dates for the year ahead; the others
	// one each.
	if n := count(t, db, `SELECT count(*) FROM event_occurrences`); n < len(demo.Events)+50 || n > len(demo.Events)+53 {
		t.Errorf("%d occurrences, want the weekly event's year and one of each other", n)
	}
	var free, paid, small int
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE price_minor = 0), count(*) FILTER (WHERE price_minor > 0)
		FROM ticket_types`).Scan(&free, &paid); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM events WHERE capacity <= 5`).Scan(&small); err != nil {
		t.Fatal(err)
	}
	if free < 5 || paid < 3 || small < 1 {
		t.Errorf("%d free and %d paid ticket types, %d small events; want mostly free, some paid, one small", free, paid, small)
	}

	var admin uuid.UUID
	if err := db.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, demo.AdminEmail).Scan(&admin); err != nil {
		t.Fatal(err)
	}
	sum, err := carts.New(db).CartSummary(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ItemCount != 3 || len(sum.Totals) != 1 || sum.Totals[0] != (models.Money{Minor: 1750, Currency: "GBP"}) {
		t.Errorf("demo admin's cart = %+v, want 3 items for £17.50", sum)
	}
	lines, err := carts.New(db).CartLines(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	// The lines are added in one transaction, so they share their time:
	// compare them by title.
	want := map[string]int{}
	for _, l := range demo.AdminCart {
		want[l.Title] = l.Quantity
	}
	if len(lines) != len(want) {
		t.Errorf("demo admin's cart = %+v, want %+v", lines, demo.AdminCart)
	}
	for i, l := range lines {
		if q, ok := want[l.Title]; !ok || q != l.Quantity {
			t.Errorf("demo admin's cart line %d = %+v, want %+v", i, l, demo.AdminCart)
		}
	}
}

func demoPostTags() int {
	n := 0
	for _, p := range demo.Posts {
		n += len(p.Tags)
	}
	return n
}

// The demo blog has six published posts by the admin, newest first, the
// About and Contact pages the demo navigation links to, and a draft that
// never shows; seeding again changes none of them.
func TestSeedPublishesTheDemoBlog(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	// An admin's later edit survives seeding again, tags included.
	if _, err := db.Exec(ctx, `UPDATE posts SET title = 'Welcome!' WHERE slug = 'welcome-to-the-new-rose-ash'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM post_tags WHERE post_id = (SELECT id FROM posts WHERE slug = 'our-winter-market-schedule')`); err != nil {
		t.Fatal(err)
	}
	mustSeed(t, db, 1)

	st := posts.New(db)
	now := time.Now()
	page, err := st.PublishedPosts(ctx, now, contracts.PostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a-season-with-the-bees-at-bramble-and-comb", "our-winter-market-schedule", "bread-making-workshop-what-we-learned",
		"why-we-pay-producers-within-seven-days", "meet-the-growers-at-hollow-lane-farm", "welcome-to-the-new-rose-ash"}
	var got []string
	for _, p := range page.Posts {
		got = append(got, p.Slug)
		if p.Author == nil || p.Author.Username != "admin" || p.Excerpt == "" || p.Type != "post" {
			t.Errorf("demo post %s = %+v, want the admin's, with an excerpt", p.Slug, p)
		}
		if p.Slug != "our-winter-market-schedule" && (len(p.Tags) < 1 || len(p.Tags) > 3) {
			t.Errorf("demo post %s has tags %v, want 1 to 3", p.Slug, p.Tags)
		}
	}
	if !slices.Equal(got, want) || page.Total != 6 {
		t.Fatalf("demo posts = %v, want %v", got, want)
	}
	if page.Posts[1].Tags != nil || page.Posts[5].Title != "Welcome!" {
		t.Errorf("seeding again undid an admin's edits: %+v", page.Posts)
	}

	for _, slug := range []string{"about", "contact"} {
		p, err := st.PublishedPostBySlug(ctx, now, slug)
		if err != nil || p.Type != "page" || !strings.Contains(p.HTML, "<p>") {
			t.Errorf("demo page %s = %+v, %v", slug, p, err)
		}
	}
	if p, err := st.PublishedPostBySlug(ctx, now, "spring-planting-plans"); models.Code(err) != models.ENotFound {
		t.Errorf("the demo draft is visible: %+v, %v", p, err)
	}
	if page, err := st.PublishedPosts(ctx, now, contracts.PostQuery{TagSlug: "producers"}); err != nil || page.Total != 3 {
		t.Errorf("demo posts tagged producers: %d, %v; want 3", page.Total, err)
	}
	if page, err := st.SearchPosts(ctx, now, "sourdough", 1, 10); err != nil || page.Total == 0 ||
		page.Posts[0].Slug != "bread-making-workshop-what-we-learned" {
		t.Errorf("searching the demo blog for sourdough: %+v, %v", page, err)
	}
	for _, p := range demo.Posts {
		for _, bad := range []string{"<script", "javascript:", "<img", "<iframe", "style=", "http://", "https://"} {
			if strings.Contains(strings.ToLower(p.HTML), bad) {
				t.Errorf("demo post %s contains %q: the demo is plain, self-contained HTML", p.Slug, bad)
			}
		}
	}
}

// upcomingSlugs returns the slugs of the events with dates to come, once
// each.
func upcomingSlugs(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	upcoming, err := calendars.New(db).Upcoming(context.Background(), time.Now(), calendars.UpcomingQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range upcoming {
		if !slices.Contains(out, e.Slug) {
			out = append(out, e.Slug)
		}
	}
	return out
}

// A database seeded weeks ago, its demo events now past, has upcoming events
// again after seeding, still one of each; events still to come are kept.
func TestSeedMovesPastDemoEventsForward(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	kept := demo.Events[1].Slug
	for _, q := range []string{
		`UPDATE events SET starts_at = starts_at - interval '60 days', ends_at = ends_at - interval '60 days' WHERE slug <> $1 AND rrule = ''`,
		`UPDATE event_occurrences o SET starts_at = o.starts_at - interval '60 days', ends_at = o.ends_at - interval '60 days'
		 FROM events e WHERE e.id = o.event_id AND e.slug <> $1 AND e.rrule = ''`,
	} {
		if _, err := db.Exec(ctx, q, kept); err != nil {
			t.Fatal(err)
		}
	}
	var was time.Time
	if err := db.QueryRow(ctx, `SELECT starts_at FROM events WHERE slug = $1`, kept).Scan(&was); err != nil {
		t.Fatal(err)
	}
	mustSeed(t, db, 1)

	if got := upcomingSlugs(t, db); len(got) != len(demo.Events) {
		t.Fatalf("upcoming events after seeding again: %v, want %d", got, len(demo.Events))
	}
	if n := count(t, db, `SELECT count(*) FROM events`); n != len(demo.Events) {
		t.Fatalf("%d events after seeding again, want %d", n, len(demo.Events))
	}
	var now time.Time
	if err := db.QueryRow(ctx, `SELECT starts_at FROM events WHERE slug = $1`, kept).Scan(&now); err != nil || !now.Equal(was) {
		t.Errorf("an upcoming demo event was rescheduled: starts %v, was %v (%v)", now, was, err)
	}
	if n := count(t, db, `SELECT count(*) FROM event_occurrences o JOIN events e ON e.id = o.event_id WHERE e.rrule = ''`); n != len(demo.Events)-1 {
		t.Errorf("%d occurrences of one-off events, want one each", n)
	}
}

// Every demo event whose name says a weekday is on that weekday in London,
// whatever day the demo is seeded on (the members' meeting is on
// Thursdays, as the contact page says), at its local time across DST.
func TestDemoEventsFallOnTheirWeekdays(t *testing.T) {
	days := map[string]time.Weekday{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		days[d.String()] = d
	}
	london, _ := time.LoadLocation(demo.Zone)
	for _, start := range []time.Time{time.Date(2026, 12, 5, 23, 30, 0, 0, time.UTC), time.Date(2027, 6, 1, 23, 30, 0, 0, time.UTC)} {
		for i := 0; i < 7; i++ {
			now := start.AddDate(0, 0, i)
			for _, e := range demo.Events {
				at := e.StartsAfter(now).In(london)
				if !at.After(now) || at.Sub(now) > time.Duration(e.Week+1)*7*24*time.Hour+e.At+time.Hour {
					t.Errorf("seeded at %v, %s starts at %v", now, e.Slug, at)
				}
				if at.Weekday() != e.Weekday {
					t.Errorf("seeded on a %s, %s is on a %s, want %s", now.Weekday(), e.Slug, at.Weekday(), e.Weekday)
				}
				if got := time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute; got != e.At {
					t.Errorf("%s starts at %v local, want %v", e.Slug, got, e.At)
				}
				for name, d := range days {
					if strings.Contains(e.Title, name) && e.Weekday != d {
						t.Errorf("%q is scheduled on %s", e.Title, e.Weekday)
					}
				}
			}
		}
	}
}

// The demo posts have feature images, stored once in the media store;
// a database seeded before the demo had images gets them; an image an admin
// chose is kept.
func TestSeedGivesDemoPostsFeatureImages(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1) // an older demo database, without images
	if _, err := db.Exec(ctx, `UPDATE posts SET feature_image = '/media/ab/chosen.jpg' WHERE slug = 'welcome-to-the-new-rose-ash'`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := media.NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustSeedInto(t, db, store, 2)

	page, err := posts.New(db).PublishedPosts(ctx, time.Now(), contracts.PostQuery{Type: "post"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range page.Posts {
		if p.Slug == "welcome-to-the-new-rose-ash" {
			if p.FeatureImage != "/media/ab/chosen.jpg" {
				t.Errorf("seeding replaced the image an admin chose: %q", p.FeatureImage)
			}
			continue
		}
		name, ok := strings.CutPrefix(p.FeatureImage, "/media/")
		if !ok || !media.ValidName(name) || !strings.HasSuffix(name, ".jpg") {
			t.Errorf("demo post %s has feature image %q, want a JPEG in the media store", p.Slug, p.FeatureImage)
			continue
		}
		f, _, err := store.Open(ctx, name)
		if err != nil {
			t.Errorf("demo post %s's image %s is not in the store: %v", p.Slug, name, err)
			continue
		}
		info, err := f.(interface{ Stat() (os.FileInfo, error) }).Stat()
		f.Close()
		if err != nil || info.Size() > 64<<10 {
			t.Errorf("demo image %s: %v bytes (%v), want a small image", name, info.Size(), err)
		}
		seen[name] = true
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct demo images on the other five posts, want 5", len(seen))
	}
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if want := 6 + len(demo.Markets) + len(demo.Products); files != want {
		t.Errorf("the store holds %d files after seeding twice, want the %d demo images", files, want)
	}
}

// A demo database from before the market had products held placeholder
// lines in the admin's cart; seeding replaces them with the demo
// products' variants, so the basket still holds 3 items for £17.50.
func TestSeedReplacesTheFormerPlaceholderCart(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	mustSeed(t, db, 1)
	if _, err := db.Exec(ctx, `DELETE FROM cart_items`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity)
		SELECT id, 'demo-sourdough-loaf', 'Sourdough loaf', 450, 'GBP', 1 FROM carts`); err != nil {
		t.Fatal(err)
	}
	mustSeed(t, db, 1)
	var admin uuid.UUID
	if err := db.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, demo.AdminEmail).Scan(&admin); err != nil {
		t.Fatal(err)
	}
	lines, err := carts.New(db).CartLines(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{}
	for _, l := range lines {
		titles[l.Title] = uuid.Validate(l.ProductRef) == nil
	}
	if len(lines) != 2 || !titles["Sourdough loaf (800 g)"] || !titles["Wildflower honey (340 g)"] {
		t.Errorf("the admin's cart after seeding an older demo database = %+v, want the two demo variants by their ids", lines)
	}
}

// A database seeded by the first demo (one calendar, bare events with no
// place, zone, tickets or dates) gets, on seeding, the demo's places,
// tickets and dates for its events, the weekly one repeating; seeding
// again changes nothing.
func TestSeedFillsInEventsOfTheFirstDemo(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	var cal uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO calendars (slug, title) VALUES ('community', 'Community') RETURNING id`).Scan(&cal); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Hour)
	if _, err := db.Exec(ctx, `INSERT INTO events (calendar_id, slug, title, summary, location, starts_at, ends_at)
		VALUES ($1, 'saturday-market-breakfast', 'Saturday market breakfast', 'Coffee.', 'The market hall', $2, $3)`,
		cal, start, start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustSeed(t, db, 1)
	var address, zone, rrule string
	var tickets, dates, version int
	if err := db.QueryRow(ctx, `SELECT address, time_zone, rrule, version,
		(SELECT count(*) FROM ticket_types t WHERE t.event_id = e.id),
		(SELECT count(*) FROM event_occurrences o WHERE o.event_id = e.id AND o.starts_at > now())
		FROM events e WHERE slug = 'saturday-market-breakfast'`).Scan(&address, &zone, &rrule, &version, &tickets, &dates); err != nil {
		t.Fatal(err)
	}
	if address == "" || zone != demo.Zone || rrule == "" || tickets != 1 || dates < 50 {
		t.Fatalf("the first demo's breakfast: address %q, zone %q, rule %q, %d ticket types, %d dates to come", address, zone, rrule, tickets, dates)
	}
	mustSeed(t, db, 1)
	var again int
	if err := db.QueryRow(ctx, `SELECT version FROM events WHERE slug = 'saturday-market-breakfast'`).Scan(&again); err != nil || again != version {
		t.Errorf("seeding again changed the breakfast: version %d, was %d (%v)", again, version, err)
	}
}
