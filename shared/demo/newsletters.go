package demo

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/services/newsletters"
)

// NewsletterLists are the demo mailing lists, made in this order (the
// order /newsletters shows them in): the cooperative's news (double
// opt-in), the market days (single opt-in), and the board's private list.
var NewsletterLists = []newsletters.ListInput{
	{Slug: "news", Name: "Rose Ash news", Public: true, DoubleOptIn: true,
		Description: "What the cooperative is up to: new producers, members' meetings and the decisions taken there. About once a month."},
	{Slug: "market-days", Name: "Market days", Public: true, DoubleOptIn: false,
		Description: "A short note before each market: who is there, what is in season, and any change of hours."},
	{Slug: "board", Name: "Board members", Public: false, DoubleOptIn: true,
		Description: "Papers and minutes for the cooperative's board. Members are added by an admin."},
}

// NewsletterWidgetPost is the demo post that embeds the news list's
// subscribe form ([[widget:newsletter:news]]).
const NewsletterWidgetPost = "welcome-to-the-new-rose-ash"

// seedNewsletters makes the demo lists that are missing; a list an admin
// has changed since is left as it is.
func seedNewsletters(ctx context.Context, tx pgx.Tx) error {
	for _, in := range NewsletterLists {
		if _, err := newsletters.EnsureListTx(ctx, tx, in); err != nil {
			return fmt.Errorf("demo: newsletter list %s: %w", in.Slug, err)
		}
	}
	return nil
}
