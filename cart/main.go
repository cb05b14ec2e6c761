// Command cart runs the Rose Ash cart service.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/cart/internal"
	"rose-ash.com/platform/shared/activitypub/listings"
	"rose-ash.com/platform/shared/boot"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/calendars"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/sumup"
)

func main() { boot.Main("cart", run) }

// run starts the cart service and blocks until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	sweep := &sweepWorker{}
	opts := boot.Options{Service: "cart", MayMigrate: false, Workers: sweep.jobs, Queues: jobQueues}
	return boot.Run(ctx, opts, getenv, stdout, func(d boot.Deps) (http.Handler, error) {
		catalog, cartStore := products.New(d.DB), carts.New(d.DB)
		announceStock(d, catalog)
		store := orders.New(d.DB, catalog)
		store.Hold = d.Config.SumUp.HoldTTL.Std()
		// Paid event tickets: their places are held with the order (the
		// same hold), confirmed when it is paid, given back when it is not.
		store.Bookings = bookings.New(d.DB)
		// Once paid, the shopper's basket is emptied in the same
		// transaction (cart-mini shows zero at once: verify invalidates it).
		store.Paid = func(ctx context.Context, tx pgx.Tx, o models.Order) error {
			if !o.UserID.Valid {
				return nil
			}
			return cartStore.Clear(ctx, tx, o.UserID.UUID)
		}
		kept := internal.NewKeptBaskets(d.Sessions, d.Config.PageCache.Listings.Std())
		payments := &internal.Payments{Site: d.Site, Orders: store, Mail: d.Mail, Secret: []byte(d.Config.SecretKey),
			Baskets: cartStore, Kept: kept}
		if s := d.Config.SumUp; s.Enabled() {
			payments.SumUp = sumup.New(sumup.Options{APIURL: s.APIURL, APIKey: s.APIKey, MerchantCode: s.MerchantCode})
		}
		store.Placed = payments.OrderReceived
		store.Bookings.Offered = payments.MailOffers // places given back go to the waitlist
		payments.StockChanged = func(ctx context.Context) {
			if err := pagecache.Purge(ctx, d.Redis, d.Keys, "market"); err != nil {
				d.Logger.WarnContext(ctx, "the market's cached pages were not purged after a stock change", "error", err)
			}
			// The events' pages show the places left, which paid tickets
			// held or given back change.
			if err := pagecache.Purge(ctx, d.Redis, d.Keys, "events"); err != nil {
				d.Logger.WarnContext(ctx, "the events' cached pages were not purged after a change of places", "error", err)
			}
		}
		sweep.payments.Store(payments)
		return internal.NewServer(internal.Deps{Site: d.Site, Auth: d.SignIn(), Carts: cartStore,
			Catalogue: catalog, Tickets: calendars.New(d.DB), Sessions: d.Sessions, Payments: payments, KeptBaskets: kept}), nil
	})
}

// announceStock makes the stock an order takes or gives back reach the
// market's followers as the market's own changes do: when a sale or a
// release changes a product's availability as followers see it ("In
// stock", "Few left", "Sold out"; never a count), @market sends Update in
// the order's transaction (listings.Publisher.Sync). Nothing is announced
// when the cart's ActivityPub is off.
func announceStock(d boot.Deps, catalog *products.Store) {
	if d.AP == nil || d.Jobs == nil {
		return
	}
	pub := &listings.Publisher{MarketURL: d.Config.Service("market").PublicURL, Jobs: d.Jobs}
	catalog.OnChange(pub.Sync)
}
