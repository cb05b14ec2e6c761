package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/services/campaigns"
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

// NewsletterCampaigns are the demo campaigns to the news list: one sent
// three weeks before the seed (on the public archive), and a draft about
// the winter fair that an admin can preview, test and send.
var NewsletterCampaigns = []campaigns.DemoCampaign{
	{Slug: "a-new-home-for-rose-ash", Subject: "A new home for Rose Ash",
		HTML: `<p>Dear members,</p><p>The cooperative has moved to its own platform: the blog, the market, events and your account now live under one sign-in. Your orders, tickets and bookings are on <strong>your account page</strong>, and you can follow the cooperative from Mastodon and the rest of the fediverse.</p><p>See you at the market,<br>the Rose Ash board</p>`},
	{Slug: "winter-fair-is-coming", Subject: "The winter fair is coming",
		HTML: `<p>The market hall fills up for the winter fair: stalls from every producer, mulled apple juice and carols at three.</p><ul><li>Bring your own bags</li><li>Members' gifts stall by the door</li></ul><p>It is free: the date and times are on the events page.</p>`},
}

// seedNewsletters makes the demo lists that are missing (a list an admin
// has changed since is left as it is) and the demo campaigns to the news
// list, the first of them sent three weeks before now.
func seedNewsletters(ctx context.Context, tx pgx.Tx, now time.Time) error {
	var news uuid.UUID
	for _, in := range NewsletterLists {
		l, err := newsletters.EnsureListTx(ctx, tx, in)
		if err != nil {
			return fmt.Errorf("demo: newsletter list %s: %w", in.Slug, err)
		}
		if in.Slug == "news" {
			news = l.ID
		}
	}
	for i, c := range NewsletterCampaigns {
		c.ListIDs = []uuid.UUID{news}
		if i == 0 {
			c.Sent = now.Add(-21 * 24 * time.Hour).Truncate(time.Minute)
		}
		if err := campaigns.AddDemoCampaignIfMissing(ctx, tx, c); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}
