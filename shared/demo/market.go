package demo

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// Markets are the demo market's three producers. Image is the file name of
// the market's picture in images/market.
var Markets = []struct {
	products.MarketInput
	Image string
}{
	{products.MarketInput{Slug: "bramble-and-comb", Name: "Bramble & Comb",
		Summary:  "Raw honey, beeswax and hedgerow preserves from forty hives on the edge of the moor.",
		Location: "Top Field Cottage, Ashby Moor",
		Description: `<p>Jess Rowan keeps forty hives on the edge of Ashby Moor, moving them up to the heather every August. Her honey is cold-extracted and never heated, so it keeps the taste of the flowers the bees worked that month.</p>
<p>The wax from the cappings goes into candles, wraps and balms, and the hedgerows around the hives give the fruit for her jellies and jams.</p>`},
		"bramble-and-comb.png"},
	{products.MarketInput{Slug: "the-bakehouse", Name: "The Bakehouse",
		Summary:  "Slow sourdough, rye and spelt, and cakes baked that morning in a wood-fired oven.",
		Location: "The Old Forge, Mill Street",
		Description: `<p>The Bakehouse bakes through the night in a wood-fired oven in the old forge on Mill Street. Every loaf is naturally leavened and proved for at least eighteen hours, with flour milled twelve miles away.</p>
<p>Cakes and buns are baked on market mornings. Order by Thursday midnight to collect on Saturday.</p>`},
		"the-bakehouse.png"},
	{products.MarketInput{Slug: "hollow-lane-farm", Name: "Hollow Lane Farm",
		Summary:  "Forty kinds of vegetables and orchard fruit from six acres, grown without sprays.",
		Location: "Hollow Lane, Ashby Parva",
		Description: `<p>Sam and Priya grow more than forty kinds of vegetables on six acres at the end of Hollow Lane, without pesticides, relying on long rotations, green manures and a kilometre of hedges they have planted themselves.</p>
<p>Their old orchard gives apples and pears from September, pressed into juice through the winter.</p>`},
		"hollow-lane-farm.png"},
}

// Categories are the demo category tree: four top categories, each with
// its subcategories, in order.
var Categories = []struct {
	products.CategoryInput
	Children []products.CategoryInput
}{
	{products.CategoryInput{Slug: "pantry", Name: "Pantry", Position: 10}, []products.CategoryInput{
		{Slug: "honey", Name: "Honey", Position: 10},
		{Slug: "jams-and-preserves", Name: "Jams & preserves", Position: 20},
	}},
	{products.CategoryInput{Slug: "bakery", Name: "Bakery", Position: 20}, []products.CategoryInput{
		{Slug: "bread", Name: "Bread", Position: 10},
		{Slug: "cakes-and-bakes", Name: "Cakes & bakes", Position: 20},
	}},
	{products.CategoryInput{Slug: "fresh", Name: "Fresh", Position: 30}, []products.CategoryInput{
		{Slug: "vegetables", Name: "Vegetables", Position: 10},
		{Slug: "fruit-and-juice", Name: "Fruit & juice", Position: 20},
	}},
	{products.CategoryInput{Slug: "crafts", Name: "Crafts", Position: 40}, []products.CategoryInput{
		{Slug: "candles", Name: "Candles", Position: 10},
		{Slug: "soap-and-balms", Name: "Soap & balms", Position: 20},
	}},
}

// Product is a demo product, published PublishedAgo before it is first
// seeded, with its picture (a file in images/market named for its slug).
type Product struct {
	products.ProductInput
	PublishedAgo time.Duration
}

// UK VAT: most food is zero-rated; juice, candles, soap and wraps are
// standard-rated.
const (
	zeroRated     = 0
	standardRated = 2000
)

// The demo's special stock cases, by slug.
const (
	SoldOutProduct   = "forced-rhubarb"
	LowStockProduct  = "cut-comb-honey"
	BackorderProduct = "damson-jam"
	// CardProduct is the product whose card the demo blog post embeds.
	CardProduct = "wildflower-honey"
)

func stocked(name, sku string, price int64, stock int) products.VariantInput {
	return products.VariantInput{Name: name, SKU: sku, Price: price, TrackStock: true, Stock: stock}
}

func untracked(name, sku string, price int64) products.VariantInput {
	return products.VariantInput{Name: name, SKU: sku, Price: price}
}

func product(market, category, slug, name, summary, description string, vat int, featured bool, ago time.Duration, variants ...products.VariantInput) Product {
	return Product{ProductInput: products.ProductInput{Market: market, Category: category, Slug: slug, Name: name,
		Summary: summary, Description: description, Currency: "GBP", VATRateBP: vat, Featured: featured,
		Publish: true, Variants: variants}, PublishedAgo: ago}
}

const hour = time.Hour

// Products are the demo catalogue: 37 published products of the three
// markets, one to four variants each. Forced rhubarb is sold out, cut comb
// honey is down to its last 2, and damson jam has none in stock but can be
// ordered.
var Products = []Product{
	// Bramble & Comb: honey.
	product("bramble-and-comb", "honey", "wildflower-honey", "Wildflower honey",
		"Runny summer honey from the meadows and hedgerows around the hives.",
		`<p>Our everyday honey, gathered from clover, bramble and meadow flowers between June and August. Cold-extracted and lightly strained, so it keeps its pollen and its flavour.</p><p>Runny when fresh; like all raw honey it may set over time. Stand the jar in warm water to make it runny again.</p>`,
		zeroRated, true, 3*day,
		stocked("227 g", "BC-WFH-227", 450, 40), stocked("340 g", "BC-WFH-340", 650, 36), stocked("1 kg", "BC-WFH-1000", 1600, 12)),
	product("bramble-and-comb", "honey", "heather-honey", "Heather honey",
		"Dark, floral honey from ling heather on the moor, harvested in September.",
		`<p>Every August the hives go up to the moor for the ling heather. The honey is thick and jelly-like, with a strong, slightly bitter, floral taste that is wonderful on porridge.</p><p>Heather honey is pressed from the comb rather than spun, so it is made in small batches.</p>`,
		zeroRated, true, 6*day,
		stocked("227 g", "BC-HEA-227", 575, 24), stocked("340 g", "BC-HEA-340", 825, 18)),
	product("bramble-and-comb", "honey", "set-spring-honey", "Set spring honey",
		"Creamy set honey from oilseed, fruit blossom and dandelion.",
		`<p>Spring honey sets quickly and finely, so we stir it for a week to give it a smooth, spreadable texture. Mild and sweet: children love it on toast.</p>`,
		zeroRated, false, 9*day,
		stocked("340 g", "BC-SSH-340", 625, 30)),
	product("bramble-and-comb", "honey", LowStockProduct, "Cut comb honey",
		"Whole honeycomb, cut straight from the frame: the wax is edible.",
		`<p>A square of honeycomb exactly as the bees built it, capped with fresh wax. Eat it with cheese, on warm bread or straight from the box.</p><p>We only cut comb from the best frames of the summer, so there is very little of it.</p>`,
		zeroRated, false, 12*day,
		stocked("200 g", "BC-CCH-200", 950, 2)),
	product("bramble-and-comb", "honey", "lime-blossom-honey", "Lime blossom honey",
		"A pale, minty-fresh honey from the avenue of lime trees by the church.",
		`<p>For two weeks in July the bees work the lime trees along Church Walk almost exclusively. The honey is pale green-gold, with a fresh, slightly minty taste.</p>`,
		zeroRated, false, 15*day,
		stocked("227 g", "BC-LBH-227", 525, 20), stocked("340 g", "BC-LBH-340", 750, 16)),
	// Bramble & Comb and Hollow Lane: jams and preserves.
	product("bramble-and-comb", "jams-and-preserves", "bramble-jelly", "Bramble jelly",
		"Clear, deep purple jelly of wild blackberries and a little crab apple.",
		`<p>Hedgerow blackberries picked in September, with crab apples for a natural set. Strained overnight through a jelly bag for a clear jelly. Lovely with lamb or on scones.</p>`,
		zeroRated, false, 18*day,
		stocked("227 g", "BC-BRJ-227", 395, 28)),
	product("hollow-lane-farm", "jams-and-preserves", BackorderProduct, "Damson jam",
		"Sharp, rich jam from the farm's old damson trees. Made to order.",
		`<p>The damson trees along the top hedge crop heavily one year in two. This year's jars are all sold, but we froze the fruit: order now and we will make your jar within a fortnight.</p>`,
		zeroRated, false, 20*day,
		products.VariantInput{Name: "340 g", SKU: "HL-DAM-340", Price: 425, TrackStock: true, Stock: 0, AllowBackorder: true}),
	product("hollow-lane-farm", "jams-and-preserves", "seville-orange-marmalade", "Seville orange marmalade",
		"Thick-cut, bittersweet marmalade made in January with Seville oranges.",
		`<p>Made in January when the Seville oranges arrive, with thick-cut peel and dark muscovado sugar. Bittersweet and chunky.</p>`,
		zeroRated, false, 22*day,
		stocked("340 g", "HL-SOM-340", 450, 24)),
	product("bramble-and-comb", "jams-and-preserves", "honey-wholegrain-mustard", "Honey wholegrain mustard",
		"Coarse mustard sweetened with our wildflower honey.",
		`<p>Brown and yellow mustard seeds soaked in cider vinegar and sweetened with wildflower honey. Good with ham, in dressings and with sausages.</p>`,
		zeroRated, false, 24*day,
		stocked("200 g", "BC-HWM-200", 375, 32)),
	product("hollow-lane-farm", "jams-and-preserves", "green-tomato-chutney", "Green tomato chutney",
		"The end of the tomato season, slow-cooked with apple, onion and spice.",
		`<p>Every October the last green tomatoes in the polytunnel go into this chutney, cooked slowly with Bramley apples, onions, sultanas and spices. Best with a strong cheddar.</p>`,
		zeroRated, false, 26*day,
		stocked("300 g", "HL-GTC-300", 395, 26)),
	product("hollow-lane-farm", "jams-and-preserves", "pickled-beetroot", "Pickled beetroot",
		"Whole baby beetroot in a sweet spiced vinegar.",
		`<p>Baby beetroot roasted in their skins, peeled and packed whole in spiced malt vinegar.</p>`,
		zeroRated, false, 28*day,
		stocked("450 g", "HL-PBE-450", 350, 20)),
	// The Bakehouse: bread.
	product("the-bakehouse", "bread", "sourdough-loaf", "Sourdough loaf",
		"Our daily white sourdough: a dark crust, an open crumb, proved for eighteen hours.",
		`<p>Stoneground white flour, a little wholemeal, water, salt and our ten-year-old starter. Proved for eighteen hours and baked dark in the wood-fired oven.</p><p>Keeps for four days wrapped in a tea towel; it makes the best toast on day three.</p>`,
		zeroRated, true, 2*day,
		untracked("400 g", "BH-SDL-400", 320), untracked("800 g", "BH-SDL-800", 450)),
	product("the-bakehouse", "bread", "rye-loaf", "Rye loaf",
		"Dense, dark rye with caraway, sliced thin for cheese and fish.",
		`<p>A Baltic-style rye made with a rye sour, whole rye grains and caraway. Dense and moist, it keeps for a week and slices thinly.</p>`,
		zeroRated, false, 4*day,
		untracked("800 g", "BH-RYE-800", 380)),
	product("the-bakehouse", "bread", "seeded-spelt-loaf", "Seeded spelt loaf",
		"Wholegrain spelt with sunflower, pumpkin and linseed.",
		`<p>Wholegrain spelt from a farm twelve miles away, with toasted sunflower, pumpkin and linseed. Nutty and filling.</p>`,
		zeroRated, false, 7*day,
		untracked("800 g", "BH-SSL-800", 420)),
	product("the-bakehouse", "bread", "rosemary-focaccia", "Rosemary focaccia",
		"Olive oil focaccia with rosemary and flaky sea salt.",
		`<p>A wet, bubbly dough baked in olive oil and topped with rosemary from the garden and flaky sea salt. Warm it for five minutes before eating.</p>`,
		zeroRated, false, 10*day,
		untracked("Half tray", "BH-FOC-HALF", 300), untracked("Whole tray", "BH-FOC-FULL", 550)),
	product("the-bakehouse", "bread", "sourdough-crumpets", "Sourdough crumpets",
		"Proper crumpets made with our sourdough starter. Toast them twice.",
		`<p>Made with the same starter as our loaves, cooked on the griddle on Friday afternoons. Toast them well and butter them generously.</p>`,
		zeroRated, false, 13*day,
		stocked("Pack of 6", "BH-CRU-6", 325, 30)),
	// The Bakehouse: cakes and bakes.
	product("the-bakehouse", "cakes-and-bakes", "cinnamon-buns", "Cinnamon buns",
		"Swedish-style cardamom dough rolled with cinnamon butter.",
		`<p>Soft cardamom dough, rolled with brown sugar and cinnamon butter, knotted by hand and finished with pearl sugar. Baked on Saturday mornings.</p>`,
		zeroRated, true, 1*day,
		stocked("Pack of 2", "BH-CIN-2", 400, 24), stocked("Pack of 4", "BH-CIN-4", 750, 12)),
	product("the-bakehouse", "cakes-and-bakes", "victoria-sponge", "Victoria sponge",
		"Butter sponge filled with raspberry jam and vanilla buttercream.",
		`<p>Two layers of butter sponge with raspberry jam and vanilla buttercream, dusted with caster sugar. The whole cake serves eight.</p>`,
		zeroRated, false, 5*day,
		stocked("Slice", "BH-VIC-SLICE", 300, 24), stocked("Whole cake (20 cm)", "BH-VIC-WHOLE", 1600, 6)),
	product("the-bakehouse", "cakes-and-bakes", "lemon-drizzle-cake", "Lemon drizzle cake",
		"A loaf cake soaked in sharp lemon syrup with a crunchy sugar top.",
		`<p>Unwaxed lemons, butter and free-range eggs, soaked while warm in lemon syrup and finished with a crackly sugar crust.</p>`,
		zeroRated, false, 8*day,
		stocked("Loaf", "BH-LEM-LOAF", 950, 10)),
	product("the-bakehouse", "cakes-and-bakes", "chocolate-brownies", "Chocolate brownies",
		"Fudgy dark chocolate brownies, gooey in the middle.",
		`<p>Seventy per cent dark chocolate, butter and muscovado sugar, baked until just set. Keep them in a tin for up to five days, if you can.</p>`,
		zeroRated, false, 11*day,
		stocked("Box of 4", "BH-BRO-4", 800, 15), stocked("Box of 9", "BH-BRO-9", 1650, 8)),
	product("the-bakehouse", "cakes-and-bakes", "ginger-parkin", "Ginger parkin",
		"Sticky oat and treacle gingerbread that gets better with keeping.",
		`<p>A Yorkshire parkin of oatmeal, black treacle, golden syrup and ginger. Wrap it and leave it for a few days: it gets stickier.</p>`,
		zeroRated, false, 14*day,
		stocked("Slab (8 pieces)", "BH-PAR-8", 650, 14)),
	// Hollow Lane Farm: vegetables.
	product("hollow-lane-farm", "vegetables", "seasonal-vegetable-box", "Seasonal vegetable box",
		"Whatever is best in the fields this week, picked the morning of the market.",
		`<p>A box of what is at its best this week: in winter that means squash, leeks, kale, roots and salad from the polytunnel. Every box comes with a card of recipe ideas.</p><ul><li>Small: for one or two people</li><li>Medium: for a family of three or four</li><li>Large: for a big household, or big cooks</li></ul>`,
		zeroRated, true, 2*day,
		untracked("Small", "HL-BOX-S", 1400), untracked("Medium", "HL-BOX-M", 1950), untracked("Large", "HL-BOX-L", 2600)),
	product("hollow-lane-farm", "vegetables", "crown-prince-squash", "Crown Prince squash",
		"A blue-grey winter squash with sweet, bright orange flesh.",
		`<p>The best keeping squash we grow: sweet, dense, nutty flesh that roasts beautifully and makes silky soup. Stored in the barn, it keeps until March.</p>`,
		zeroRated, false, 6*day,
		stocked("Each (about 2 kg)", "HL-CPS-1", 350, 40)),
	product("hollow-lane-farm", "vegetables", "rainbow-chard", "Rainbow chard",
		"Red, yellow and pink stems with glossy leaves.",
		`<p>Cook the stems a couple of minutes longer than the leaves. Picked on market mornings.</p>`,
		zeroRated, false, 9*day,
		stocked("Bunch", "HL-CHA-B", 220, 30)),
	product("hollow-lane-farm", "vegetables", "cavolo-nero", "Cavolo nero",
		"Tuscan black kale, sweeter after the first frosts.",
		`<p>Long, dark, crinkled leaves for ribollita, pasta and crisps. The frost turns its starches to sugar, so it is at its best now.</p>`,
		zeroRated, false, 12*day,
		stocked("Bunch", "HL-CAV-B", 240, 30)),
	product("hollow-lane-farm", "vegetables", "celeriac", "Celeriac",
		"Knobbly, nutty, celery-scented root for mash, soup and remoulade.",
		`<p>Sam's best crop of celeriac yet. Peel it thickly, then roast, mash with potato or cut into matchsticks for remoulade.</p>`,
		zeroRated, false, 16*day,
		stocked("Each", "HL-CEL-1", 190, 35)),
	product("hollow-lane-farm", "vegetables", "heritage-carrots", "Heritage carrots",
		"Purple, yellow and orange carrots, unwashed so they keep.",
		`<p>A mix of old varieties in three colours, sold with the soil on: they keep far longer that way.</p>`,
		zeroRated, false, 19*day,
		stocked("500 g", "HL-CAR-500", 160, 40), stocked("1 kg", "HL-CAR-1000", 260, 30)),
	product("hollow-lane-farm", "vegetables", "salad-leaves", "Salad leaves",
		"A mix of winter leaves from the polytunnel: mizuna, rocket, mustards and lettuce.",
		`<p>Cut the morning of the market and washed once. Peppery and crisp; it keeps for five days in the fridge.</p>`,
		zeroRated, false, 21*day,
		stocked("150 g bag", "HL-SAL-150", 250, 25)),
	// Hollow Lane Farm: fruit and juice.
	product("hollow-lane-farm", "fruit-and-juice", "bramley-apples", "Bramley apples",
		"The classic cooking apple, from the farm's old orchard.",
		`<p>Sharp cooking apples that collapse into a fluffy purée: for crumbles, pies and apple sauce.</p>`,
		zeroRated, false, 23*day,
		stocked("1 kg", "HL-BRA-1000", 280, 30), stocked("3 kg", "HL-BRA-3000", 750, 10)),
	product("hollow-lane-farm", "fruit-and-juice", "conference-pears", "Conference pears",
		"Long, russeted pears, sweet and juicy when they yield at the neck.",
		`<p>Picked firm and ripened in the store. Leave them in the fruit bowl for a couple of days until they give a little at the neck.</p>`,
		zeroRated, false, 25*day,
		stocked("1 kg", "HL-CON-1000", 320, 24)),
	product("hollow-lane-farm", "fruit-and-juice", SoldOutProduct, "Forced rhubarb",
		"Tender pink stems grown in the dark. Back in January.",
		`<p>Forced rhubarb is grown in the dark under terracotta forcers, which makes it pink, tender and sweet. The first pulling is in January: it is sold out until then.</p>`,
		zeroRated, false, 30*day,
		stocked("Bunch (about 500 g)", "HL-RHU-B", 350, 0)),
	product("hollow-lane-farm", "fruit-and-juice", "pressed-apple-juice", "Pressed apple juice",
		"Cloudy juice pressed from the farm's apples, nothing added.",
		`<p>A blend of Cox, Bramley and Discovery from the orchard, pressed and gently pasteurised. Nothing added, not even sugar.</p>`,
		standardRated, false, 17*day,
		stocked("750 ml", "HL-JUI-750", 395, 48), stocked("Case of 6 (750 ml)", "HL-JUI-6", 2100, 8)),
	// Bramble & Comb: crafts.
	product("bramble-and-comb", "candles", "beeswax-pillar-candle", "Beeswax pillar candle",
		"Hand-poured pure beeswax, with a warm honey scent as it burns.",
		`<p>Poured from our own cappings wax with a cotton wick. Beeswax burns slowly and cleanly with a warm glow and a faint honey scent.</p><ul><li>Small: about 30 hours</li><li>Large: about 60 hours</li></ul>`,
		standardRated, true, 4*day,
		stocked("Small (7 cm)", "BC-PIL-S", 800, 20), stocked("Large (12 cm)", "BC-PIL-L", 1400, 12)),
	product("bramble-and-comb", "candles", "beeswax-tealights", "Beeswax tealights",
		"Pure beeswax tealights in reusable aluminium cups.",
		`<p>Each burns for about four hours. Send back the cups and we will refill them.</p>`,
		standardRated, false, 10*day,
		stocked("Set of 12", "BC-TEA-12", 950, 25)),
	product("bramble-and-comb", "soap-and-balms", "beeswax-food-wraps", "Beeswax food wraps",
		"Cotton wraps coated in beeswax, pine resin and jojoba: cling film's replacement.",
		`<p>Wrap cheese, bread, half a lemon or cover a bowl: the warmth of your hands moulds the wrap. Wash in cool soapy water; each lasts about a year.</p>`,
		standardRated, false, 15*day,
		stocked("Set of 3", "BC-WRP-3", 1200, 18)),
	product("bramble-and-comb", "soap-and-balms", "honey-and-oat-soap", "Honey & oat soap",
		"A gentle cold-process soap with honey, oats and goat's milk.",
		`<p>Made in small batches and cured for six weeks. Unscented, gentle enough for sensitive skin.</p>`,
		standardRated, false, 20*day,
		stocked("Bar (100 g)", "BC-SOA-100", 450, 30)),
	product("bramble-and-comb", "soap-and-balms", "beeswax-lip-balm", "Beeswax lip balm",
		"Beeswax, cocoa butter and sweet almond oil in a little tin.",
		`<p>A simple balm for winter lips: our beeswax, cocoa butter, almond oil and a drop of peppermint.</p>`,
		standardRated, false, 27*day,
		stocked("15 ml tin", "BC-BAL-15", 350, 40)),
}

// seedMarket adds the demo markets, categories and products that are
// missing (by slug; what an admin changed since is kept) and gives the
// pictures in pictures (by file name) to those that have none.
func seedMarket(ctx context.Context, tx pgx.Tx, store *products.Store, pictures map[string]string) error {
	for _, m := range Markets {
		if err := products.AddMarketIfMissing(ctx, tx, m.MarketInput); err != nil {
			return fmt.Errorf("demo: market %s: %w", m.Slug, err)
		}
		if img := pictures[m.Image]; img != "" {
			if err := products.SetMarketImageIfNone(ctx, tx, m.Slug, img); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		// Every demo market delivers for £3.95 and can be collected from
		// at the Saturday market or at its own place.
		if err := products.SetHandoverIfNone(ctx, tx, m.Slug, 395, []string{"Saturday market, Leith Walk", m.Name + ", " + m.Location}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	for _, c := range Categories {
		if err := products.AddCategoryIfMissing(ctx, tx, c.CategoryInput); err != nil {
			return fmt.Errorf("demo: category %s: %w", c.Slug, err)
		}
		for _, sub := range c.Children {
			sub.Parent = c.Slug
			if err := products.AddCategoryIfMissing(ctx, tx, sub); err != nil {
				return fmt.Errorf("demo: category %s: %w", sub.Slug, err)
			}
		}
	}
	for _, p := range Products {
		in := p.ProductInput
		in.Variants = append([]products.VariantInput(nil), p.Variants...)
		var imgs []models.ProductImage
		if url := pictures[p.Image()]; url != "" {
			imgs = []models.ProductImage{{URL: url, Alt: p.Name}}
		}
		in.Images = imgs
		if _, err := store.AddProductIfMissing(ctx, tx, in, p.PublishedAgo); err != nil {
			return fmt.Errorf("demo: product %s: %w", p.Slug, err)
		}
		if len(imgs) > 0 {
			if err := products.AddImagesIfNone(ctx, tx, p.Slug, imgs); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
	}
	return nil
}

// Image is the file name of the product's picture in images/market.
func (p Product) Image() string { return p.Slug + ".png" }

// storeMarketImages puts the markets' and products' pictures into store and
// returns their addresses (media.URL) by file name; none with a nil store.
func storeMarketImages(ctx context.Context, store media.Store) (map[string]string, error) {
	out := map[string]string{}
	if store == nil {
		return out, nil
	}
	names := make([]string, 0, len(Markets)+len(Products))
	for _, m := range Markets {
		names = append(names, m.Image)
	}
	for _, p := range Products {
		names = append(names, p.Image())
	}
	for _, name := range names {
		data, err := images.ReadFile("images/market/" + name)
		if err != nil {
			return nil, fmt.Errorf("demo: image %s: %w", name, err)
		}
		stored, err := media.Save(ctx, store, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("demo: store image %s: %w", name, err)
		}
		out[name] = media.URL(stored)
	}
	return out, nil
}
