// Package demo seeds a development database with a few realistic records so
// that every page has something to show. Seeding is idempotent: running it
// again adds nothing that is already there. It owns no table: every record
// is written through the package that owns its table (identity, navigation,
// calendars, posts, carts), in one transaction.
package demo

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/services/posts"
	"rose-ash.com/platform/shared/services/products"
)

// images holds the demo posts' feature images (small JPEGs, drawn for the
// demo), by the file names Post.Image gives, and in images/market the
// markets' and products' pictures (small PNGs drawn for the demo), named
// for their slugs.
//
//go:embed images
var images embed.FS

// Users are the demo accounts: one admin and a few members.
var Users = []struct {
	Email, Username, DisplayName string
	Admin                        bool
}{
	{AdminEmail, "admin", "Rose Ash Admin", true},
	{"maya.okafor@example.org", "maya", "Maya Okafor", false},
	{"tom.bright@example.org", "tom", "Tom Bright", false},
	{"lena.fischer@example.org", "lena", "Lena Fischer", false},
}

// AdminEmail is the demo administrator's address; `make up` prints a
// sign-in link for it.
const AdminEmail = "admin@rose-ash.localhost"

// Nav is the demo site navigation: top-level items with their children.
// Its natural key is (parent, URL). It has no "Home": the header's brand
// and its Blog entry lead there already.
var Nav = []models.NavItem{
	{Label: "About", URL: "/about", Position: 20, Children: []models.NavItem{
		{Label: "Rose Ash cooperative", URL: "https://rose-ash.com", Position: 10},
	}},
	{Label: "News", URL: "/tag/news", Position: 30},
	{Label: "Contact", URL: "/contact", Position: 40},
}

// Calendars are the demo calendars the Events belong to.
var Calendars = []models.Calendar{
	{Slug: "markets-and-meetings", Title: "Markets and meetings",
		Description: "The market's Saturdays, swaps and fairs, and the cooperative's meetings."},
	{Slug: "workshops", Title: "Workshops",
		Description: "Hands-on mornings and evenings with our producers: baking, bees, preserves and more."},
}

// Calendar is the first demo calendar, whose widget the journeys embed.
var Calendar = Calendars[0]

// Zone is the demo events' time zone.
const Zone = "Europe/London"

// Ticket is a demo event's ticket type: free when Price (pence) is 0;
// Seats 0 for no limit of its own.
type Ticket struct {
	Name        string
	Price       int64
	Seats       int
	Description string
}

// Event is a demo event, scheduled relative to the day it is seeded on:
// on its Weekday, Week weeks after the first such day after that day,
// starting At after midnight in London. So an event whose name says
// "Saturday" is always on a Saturday.
type Event struct {
	Calendar                       string // a Calendars slug
	Slug, Title, Summary, Location string
	Address                        string
	Description                    string // HTML
	Weekday                        time.Weekday
	Week                           int
	At, Lasts                      time.Duration
	// Capacity is the seats per date, 0 for no limit; RRule makes the
	// event repeat.
	Capacity int
	RRule    string
	Tickets  []Ticket
}

const day = 24 * time.Hour

// StartsAfter returns when e starts if it is seeded at now: the first of
// its weekday after now's day (in London), Week weeks on, At after
// midnight London time.
func (e Event) StartsAfter(now time.Time) time.Time {
	loc := zone()
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	ahead := (int(e.Weekday)-int(today.Weekday())+6)%7 + 1 // 1..7 days
	d := today.AddDate(0, 0, ahead+7*e.Week)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).Add(e.At).UTC()
}

func zone() *time.Location {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		panic("demo: " + err.Error()) // calendars embeds time/tzdata
	}
	return loc
}

const (
	hallAddress     = "The Market Hall, 12 Church Walk, Ashby, AB1 2CD"
	bakehouseAddr   = "The Bakehouse, 3 Mill Lane, Ashby, AB1 4EF"
	gardenAddress   = "Community Garden, Orchard Road, Ashby, AB2 1GH"
	meetingRoomAddr = "The Meeting Room, 12 Church Walk (upstairs), Ashby, AB1 2CD"
	apiaryAddress   = "Bramble & Comb Apiary, Moor Lane, Ashby Moor, AB3 5JK"
)

var free = []Ticket{{Name: "Free place"}}

// Events are the demo events, spread over the weeks after seeding: free
// and paid, one repeating weekly, some with few seats.
var Events = []Event{
	{"markets-and-meetings", "saturday-market-breakfast", "Saturday market breakfast",
		"Coffee, sourdough and a first look at the week's stalls, every Saturday.", "The market hall", hallAddress,
		"<p>Every Saturday morning the market opens with breakfast: coffee from the roastery, sourdough toast from the bakehouse and honey from Bramble &amp; Comb.</p><p>Book a seat at the long table, or just drop in.</p>",
		time.Saturday, 0, 9 * time.Hour, 2 * time.Hour, 30, "FREQ=WEEKLY;BYDAY=SA", free},
	{"markets-and-meetings", "seed-and-plant-swap", "Seed and plant swap",
		"Bring seeds, cuttings and seedlings to share, and take home something new.", "Community garden", gardenAddress,
		"<p>Bring what you have too much of: seeds saved from last year, cuttings, seedlings. Take home something new.</p><ul><li>Label your seeds with the variety and year</li><li>Pots and compost provided</li></ul>",
		time.Sunday, 1, 14 * time.Hour, 2 * time.Hour, 0, "", free},
	{"markets-and-meetings", "members-meeting", "Members' meeting",
		"The cooperative's monthly meeting, on a Thursday evening: accounts, plans and questions from members.", "The meeting room, upstairs", meetingRoomAddr,
		"<p>The monthly members' meeting: the accounts, the plans for next month and your questions. Every member has one vote.</p>",
		time.Thursday, 3, 19 * time.Hour, 90 * time.Minute, 40, "", []Ticket{{Name: "Member's place"}}},
	{"markets-and-meetings", "winter-fair", "Winter fair",
		"Stalls, mulled apple juice and carols in the market hall.", "The market hall", hallAddress,
		"<p>The whole market in one hall, with mulled apple juice, carols at three and a stall of gifts made by members.</p>",
		time.Saturday, 2, 10 * time.Hour, 6 * time.Hour, 0, "", nil},
	{"markets-and-meetings", "producers-open-evening", "Producers' open evening",
		"Meet the farmers, growers and makers behind the market, and ask them anything.", "The market hall", hallAddress,
		"<p>An evening with the producers who sell through the market: how they grow, what is coming into season, and how the cooperative pays them within seven days.</p>",
		time.Wednesday, 1, 18*time.Hour + 30*time.Minute, 2 * time.Hour, 60, "", free},
	{"markets-and-meetings", "new-members-welcome", "New members' welcome",
		"A short welcome for new members: how the cooperative works and how to take part.", "The meeting room, upstairs", meetingRoomAddr,
		"<p>New to the cooperative? Come and meet the committee, hear how decisions are made and find out where you can help.</p>",
		time.Tuesday, 2, 18 * time.Hour, time.Hour, 20, "", free},
	{"workshops", "bread-making-workshop", "Bread-making workshop",
		"A hands-on morning with our bakers: starters, shaping and baking. Aprons and flour provided.", "The bakehouse", bakehouseAddr,
		"<p>A hands-on morning with the bakers who supply the market's sourdough.</p><ul><li>Keeping a starter alive</li><li>Mixing, folding and shaping</li><li>Baking in the wood-fired oven</li></ul><p>Take home your own loaf and some starter. Aprons and flour provided.</p>",
		time.Saturday, 2, 10 * time.Hour, 3 * time.Hour, 12, "",
		[]Ticket{{Name: "Workshop place", Price: 2500, Description: "Includes your loaf and a jar of starter."}}},
	{"workshops", "rye-bread-workshop", "Rye bread workshop",
		"Dense, dark and keeps for a week: the bakers' session on rye.", "The bakehouse", bakehouseAddr,
		"<p>By popular request: a morning on rye, from a light rye loaf to a dark Danish rugbrød.</p>",
		time.Saturday, 4, 10 * time.Hour, 3 * time.Hour, 12, "",
		[]Ticket{{Name: "Workshop place", Price: 2500}}},
	{"workshops", "beekeeping-taster", "Beekeeping taster",
		"Suit up and open a hive with Jess Rowan of Bramble & Comb.", "Bramble & Comb apiary", apiaryAddress,
		"<p>Jess Rowan opens a hive and shows you what happens inside. Suits and gloves provided; honey tasting afterwards.</p>",
		time.Sunday, 2, 11 * time.Hour, 2 * time.Hour, 8, "",
		[]Ticket{{Name: "Taster place", Price: 1500}}},
	{"workshops", "jam-and-chutney-afternoon", "Jam and chutney afternoon",
		"Make three jars to take home: bramble jelly, plum jam and green tomato chutney.", "The bakehouse", bakehouseAddr,
		"<p>A small group in the bakehouse kitchen, making three preserves with the season's fruit. Only a few places.</p>",
		time.Saturday, 3, 14 * time.Hour, 3 * time.Hour, 3, "",
		[]Ticket{{Name: "Place", Price: 1200, Description: "Jars and fruit included."}}},
	{"workshops", "seed-saving-talk", "Seed saving talk",
		"How to save seed from your own tomatoes, beans and squash, and keep it true.", "The meeting room, upstairs", meetingRoomAddr,
		"<p>Sam from Hollow Lane Farm explains which crops are easy to save seed from, how to keep varieties true and how to store seed for years.</p>",
		time.Tuesday, 1, 19 * time.Hour, time.Hour, 12, "", free},
	{"workshops", "composting-basics", "Composting basics",
		"Turn kitchen scraps into the garden's best feed: a practical morning.", "Community garden", gardenAddress,
		"<p>Bays, bins and wormeries: a practical morning in the community garden. Wear boots.</p>",
		time.Sunday, 3, 10 * time.Hour, 2 * time.Hour, 20, "",
		[]Ticket{{Name: "Free place"}, {Name: "Supporter", Price: 500, Description: "Pay what helps: it buys the garden's tools."}}},
}

// AdminCart is what the demo admin's cart holds: variants of the demo
// products, by SKU, at their catalogue prices and under their catalogue
// titles (Title, what the basket page shows).
var AdminCart = []struct {
	SKU, Title string
	Quantity   int
}{
	{"BH-SDL-800", "Sourdough loaf (800 g)", 1},   // £4.50
	{"BC-WFH-340", "Wildflower honey (340 g)", 2}, // £6.50
}

// formerAdminCart are the product references of the admin's cart before
// the demo had a catalogue; seeding removes their lines.
var formerAdminCart = []string{"demo-sourdough-loaf", "demo-wildflower-honey-340g"}

// Seed inserts the demo records that are missing, in one transaction. The
// demo images (the posts' feature images, the markets' and products'
// pictures) are put into store (named by their content, so seeding again
// writes nothing new) and given to the demo posts, markets and products
// that have none, those seeded before included; with a nil store they get
// no images.
func Seed(ctx context.Context, db *pgxpool.Pool, store media.Store) error {
	featured, err := storeImages(ctx, store)
	if err != nil {
		return err
	}
	pictures, err := storeMarketImages(ctx, store)
	if err != nil {
		return err
	}
	return postgres.InTx(ctx, db, func(tx pgx.Tx) error {
		for _, u := range Users {
			if err := identity.EnsureUser(ctx, tx, identity.NewUser{Email: u.Email, Username: u.Username,
				DisplayName: u.DisplayName, Admin: u.Admin}); err != nil {
				return fmt.Errorf("demo: seed user %s: %w", u.Email, err)
			}
		}
		if err := navigation.AddMissingNav(ctx, tx, Nav); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if err := seedEvents(ctx, tx, calendars.New(db)); err != nil {
			return err
		}
		if err := seedPosts(ctx, tx, posts.New(db), featured); err != nil {
			return err
		}
		if err := seedMarket(ctx, tx, products.New(db), pictures); err != nil {
			return err
		}
		if err := seedAdminCart(ctx, tx); err != nil {
			return err
		}
		if err := seedNewsletters(ctx, tx, time.Now()); err != nil {
			return err
		}
		return seedAdminHistory(ctx, tx, time.Now())
	})
}

// seedAdminCart puts the AdminCart variants into the admin's cart (a line
// already there keeps its quantity) and drops the lines of the demo's
// former placeholder products.
func seedAdminCart(ctx context.Context, tx pgx.Tx) error {
	var items []models.CartItemInput
	for _, it := range AdminCart {
		l, err := products.CartLineBySKU(ctx, tx, it.SKU)
		if err != nil {
			return fmt.Errorf("demo: admin's cart: %w", err)
		}
		items = append(items, models.CartItemInput{ProductRef: l.VariantID.String(), Title: l.Title,
			UnitPrice: l.Price, Quantity: it.Quantity})
	}
	if err := carts.RemoveLines(ctx, tx, AdminEmail, formerAdminCart); err != nil {
		return fmt.Errorf("demo: admin's cart: %w", err)
	}
	if err := carts.AddMissingLines(ctx, tx, AdminEmail, items); err != nil {
		return fmt.Errorf("demo: seed admin's cart: %w", err)
	}
	return nil
}

// A demo event already there keeps what it has, but a one-off one that
// has ended is moved forward again (calendars.Store.AddEventIfMissing), so
// that a database seeded long ago still has upcoming events after seeding;
// the weekly one gets its dates for the year ahead.
func seedEvents(ctx context.Context, tx pgx.Tx, store *calendars.Store) error {
	for _, c := range Calendars {
		if err := calendars.AddCalendarIfMissing(ctx, tx, c); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	now := time.Now()
	for _, e := range Events {
		if err := store.AddEventIfMissing(ctx, tx, e.Entry(now)); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return seedAttendance(ctx, tx, now)
}

// Attendance makes two demo dates look lived in: neighbours have booked
// most of the new members' welcome, and all of the seed saving talk, for
// which three more wait.
var Attendance = []struct {
	Event           string
	Booked, Waiting int
}{
	{"new-members-welcome", 17, 0},
	{"seed-saving-talk", 12, 3},
}

// seedAttendance books Attendance's seats at each event's first date, by
// demo neighbours (neighbour1@example.org...), once: a date with bookings
// already is left as it is. Seats that no longer fit (an admin lowered
// the capacity) are not booked.
func seedAttendance(ctx context.Context, tx pgx.Tx, now time.Time) error {
	for _, a := range Attendance {
		var occurrence, ticketType uuid.UUID
		err := tx.QueryRow(ctx, `
SELECT o.id, t.id FROM events e
JOIN event_occurrences o ON o.event_id = e.id AND o.status = 'scheduled' AND o.starts_at > $2
JOIN ticket_types t ON t.event_id = e.id AND t.price_minor = 0
WHERE e.slug = $1
ORDER BY o.starts_at, t.position, t.id LIMIT 1`, a.Event, now).Scan(&occurrence, &ticketType)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: attendance of %s: %w", a.Event, err)
		}
		person := func(n int) bookings.Request {
			return bookings.Request{Quantity: 1, Name: fmt.Sprintf("Neighbour %d", n), Email: fmt.Sprintf("neighbour%d@example.org", n)}
		}
		var booked, waiting []bookings.Request
		for n := 1; n <= a.Booked; n++ {
			booked = append(booked, person(n))
		}
		for n := a.Booked + 1; n <= a.Booked+a.Waiting; n++ {
			waiting = append(waiting, person(n))
		}
		// In a savepoint: what no longer fits is left out whole.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return fmt.Errorf("demo: attendance of %s: %w", a.Event, err)
		}
		err = bookings.AddDemoBookingsIfNone(ctx, sp, occurrence, ticketType, booked, waiting, now)
		if models.Code(err) == models.EConflict {
			if err := sp.Rollback(ctx); err != nil {
				return fmt.Errorf("demo: attendance of %s: %w", a.Event, err)
			}
			continue
		}
		if err == nil {
			err = sp.Commit(ctx)
		}
		if err != nil {
			return fmt.Errorf("demo: attendance of %s: %w", a.Event, err)
		}
	}
	return nil
}

// Entry is e as the calendars store saves it when seeded at now: in
// London, organised by the cooperative, scheduled, bookings cancellable
// until a day before.
func (e Event) Entry(now time.Time) models.EventEntry {
	starts := e.StartsAfter(now)
	entry := models.EventEntry{CalendarSlug: e.Calendar, Slug: e.Slug, Title: e.Title, Summary: e.Summary,
		DescriptionHTML: e.Description, Location: e.Location, Address: e.Address, TimeZone: Zone,
		OrganiserName: "Rose Ash cooperative", StartsAt: starts, EndsAt: starts.Add(e.Lasts), RRule: e.RRule,
		CancelCutoffMinutes: 1440, Status: models.EventScheduled}
	if e.Capacity > 0 {
		entry.Capacity = &e.Capacity
	}
	for i, t := range e.Tickets {
		tt := models.TicketType{Name: t.Name, Description: t.Description, PriceMinor: t.Price, Currency: "GBP",
			Position: i + 1}
		if t.Seats > 0 {
			tt.Capacity = &t.Seats
		}
		entry.TicketTypes = append(entry.TicketTypes, tt)
	}
	return entry
}

// Tags are the demo tags the demo posts use.
var Tags = []models.Tag{
	{Slug: "news", Name: "News", Description: "What is new at the cooperative."},
	{Slug: "producers", Name: "Producers", Description: "The farmers, growers and makers behind the market."},
	{Slug: "events", Name: "Events", Description: "Markets, workshops and meetings, before and after."},
	{Slug: "food", Name: "Food", Description: "Cooking, baking and eating with the seasons."},
}

// Post is a demo post or page, credited to the demo admin. A published one
// is dated PublishedAgo before the moment it is first seeded; a draft
// never shows.
type Post struct {
	Type, Slug, Title, Excerpt, HTML string
	Tags                             []string // slugs of Tags, in order
	// Image is the file name of the post's feature image in images/, or "".
	Image        string
	PublishedAgo time.Duration
	Draft        bool
}

// Posts are the demo posts and pages: six published posts spread over the
// past weeks (one embeds a demo product's card), the About and Contact pages the demo navigation links to,
// and one draft.
var Posts = []Post{
	{Type: "post", Slug: "welcome-to-the-new-rose-ash", Title: "Welcome to the new Rose Ash",
		Excerpt: "Our new website brings the market, the cart, events and the members' area together in one place.",
		Tags:    []string{"news"}, Image: "welcome.jpg", PublishedAgo: 35 * day,
		HTML: `<p>Welcome to the new Rose Ash website. For the first time, everything the cooperative does lives in one place: this blog, the market with our producers' stalls, your cart and orders, the events calendar and your own account.</p>
<h2>What has changed</h2>
<ul>
<li>One sign-in for everything: we email you a link, so there is no password to remember.</li>
<li>Order from several producers in one basket and pay once.</li>
<li>Book a place at workshops and markets from the events calendar.</li>
</ul>
<p>The old site served us well for years, but it had grown into a patchwork of separate pages that did not talk to each other. Members told us they wanted one place to see what is in season, who grew it and when they can collect it.</p>
<blockquote><p>A cooperative is only as good as the way its members can reach each other.</p></blockquote>
<p>If something does not work the way you expect, tell us at the next members' meeting or through the contact page. We are still building, and your suggestions shape what comes next.</p>
<p>Would you rather hear from us by email? Subscribe to the cooperative's news:</p>
<p>[[widget:newsletter:news]]</p>`},
	{Type: "post", Slug: "meet-the-growers-at-hollow-lane-farm", Title: "Meet the growers at Hollow Lane Farm",
		Excerpt: "Sam and Priya grow forty kinds of vegetables on six acres, without a single spray. We spent a morning with them.",
		Tags:    []string{"producers", "food"}, Image: "farm.jpg", PublishedAgo: 26 * day,
		HTML: `<p>Hollow Lane Farm sits at the end of a track that turns to mud every October. Sam and Priya took on its six acres eight years ago, and today they grow more than forty kinds of vegetables for the cooperative and a small box scheme.</p>
<h2>No sprays, lots of hedges</h2>
<p>They have never used a pesticide. Instead they rely on long rotations, green manures and the hedgerows they have planted every winter since they arrived: more than a kilometre so far. "The hedges do half the work," Priya says. "The birds and beetles do the rest."</p>
<h2>What to look out for this season</h2>
<ul>
<li>Squash: Crown Prince and Uchiki Kuri, stored through to March</li>
<li>Kale, chard and leeks, picked the morning of the market</li>
<li>Their first crop of celeriac, which Sam swears is the best yet</li>
</ul>
<blockquote><p>We would rather sell a hundred boxes to neighbours than a lorry-load to a supermarket.</p></blockquote>
<p>You will find Hollow Lane's stall in the market, and Sam is usually at the Saturday breakfast if you want to ask him anything about growing.</p>`},
	{Type: "post", Slug: "why-we-pay-producers-within-seven-days", Title: "Why we pay producers within seven days",
		Excerpt: "Small farms cannot wait sixty days to be paid. Here is how the cooperative pays within a week, and what it costs.",
		Tags:    []string{"producers", "news"}, Image: "producers.jpg", PublishedAgo: 19 * day,
		HTML: `<p>Large retailers commonly pay their suppliers sixty or ninety days after delivery. For a small farm or bakery, that gap is the difference between buying seed on time and borrowing to do it. From the start, Rose Ash has promised to pay every producer within seven days of a sale.</p>
<h2>How it works</h2>
<p>When you pay for an order, the money is held by the cooperative until the producer has delivered. Every Friday we settle every delivery made that week, so nobody waits longer than seven days.</p>
<h2>What it costs</h2>
<p>Paying quickly means the cooperative keeps a reserve of about three weeks' sales. Members' shares fund that reserve; it is the single most important thing your membership pays for.</p>
<blockquote><p>Being paid within the week means I can say yes to a bigger order without lying awake about it.</p></blockquote>
<p>The full figures are in the annual accounts, which members can read in their account area or ask about at the monthly meeting.</p>`},
	{Type: "post", Slug: "bread-making-workshop-what-we-learned", Title: "Bread-making workshop: what we learned",
		Excerpt: "Twelve members, three starters and a great deal of flour: notes from our first bread-making morning.",
		Tags:    []string{"events", "food"}, Image: "bread.jpg", PublishedAgo: 11 * day,
		HTML: `<p>Twelve of us gathered in the bakehouse on Saturday for our first bread-making workshop, led by the bakers who supply the market's sourdough. Here is what we took home, besides a loaf each.</p>
<h2>Start with the starter</h2>
<p>A lively starter matters more than any recipe. Feed it twice a day for a few days before you bake, and use it when it has doubled and smells sweet rather than sharp.</p>
<h2>Three things to remember</h2>
<ul>
<li>Weigh everything, water included: cups are the enemy of a consistent loaf.</li>
<li>Wetter dough is harder to handle but gives an open, airy crumb.</li>
<li>Bake longer than feels right. A dark crust is flavour, not a mistake.</li>
</ul>
<blockquote><p>You are not making bread. You are looking after the yeast, and the yeast makes the bread.</p></blockquote>
<p>The next workshop is already on the events calendar, and the bakers have promised a session on rye. Places are limited, so book early.</p>`},
	{Type: "post", Slug: "our-winter-market-schedule", Title: "Our winter market schedule",
		Excerpt: "From December to February the market moves indoors and opens on Saturday mornings only. Here are the dates.",
		Tags:    []string{"events", "news"}, Image: "winter-market.jpg", PublishedAgo: 4 * day,
		HTML: `<p>As the days shorten, the market moves into the hall for the winter. From the first Saturday of December until the end of February we will open on Saturday mornings only, from nine until one.</p>
<h2>What changes</h2>
<ul>
<li>No Wednesday evening market until March.</li>
<li>Online orders placed by Thursday midnight can be collected on Saturday.</li>
<li>The Christmas market runs late, until four, on the Saturday before Christmas.</li>
</ul>
<h2>What stays the same</h2>
<p>Most of our producers will be there every week: vegetables from Hollow Lane, bread from the bakehouse, eggs, cheese and honey. A few stalls take a well-earned break in January; their pages in the market say when they will be back.</p>
<p>Every date is on the events calendar, where you can also add it to your own calendar. See you in the hall.</p>`},
	{Type: "post", Slug: "a-season-with-the-bees-at-bramble-and-comb", Title: "A season with the bees at Bramble & Comb",
		Excerpt: "Jess Rowan's forty hives give the market its honey, candles and jellies. Here is her year, and the jar to start with.",
		Tags:    []string{"producers", "food"}, Image: "bees.jpg", PublishedAgo: 2 * day,
		HTML: `<p>Jess Rowan keeps forty hives on the edge of Ashby Moor. In spring they work the blossom in the valley; in July the lime trees along Church Walk; in August she drives them up to the heather, two hives at a time, before dawn.</p>
<h2>Nothing heated, nothing blended</h2>
<p>Every batch is extracted cold and jarred by the apiary it came from, so each jar tastes of one place and one month. The wax from the cappings becomes her candles and food wraps.</p>
<p>If you have never tried raw honey, start with the summer wildflower:</p>
<p>[[widget:product-card:` + CardProduct + `]]</p>
<p>You will find the rest of her honey, her bramble jelly and the beeswax candles on the Bramble &amp; Comb stall in the market.</p>`},
	{Type: "page", Slug: "about", Title: "About Rose Ash",
		Excerpt: "Rose Ash is a cooperative of local food producers and the people who buy from them.",
		HTML: `<p>Rose Ash is a cooperative of local food producers and the people who buy from them. Growers, bakers and makers from within twenty miles sell through our market; members own the cooperative and decide together how it is run.</p>
<h2>What we believe</h2>
<ul>
<li>Producers are paid fairly, and paid within seven days.</li>
<li>Food is sold as close as possible to where it is grown.</li>
<li>Every member has one vote, whatever they spend.</li>
</ul>
<p>Anyone can shop at the market. Becoming a member costs a one-off share of ten pounds, gives you a vote at the members' meeting and helps fund the reserve that lets us pay producers quickly.</p>`},
	{Type: "page", Slug: "contact", Title: "Contact us",
		Excerpt: "How to reach the cooperative: email, the market hall, and the monthly members' meeting.",
		HTML: `<p>We are a small team of volunteers and two part-time staff, so the quickest answers come by email.</p>
<h2>Get in touch</h2>
<ul>
<li>Email: hello@rose-ash.com, answered within two working days</li>
<li>In person: at the information table in the market hall on Saturday mornings</li>
<li>Members' meeting: the last Thursday of every month, upstairs in the meeting room</li>
</ul>
<p>If you are a producer interested in selling through the market, tell us what you grow or make and where, and we will arrange a visit.</p>`},
	{Type: "post", Slug: "spring-planting-plans", Title: "Spring planting plans (draft)",
		Excerpt: "Notes for next year's planting, not ready to publish.",
		Tags:    []string{"producers"}, Draft: true,
		HTML: `<p>Still gathering notes from the growers. Do not publish yet.</p>`},
}

// A post already there, however an admin has since changed it, is left as
// it is, tags included: only a newly added post gets its demo tags. A demo
// post without a feature image gets its demo image; one an admin has
// given another image keeps it.
func seedPosts(ctx context.Context, tx pgx.Tx, store *posts.Store, featured map[string]string) error {
	for _, t := range Tags {
		if err := posts.AddTagIfMissing(ctx, tx, t); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	for _, p := range Posts {
		status := models.PostStatusPublished
		if p.Draft {
			status = models.PostStatusDraft
		}
		if _, err := store.AddPostIfMissing(ctx, tx, posts.NewPost{Type: p.Type, Slug: p.Slug, Title: p.Title,
			Excerpt: p.Excerpt, HTML: p.HTML, Status: status, PublishedAgo: p.PublishedAgo,
			AuthorEmail: AdminEmail, TagSlugs: p.Tags}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if img := featured[p.Image]; img != "" {
			if err := store.SetFeatureImageIfNone(ctx, tx, p.Slug, img); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
	}
	return nil
}

// storeImages puts the demo images into store and returns their addresses
// (media.URL) by file name; none with a nil store.
func storeImages(ctx context.Context, store media.Store) (map[string]string, error) {
	out := map[string]string{}
	if store == nil {
		return out, nil
	}
	for _, p := range Posts {
		if p.Image == "" || out[p.Image] != "" {
			continue
		}
		data, err := images.ReadFile("images/" + p.Image)
		if err != nil {
			return nil, fmt.Errorf("demo: image %s: %w", p.Image, err)
		}
		name, err := media.Save(ctx, store, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("demo: store image %s: %w", p.Image, err)
		}
		out[p.Image] = media.URL(name)
	}
	return out, nil
}
