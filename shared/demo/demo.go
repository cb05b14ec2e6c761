// Package demo seeds a development database with a few realistic records so
// that every page has something to show. Seeding is idempotent: running it
// again adds nothing that is already there.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
)

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
// Its natural key is (parent, URL).
var Nav = []models.NavItem{
	{Label: "Home", URL: "/", Position: 10},
	{Label: "About", URL: "/about", Position: 20, Children: []models.NavItem{
		{Label: "Rose Ash cooperative", URL: "https://rose-ash.com", Position: 10},
	}},
	{Label: "News", URL: "/news", Position: 30},
	{Label: "Contact", URL: "/contact", Position: 40},
}

// Calendar is the demo calendar that Events belong to.
var Calendar = struct{ Slug, Title, Description string }{
	"community", "Community",
	"Gatherings, workshops and meetings of the cooperative and its neighbours.",
}

// Event is an event of Calendar, scheduled relative to the day it is
// seeded on: it starts StartsIn after midnight UTC of that day.
type Event struct {
	Slug, Title, Summary, Location string
	StartsIn, Lasts                time.Duration
}

const day = 24 * time.Hour

// Events are the demo events, spread over the weeks after seeding.
var Events = []Event{
	{"saturday-market-breakfast", "Saturday market breakfast",
		"Coffee, sourdough and a first look at the week's stalls.",
		"The market hall", 3*day + 9*time.Hour, 2 * time.Hour},
	{"seed-and-plant-swap", "Seed and plant swap",
		"Bring seeds, cuttings and seedlings to share, and take home something new.",
		"Community garden", 10*day + 14*time.Hour, 2 * time.Hour},
	{"bread-making-workshop", "Bread-making workshop",
		"A hands-on morning with our bakers: starters, shaping and baking. Aprons and flour provided.",
		"The bakehouse", 17*day + 10*time.Hour, 3 * time.Hour},
	{"members-meeting", "Members' meeting",
		"The cooperative's monthly meeting: accounts, plans and questions from members.",
		"The meeting room, upstairs", 24*day + 19*time.Hour, 90 * time.Minute},
}

// AdminCart is what the demo admin's cart holds.
var AdminCart = []models.CartItemInput{
	{ProductRef: "demo-sourdough-loaf", Title: "Sourdough loaf",
		UnitPrice: models.Money{Minor: 450, Currency: "GBP"}, Quantity: 1},
	{ProductRef: "demo-wildflower-honey-340g", Title: "Wildflower honey 340g",
		UnitPrice: models.Money{Minor: 650, Currency: "GBP"}, Quantity: 2},
}

const insertUser = `
INSERT INTO users (email, username, display_name, is_admin)
VALUES ($1, $2, $3, $4)
ON CONFLICT ((lower(email))) DO UPDATE SET username = coalesce(users.username, EXCLUDED.username)`

// Seed inserts the demo records that are missing, in one transaction.
func Seed(ctx context.Context, db *pgxpool.Pool) error {
	return postgres.InTx(ctx, db, func(tx pgx.Tx) error {
		for _, u := range Users {
			if _, err := tx.Exec(ctx, insertUser, u.Email, u.Username, u.DisplayName, u.Admin); err != nil {
				return fmt.Errorf("demo: seed user %s: %w", u.Email, err)
			}
		}
		if err := seedNav(ctx, tx, Nav, uuid.NullUUID{}); err != nil {
			return err
		}
		if err := seedEvents(ctx, tx); err != nil {
			return err
		}
		return seedAdminCart(ctx, tx)
	})
}

// An item already there (an admin may have renamed or moved it) is left as
// it is.
const insertNavItem = `
INSERT INTO nav_items (label, url, position, parent_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (parent_id, url) DO NOTHING`

const navItemID = `SELECT id FROM nav_items WHERE parent_id IS NOT DISTINCT FROM $1 AND url = $2`

func seedNav(ctx context.Context, tx pgx.Tx, items []models.NavItem, parent uuid.NullUUID) error {
	for _, it := range items {
		if err := models.ValidateNavItem(it); err != nil {
			return fmt.Errorf("demo: nav item %s: %w", it.URL, err)
		}
		if _, err := tx.Exec(ctx, insertNavItem, it.Label, it.URL, it.Position, parent); err != nil {
			return fmt.Errorf("demo: seed nav item %s: %w", it.URL, err)
		}
		var id uuid.UUID
		if err := tx.QueryRow(ctx, navItemID, parent, it.URL).Scan(&id); err != nil {
			return fmt.Errorf("demo: look up nav item %s: %w", it.URL, err)
		}
		if err := seedNav(ctx, tx, it.Children, uuid.NullUUID{UUID: id, Valid: true}); err != nil {
			return err
		}
	}
	return nil
}

const insertCalendar = `
INSERT INTO calendars (slug, title, description) VALUES ($1, $2, $3)
ON CONFLICT (slug) DO NOTHING`

// A demo event that has already ended is moved forward again, so that a
// database seeded long ago still has upcoming events after seeding; one
// still to come is left as it is.
const upsertEvent = `
INSERT INTO events (calendar_id, slug, title, summary, location, starts_at, ends_at)
SELECT c.id, $2, $3, $4, $5,
       date_trunc('day', now(), 'UTC') + $6::interval,
       date_trunc('day', now(), 'UTC') + $6::interval + $7::interval
FROM calendars c WHERE c.slug = $1
ON CONFLICT (calendar_id, slug) DO UPDATE
SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = now()
WHERE events.ends_at <= now()`

func seedEvents(ctx context.Context, tx pgx.Tx) error {
	if err := models.ValidateEventSlug(Calendar.Slug); err != nil {
		return fmt.Errorf("demo: calendar %s: %w", Calendar.Slug, err)
	}
	if _, err := tx.Exec(ctx, insertCalendar, Calendar.Slug, Calendar.Title, Calendar.Description); err != nil {
		return fmt.Errorf("demo: seed calendar %s: %w", Calendar.Slug, err)
	}
	for _, e := range Events {
		starts := time.Now().Add(e.StartsIn)
		if err := models.ValidateEvent(models.Event{Slug: e.Slug, Title: e.Title, Summary: e.Summary,
			Location: e.Location, StartsAt: starts, EndsAt: starts.Add(e.Lasts)}); err != nil {
			return fmt.Errorf("demo: event %s: %w", e.Slug, err)
		}
		if _, err := tx.Exec(ctx, upsertEvent, Calendar.Slug, e.Slug, e.Title, e.Summary, e.Location,
			e.StartsIn, e.Lasts); err != nil {
			return fmt.Errorf("demo: seed event %s: %w", e.Slug, err)
		}
	}
	return nil
}

const insertAdminCart = `
INSERT INTO carts (user_id) SELECT id FROM users WHERE lower(email) = lower($1)
ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO NOTHING`

// A line already there keeps its quantity: seeding again adds nothing.
const insertAdminCartItem = `
INSERT INTO cart_items (cart_id, product_ref, title, unit_price_minor, currency, quantity)
SELECT c.id, $2, $3, $4, $5, $6
FROM carts c JOIN users u ON u.id = c.user_id
WHERE lower(u.email) = lower($1)
ON CONFLICT (cart_id, product_ref) DO NOTHING`

func seedAdminCart(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, insertAdminCart, AdminEmail); err != nil {
		return fmt.Errorf("demo: seed admin's cart: %w", err)
	}
	for _, it := range AdminCart {
		if err := models.ValidateCartItem(it); err != nil {
			return fmt.Errorf("demo: cart item %s: %w", it.ProductRef, err)
		}
		if _, err := tx.Exec(ctx, insertAdminCartItem, AdminEmail, it.ProductRef, it.Title,
			it.UnitPrice.Minor, it.UnitPrice.Currency, it.Quantity); err != nil {
			return fmt.Errorf("demo: seed cart item %s: %w", it.ProductRef, err)
		}
	}
	return nil
}
