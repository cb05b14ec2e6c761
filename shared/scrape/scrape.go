// Package scrape imports products from supplier web pages: it fetches a
// page politely (robots.txt, one request per host at a time, a delay,
// Retry-After) through the SSRF-safe client, reads the product data the
// page carries (schema.org JSON-LD, microdata, RDFa lite, OpenGraph, or
// CSS selectors an admin set for the source) and hands each product to a
// Sink, which the products domain implements as its review queue.
//
// Money is int64 minor units of its currency, parsed from the page's
// decimal text without floating point.
package scrape

import (
	"errors"
	"fmt"
)

// Extraction methods, in the order they are tried (Product.Source,
// Block.Method).
const (
	MethodJSONLD    = "json-ld"
	MethodMicrodata = "microdata"
	MethodRDFa      = "rdfa"
	MethodOpenGraph = "opengraph"
	MethodSelectors = "selectors"
)

// Availability values of Variant.Availability; "" when the page does not say.
const (
	InStock    = "in_stock"
	OutOfStock = "out_of_stock"
	Backorder  = "backorder"
	Preorder   = "preorder"
)

// MaxPageBytes is the largest page read or extracted: 16 MiB.
const MaxPageBytes = 16 << 20

// Page is what one fetched page gave: its products (or, for a listing, the
// product pages it links to), the raw structured data they came from, and
// the disagreements between them.
type Page struct {
	// URL is the page's address after redirects.
	URL string `json:"url"`
	// Products are the products read by the first method that found any.
	Products []Product `json:"products,omitempty"`
	// ProductURLs are the product pages a listing (a JSON-LD ItemList or a
	// sitemap) links to, absolute; empty on a product page.
	ProductURLs []string `json:"product_urls,omitempty"`
	// Sitemaps are the sitemaps a sitemap index lists.
	Sitemaps []string `json:"sitemaps,omitempty"`
	// Blocks are the raw structured data found on the page, every method's,
	// so that an admin can see where a price came from (Product.Block).
	Blocks []Block `json:"blocks,omitempty"`
	// Conflicts describe product blocks that describe the same product but
	// disagree (a theme and an app both emitting one, with different
	// prices). They are flagged for a person, not resolved.
	Conflicts []string `json:"conflicts,omitempty"`
	// NotModified is set when a conditional GET was answered 304; the page
	// then has no products.
	NotModified bool `json:"not_modified,omitempty"`
	// ETag and LastModified are the page's validators, for the next
	// conditional GET.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Block is one piece of structured data as it stood on the page.
type Block struct {
	// Method is how it was read (MethodJSONLD...).
	Method string `json:"method"`
	// Raw is the block's text: the JSON-LD script, or the name=value
	// properties of a microdata, RDFa or OpenGraph product, one a line.
	Raw string `json:"raw"`
	// Error says why the block gave no product (invalid JSON, a price that
	// cannot be read); "" when it was read.
	Error string `json:"error,omitempty"`
}

// Product is one product read from a page.
type Product struct {
	// Name is the product's name as the page gives it (required).
	Name string `json:"name"`
	// Description is plain text, HTML stripped.
	Description string `json:"description,omitempty"`
	// SKU is the supplier's stock-keeping unit; GTIN a barcode number
	// (gtin, gtin13, gtin12, gtin14 or gtin8).
	SKU  string `json:"sku,omitempty"`
	GTIN string `json:"gtin,omitempty"`
	// Brand is the brand's (or manufacturer's) name.
	Brand string `json:"brand,omitempty"`
	// URL is the product's canonical address, absolute.
	URL string `json:"url,omitempty"`
	// Images are absolute URLs, resolved against the page's.
	Images []string `json:"images,omitempty"`
	// Variants are the product's offers (a ProductGroup's variants, or a
	// product's several offers); empty when the page shows no price.
	Variants []Variant `json:"variants,omitempty"`
	// Source is the method that read it (MethodJSONLD...).
	Source string `json:"source"`
	// Block indexes Page.Blocks: the raw data the product came from.
	Block int `json:"block"`
}

// Variant is one purchasable form of a product, with its price.
type Variant struct {
	// Name and SKU tell the variant apart ("50 g", "WSM-50G"); a product's
	// single offer has its SKU and no name.
	Name string `json:"name,omitempty"`
	SKU  string `json:"sku,omitempty"`
	// PriceMinor is the price in minor units of Currency (pence, cents;
	// yen for JPY).
	PriceMinor int64 `json:"price_minor"`
	// HighPriceMinor is the top of a price range (an AggregateOffer
	// without its offers); 0 when the price is a single figure.
	HighPriceMinor int64 `json:"high_price_minor,omitempty"`
	// Currency is an ISO 4217 code, upper case; "" when the page omits it.
	Currency string `json:"currency,omitempty"`
	// Availability is InStock, OutOfStock, Backorder, Preorder or "".
	Availability string `json:"availability,omitempty"`
}

// Selectors are CSS selectors an admin sets on a source whose pages carry
// no structured product data. Empty fields are not read; Name is required
// for the selectors to be tried at all.
type Selectors struct {
	// Name selects the product's name (its text, or its content attribute).
	Name string `json:"name,omitempty"`
	// Price selects the price text ("£7.25"); Currency the currency code
	// or symbol, which may be the same element; Image the images (their
	// data-src, src, content or href); Description, Availability and SKU
	// their text.
	Price        string `json:"price,omitempty"`
	Currency     string `json:"currency,omitempty"`
	Image        string `json:"image,omitempty"`
	Description  string `json:"description,omitempty"`
	Availability string `json:"availability,omitempty"`
	SKU          string `json:"sku,omitempty"`
}

// Code classifies a scraping failure.
type Code string

// Error codes.
const (
	// CodeNotHTML: the address gave something other than an HTML page or a sitemap.
	CodeNotHTML Code = "not_html"
	// CodeNoProduct: the page carries no product data that could be read.
	CodeNoProduct Code = "no_product"
	// CodeBadPrice: the page has a product whose price cannot be read.
	CodeBadPrice Code = "bad_price"
	// CodeTooLarge: the page is larger than MaxPageBytes.
	CodeTooLarge Code = "too_large"
	// CodeDisallowed: the site's robots.txt forbids the page.
	CodeDisallowed Code = "robots_disallowed"
	// CodeRobotsUnavailable: robots.txt could not be read (a 5xx or a
	// network failure), so nothing on the site is fetched.
	CodeRobotsUnavailable Code = "robots_unavailable"
	// CodeRateLimited: the site asked to wait longer than the scraper will.
	CodeRateLimited Code = "rate_limited"
	// CodeHTTPStatus: the page answered with an error status.
	CodeHTTPStatus Code = "http_status"
	// CodeBadSelector: a source's CSS selector does not parse.
	CodeBadSelector Code = "bad_selector"
	// CodeFetch: the page could not be fetched (bad address, refused
	// address, network failure, timeout).
	CodeFetch Code = "fetch_failed"
)

// Error is a scraping failure with a code and a message a user can act on.
type Error struct {
	Code Code
	// URL is the page the failure is about.
	URL string
	// Message says what happened, naming the page.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error returns the message, followed by the underlying error if any.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns err's Code when it is (or wraps) an *Error, and "" otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code Code, pageURL string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, URL: pageURL, Message: fmt.Sprintf(format, args...), Err: cause}
}
