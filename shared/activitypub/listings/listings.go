// Package listings publishes the market's products on the fediverse as
// posts of the market's actor (@market): Notes that show the product's
// name, price, availability, short description, link and first image, as
// the blog's posts are Notes (package articles, and docs/DECISIONS.md
// "Blog posts on the fediverse"). Sync compares a product with what was
// last sent about it and emits Create, Update or Delete in the caller's
// transaction, so a product and its announcement are saved together or not
// at all.
package listings

import (
	"context"
	"errors"
	"html"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/models"
)

// Publisher emits the market's products.
type Publisher struct {
	// MarketURL is the market's public base URL.
	MarketURL string
	// Jobs queues the deliveries.
	Jobs *river.Client[pgx.Tx]
}

// Actor is the market's actor id (acct:market@<market host>).
func (p *Publisher) Actor() string { return activitypub.ServiceActorID(p.MarketURL, "market") }

// ObjectID is the Note id of a product: stable when its slug changes, and
// served by the market's ActivityPub routes (/users/market/products/<id>).
func (p *Publisher) ObjectID(productID uuid.UUID) string {
	return p.Actor() + "/products/" + productID.String()
}

// product is what followers are told of a product.
type product struct {
	ID                  uuid.UUID
	Slug, Name, Summary string
	Currency, Status    string
	MarketName          string
	PublishedAt         *time.Time
	UpdatedAt           time.Time
	Variants            []models.Variant
	Image, ImageAlt     string
}

// Sync brings the fediverse up to date with product id, inside tx: a
// published product is sent as Create the first time and as Update when
// what followers see of it (name, price, availability, summary, image,
// link) changed since last sent; a product shoppers can no longer see
// (unpublished, deleted) is sent as Delete, if it had been sent.
func (p *Publisher) Sync(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	objectID := p.ObjectID(id)
	// The product's row lock (taken by load) serializes Syncs of one product.
	pr, err := load(ctx, tx, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var lastType string
	var last map[string]any
	err = tx.QueryRow(ctx, `SELECT type, payload FROM ap_activities WHERE object_uri = $1 AND type IN ('Create', 'Update', 'Delete')
		ORDER BY created_at DESC, id DESC LIMIT 1`, objectID).Scan(&lastType, &last)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	sent := lastType == "Create" || lastType == "Update"
	visible := pr.ID != uuid.Nil && pr.Status == models.ProductPublished && pr.PublishedAt != nil && len(pr.Variants) > 0

	actor := p.Actor()
	to, cc := []any{activitypub.Public}, []any{activitypub.FollowersID(actor)}
	switch {
	case !visible && sent:
		return p.emit(ctx, tx, "Delete", objectID, map[string]any{
			"@context": activitypub.ContextURL, "type": "Delete", "actor": actor, "to": to, "cc": cc,
			"object": map[string]any{"id": objectID, "type": "Tombstone", "formerType": "Note"},
		})
	case !visible:
		return nil
	}
	obj := p.note(pr)
	if !sent {
		return p.emit(ctx, tx, "Create", objectID, map[string]any{
			"@context": []any{activitypub.ContextURL, map[string]any{"sensitive": "as:sensitive"}},
			"type":     "Create", "actor": actor, "published": obj["published"], "to": to, "cc": cc, "object": obj,
		})
	}
	if prev, ok := last["object"].(map[string]any); ok && activitypub.SameObject(prev, obj) {
		return nil
	}
	obj["updated"] = pr.UpdatedAt.UTC().Format(time.RFC3339)
	return p.emit(ctx, tx, "Update", objectID, map[string]any{
		"@context": []any{activitypub.ContextURL, map[string]any{"sensitive": "as:sensitive"}},
		"type":     "Update", "actor": actor, "to": to, "cc": cc, "object": obj,
	})
}

func (p *Publisher) emit(ctx context.Context, tx pgx.Tx, typ, objectID string, payload map[string]any) error {
	return delivery.EmitPublic(ctx, tx, p.Jobs, p.Actor(), typ, objectID, payload)
}

// load reads a product for its announcement, locking its row. Reads only:
// the products store owns the tables.
func load(ctx context.Context, tx pgx.Tx, id uuid.UUID) (product, error) {
	var pr product
	err := tx.QueryRow(ctx, `SELECT p.id, p.slug, p.name, p.summary, p.currency, p.status, m.name, p.published_at, p.updated_at
		FROM products p JOIN markets m ON m.id = p.market_id WHERE p.id = $1 FOR UPDATE OF p`, id).Scan(
		&pr.ID, &pr.Slug, &pr.Name, &pr.Summary, &pr.Currency, &pr.Status, &pr.MarketName, &pr.PublishedAt, &pr.UpdatedAt)
	if err != nil {
		return product{}, err
	}
	rows, err := tx.Query(ctx, `SELECT id, product_id, name, coalesce(sku, ''), price_minor, track_stock, stock, allow_backorder, position
		FROM product_variants WHERE product_id = $1 ORDER BY position, price_minor, id`, id)
	if err != nil {
		return product{}, err
	}
	pr.Variants, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (models.Variant, error) {
		var v models.Variant
		return v, r.Scan(&v.ID, &v.ProductID, &v.Name, &v.SKU, &v.Price, &v.TrackStock, &v.Stock, &v.AllowBackorder, &v.Position)
	})
	if err != nil {
		return product{}, err
	}
	err = tx.QueryRow(ctx, `SELECT url, alt FROM product_images WHERE product_id = $1 ORDER BY position, id LIMIT 1`, id).
		Scan(&pr.Image, &pr.ImageAlt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return product{}, err
	}
	return pr, nil
}

// PriceText is a product's price as followers read it: "£7.25", or
// "from £3.50" when its variants' prices differ.
func PriceText(currency string, variants []models.Variant) string {
	if len(variants) == 0 {
		return ""
	}
	lo, hi := variants[0].Price, variants[0].Price
	for _, v := range variants[1:] {
		lo, hi = min(lo, v.Price), max(hi, v.Price)
	}
	price := models.Money{Minor: lo, Currency: currency}.String()
	if hi != lo {
		return "from " + price
	}
	return price
}

// Availability is a product's availability in words: "In stock", "Few
// left", "Available to order" or "Sold out". It is coarse on purpose: an
// exact count ("Only 3 left") would send followers an Update at every sale.
func Availability(variants []models.Variant) string {
	in, low, backorder := false, false, false
	for _, v := range variants {
		switch v.StockState() {
		case models.StockIn:
			in = true
		case models.StockLow:
			low = true
		case models.StockBackorder:
			backorder = true
		}
	}
	switch {
	case in:
		return "In stock"
	case low:
		return "Few left"
	case backorder:
		return "Available to order"
	}
	return "Sold out"
}

// note is the product as followers' servers are sent it: a Note whose text
// is the name, the price and availability, the short description and the
// link, with the first image attached; no summary or name, which
// GoToSocial would show as a content warning.
func (p *Publisher) note(pr product) map[string]any {
	base := strings.TrimRight(p.MarketURL, "/")
	link := base + "/products/" + pr.Slug
	var b strings.Builder
	b.WriteString("<p><strong>" + html.EscapeString(pr.Name) + "</strong></p>")
	b.WriteString("<p>" + html.EscapeString(PriceText(pr.Currency, pr.Variants)) + " · " +
		html.EscapeString(Availability(pr.Variants)) + " · " + html.EscapeString(pr.MarketName) + "</p>")
	if s := strings.TrimSpace(pr.Summary); s != "" {
		b.WriteString("<p>" + html.EscapeString(s) + "</p>")
	}
	b.WriteString(`<p><a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></p>`)
	obj := map[string]any{
		"id":           p.ObjectID(pr.ID),
		"type":         "Note",
		"attributedTo": p.Actor(),
		"content":      b.String(),
		"mediaType":    "text/html",
		"url":          link,
		"published":    pr.PublishedAt.UTC().Format(time.RFC3339),
		"to":           []any{activitypub.Public},
		"cc":           []any{activitypub.FollowersID(p.Actor())},
		"sensitive":    false,
	}
	if img := activitypub.AbsoluteURL(base, pr.Image); img != "" {
		alt := pr.ImageAlt
		if alt == "" {
			alt = pr.Name
		}
		obj["image"] = map[string]any{"type": "Image", "url": img, "mediaType": activitypub.ImageMediaType(img)}
		obj["attachment"] = []any{map[string]any{"type": "Image", "url": img, "mediaType": activitypub.ImageMediaType(img), "name": alt}}
	}
	return obj
}

// SyncDue announces up to limit published products never announced (the
// newest first): those written without the store's OnChange hook, such as
// the demo's. It returns how many it announced.
func (p *Publisher) SyncDue(ctx context.Context, db *pgxpool.Pool, limit int) (int, error) {
	rows, err := db.Query(ctx, `
		SELECT p.id FROM products p
		WHERE p.status = 'published' AND EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id)
		  AND NOT EXISTS (SELECT 1 FROM ap_activities a WHERE a.object_uri = $1 || p.id::text)
		ORDER BY p.published_at DESC, p.id DESC LIMIT $2`, p.Actor()+"/products/", limit)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return p.Sync(ctx, tx, id) }); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
