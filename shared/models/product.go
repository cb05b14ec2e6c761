package models

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Market is a producer, stall or supplier the cooperative sells for.
type Market struct {
	ID          uuid.UUID
	Slug        string
	Name        string
	Summary     string // a line for listings
	Description string // sanitized HTML
	Location    string
	Image       string // a media URL, or ""
	// DeliveryFee is what delivering an order from it costs, in minor
	// units of GBP (0: free); PickupPlaces are where shoppers may collect
	// (none: no pickup).
	DeliveryFee  int64
	PickupPlaces []string
	// ProductCount counts its published products (listings only).
	ProductCount int
	Version      int
	UpdatedAt    time.Time
}

// Category is a node of the product category tree.
type Category struct {
	ID       uuid.UUID
	ParentID uuid.NullUUID
	Slug     string
	Name     string
	Position int
	// Children are filled by CategoryTree.
	Children []Category
}

// Product statuses.
const (
	ProductDraft     = "draft"
	ProductPublished = "published"
)

// Product is an item a market sells, with its variants and images.
type Product struct {
	ID           uuid.UUID
	MarketID     uuid.UUID
	MarketSlug   string
	MarketName   string
	CategoryID   uuid.NullUUID
	CategorySlug string
	CategoryName string
	Slug         string
	Name         string
	Summary      string
	Description  string // sanitized HTML
	Currency     string
	// VATRateBP is the VAT rate in basis points (2000 is 20%); prices
	// include it.
	VATRateBP   int
	Status      string
	Featured    bool
	PublishedAt *time.Time
	UpdatedAt   time.Time
	Version     int
	// MinPrice is the lowest variant price; InStock says whether any
	// variant is in stock (a backorder is not).
	MinPrice int64
	InStock  bool
	// Buyable says whether any variant can be added to a cart now (in
	// stock, not tracked, or backorderable): a card knows it without
	// its variants.
	Buyable bool
	// PriceVaries says the variants' prices differ: a card says "from
	// £x".
	PriceVaries bool
	Variants    []Variant
	Images      []ProductImage
}

// Price returns the product's lowest price as Money.
func (p Product) Price() Money { return Money{Minor: p.MinPrice, Currency: p.Currency} }

// Image returns the first image's URL, or "".
func (p Product) Image() string {
	if len(p.Images) == 0 {
		return ""
	}
	return p.Images[0].URL
}

// VATRate formats the VAT rate for people: "20%", "5.5%", "0%".
func (p Product) VATRate() string { return FormatBasisPoints(p.VATRateBP) }

// FormatBasisPoints formats basis points as a percentage: 2000 is "20%",
// 550 "5.5%", 1225 "12.25%".
func FormatBasisPoints(bp int) string {
	whole, frac := bp/100, bp%100
	switch {
	case frac == 0:
		return fmt.Sprintf("%d%%", whole)
	case frac%10 == 0:
		return fmt.Sprintf("%d.%d%%", whole, frac/10)
	default:
		return fmt.Sprintf("%d.%02d%%", whole, frac)
	}
}

// Stock states of a variant, as shoppers see them.
const (
	StockIn        = "in_stock"
	StockLow       = "low_stock"
	StockSoldOut   = "sold_out"
	StockBackorder = "backorder"
)

// LowStock is the stock at or under which a page says "Only N left".
const LowStock = 5

// Variant is one buyable form of a product (a size, a weight, a colour),
// with its own price, SKU and stock.
type Variant struct {
	ID             uuid.UUID
	ProductID      uuid.UUID
	Name           string
	SKU            string
	Price          int64 // minor units of the product's currency
	TrackStock     bool
	Stock          int
	AllowBackorder bool
	Position       int
}

// StockState is the variant's state for shoppers: StockIn, StockLow,
// StockSoldOut or StockBackorder.
func (v Variant) StockState() string {
	switch {
	case !v.TrackStock:
		return StockIn
	case v.Stock <= 0 && v.AllowBackorder:
		return StockBackorder
	case v.Stock <= 0:
		return StockSoldOut
	case v.Stock <= LowStock:
		return StockLow
	default:
		return StockIn
	}
}

// StockText is the variant's stock state in words: "In stock", "Only 3
// left", "Sold out", "Available to order".
func (v Variant) StockText() string {
	switch v.StockState() {
	case StockLow:
		return fmt.Sprintf("Only %d left", v.Stock)
	case StockSoldOut:
		return "Sold out"
	case StockBackorder:
		return "Available to order"
	default:
		return "In stock"
	}
}

// Buyable says whether the variant can be added to a cart now.
func (v Variant) Buyable() bool { return v.StockState() != StockSoldOut }

// SchemaAvailability is the variant's schema.org availability URL.
func (v Variant) SchemaAvailability() string {
	switch v.StockState() {
	case StockSoldOut:
		return "https://schema.org/OutOfStock"
	case StockBackorder:
		return "https://schema.org/BackOrder"
	case StockLow:
		return "https://schema.org/LimitedAvailability"
	default:
		return "https://schema.org/InStock"
	}
}

// ProductImage is one image of a product's gallery.
type ProductImage struct {
	URL string
	Alt string
}
