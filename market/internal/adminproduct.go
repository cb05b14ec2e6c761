package internal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// Blank rows the product form always offers, to add variants and images
// without JavaScript.
const (
	spareVariantRows = 3
	spareImageRows   = 2
	// maxUploads bounds the images one save may upload.
	maxUploads = 8
	// maxAltLength is the schema's bound on an image's alt text.
	maxAltLength = 300
)

// productForm is the product form as typed: every field a string or a box,
// so that a refused save shows exactly what was sent.
type productForm struct {
	ID      uuid.UUID // uuid.Nil for a new product
	Version int
	// Slug and Status are the saved product's, for links and the heading.
	SavedSlug, Status                     string
	Market, Category, Name, Slug, Summary string
	Description, Currency, VAT            string
	Featured, Publish                     bool
	Variants                              []variantRow
	Images                                []imageRow
	UploadAlt                             string
}

// variantRow is one variant row of the form; ID is "" on a new row.
type variantRow struct {
	ID, Name, SKU, Price, Stock string
	Track, Backorder, Remove    bool
}

func (v variantRow) blank() bool {
	return v.ID == "" && strings.TrimSpace(v.Name+v.SKU+v.Price+v.Stock) == ""
}

// imageRow is one image row of the form.
type imageRow struct {
	URL, Alt, Position string
	Remove             bool
}

// action is where the form posts.
func (f productForm) action() string {
	if f.ID == uuid.Nil {
		return "/admin/products"
	}
	return "/admin/products/" + f.ID.String()
}

// withSpareRows returns the form with its blank rows dropped and the spare
// blank rows added, as it is shown.
func (f productForm) withSpareRows() productForm {
	f.Variants = slices.DeleteFunc(slices.Clone(f.Variants), variantRow.blank)
	for range spareVariantRows {
		f.Variants = append(f.Variants, variantRow{Track: true})
	}
	f.Images = slices.DeleteFunc(slices.Clone(f.Images), func(i imageRow) bool { return strings.TrimSpace(i.URL) == "" })
	for range spareImageRows {
		f.Images = append(f.Images, imageRow{})
	}
	for i := range f.Images {
		if f.Images[i].Position == "" {
			f.Images[i].Position = strconv.Itoa(i + 1)
		}
	}
	return f
}

// formOf is the form showing the saved product p.
func formOf(p models.Product) productForm {
	f := productForm{ID: p.ID, Version: p.Version, SavedSlug: p.Slug, Status: p.Status,
		Market: p.MarketSlug, Category: p.CategorySlug, Name: p.Name, Slug: p.Slug, Summary: p.Summary,
		Description: p.Description, Currency: p.Currency, VAT: formatPercent(p.VATRateBP),
		Featured: p.Featured, Publish: p.Status == models.ProductPublished}
	for _, v := range p.Variants {
		f.Variants = append(f.Variants, variantRow{ID: v.ID.String(), Name: v.Name, SKU: v.SKU,
			Price: formatMinor(v.Price, p.Currency), Stock: strconv.Itoa(v.Stock), Track: v.TrackStock, Backorder: v.AllowBackorder})
	}
	for i, img := range p.Images {
		f.Images = append(f.Images, imageRow{URL: img.URL, Alt: img.Alt, Position: strconv.Itoa(i + 1)})
	}
	return f
}

// readForm reads the posted product form; the form comes back whatever
// the error, so that a refusal shows what was typed.
func readForm(r *http.Request) (productForm, error) {
	pf := r.PostForm
	f := productForm{Market: pf.Get("market"), Category: pf.Get("category"), Name: pf.Get("name"), Slug: pf.Get("slug"),
		Summary: pf.Get("summary"), Description: pf.Get("description"), Currency: pf.Get("currency"), VAT: pf.Get("vat"),
		Featured: pf.Get("featured") != "", Publish: pf.Get("publish") != "", UploadAlt: pf.Get("upload_alt")}
	rows, err1 := strconv.Atoi(pf.Get("variants"))
	images, err2 := strconv.Atoi(pf.Get("images"))
	if err1 != nil || err2 != nil || rows < 0 || rows > products.MaxVariants+spareVariantRows+20 || images < 0 || images > 200 {
		return f, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
	}
	for i := range rows {
		k := "v" + strconv.Itoa(i) + "."
		f.Variants = append(f.Variants, variantRow{ID: pf.Get(k + "id"), Name: pf.Get(k + "name"), SKU: pf.Get(k + "sku"),
			Price: pf.Get(k + "price"), Stock: pf.Get(k + "stock"), Track: pf.Get(k+"track") != "",
			Backorder: pf.Get(k+"backorder") != "", Remove: pf.Get(k+"remove") != ""})
	}
	for i := range images {
		k := "img" + strconv.Itoa(i) + "."
		f.Images = append(f.Images, imageRow{URL: pf.Get(k + "url"), Alt: pf.Get(k + "alt"), Position: pf.Get(k + "position"),
			Remove: pf.Get(k+"remove") != ""})
	}
	if v := pf.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
		}
		f.Version = n
	}
	return f, nil
}

// input turns the typed form into what the store writes: prices in minor
// units, the VAT rate in basis points, removed and blank rows left out,
// images in the order of their positions.
func (f productForm) input() (products.ProductInput, error) {
	in := products.ProductInput{Market: f.Market, Category: f.Category, Slug: f.Slug, Name: f.Name, Summary: f.Summary,
		Description: f.Description, Currency: f.Currency, Featured: f.Featured, Publish: f.Publish}
	currency := strings.ToUpper(strings.TrimSpace(f.Currency))
	if currency == "" {
		return in, models.Errorf(models.EInvalid, "The product needs a currency (GBP, EUR...).")
	}
	if err := models.ValidateCurrency(currency); err != nil {
		return in, models.Errorf(models.EInvalid, "The currency must be a three-letter code such as GBP or EUR, not %q.", f.Currency)
	}
	vat, err := parsePercent(f.VAT)
	if err != nil {
		return in, err
	}
	in.VATRateBP = vat
	for i, row := range f.Variants {
		if row.blank() || row.Remove {
			continue
		}
		label := "variant row " + strconv.Itoa(i+1)
		if n := strings.TrimSpace(row.Name); n != "" {
			label += " (" + n + ")"
		}
		v := products.VariantInput{Name: row.Name, SKU: row.SKU, TrackStock: row.Track, AllowBackorder: row.Backorder}
		if row.ID != "" {
			if v.ID, err = uuid.Parse(row.ID); err != nil {
				return in, models.Errorf(models.EInvalid, "The form is damaged; reload the page.")
			}
		}
		if v.Price, err = parseMinor(row.Price, currency, "the price of "+label); err != nil {
			return in, err
		}
		if s := strings.TrimSpace(row.Stock); s != "" {
			n, err := strconv.Atoi(s)
			switch {
			case errors.Is(err, strconv.ErrRange):
				return in, models.Errorf(models.EInvalid, "The stock of %s is too large (you typed %q).", label, s)
			case err != nil:
				return in, models.Errorf(models.EInvalid, "The stock of %s must be a whole number (you typed %q).", label, s)
			case n < 0:
				return in, models.Errorf(models.EInvalid, "The stock of %s cannot be negative (you typed %q).", label, s)
			}
			v.Stock = n
		}
		in.Variants = append(in.Variants, v)
	}
	type placed struct {
		img models.ProductImage
		pos int
	}
	var imgs []placed
	for i, row := range f.Images {
		u := strings.TrimSpace(row.URL)
		if u == "" || row.Remove {
			continue
		}
		if !isMediaURL(u) {
			return in, models.Errorf(models.EInvalid, "Image row %d: upload the image below; an image's address is one of the market's own, like /media/…png, not %q.", i+1, u)
		}
		if len(row.Alt) > maxAltLength {
			return in, models.Errorf(models.EInvalid, "Image row %d: the description (alt text) may have up to %d characters.", i+1, maxAltLength)
		}
		pos := i + 1
		if s := strings.TrimSpace(row.Position); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return in, models.Errorf(models.EInvalid, "Image row %d: the position must be a whole number (you typed %q).", i+1, s)
			}
			pos = n
		}
		imgs = append(imgs, placed{models.ProductImage{URL: u, Alt: strings.TrimSpace(row.Alt)}, pos})
	}
	slices.SortStableFunc(imgs, func(a, b placed) int { return a.pos - b.pos })
	for _, p := range imgs {
		in.Images = append(in.Images, p.img)
	}
	return in, nil
}

// productPageData is what the product form page shows besides the form.
type productPageData struct {
	Form       productForm
	Markets    []models.Market
	Categories []categoryOption
	Problem    string
	Saved      bool
}

// choices are the markets and the categories (as a flattened tree) a
// product can be filed under.
func (a *catalogueAdmin) choices(ctx context.Context) ([]models.Market, []categoryOption, error) {
	markets, err := a.d.Products.Markets(ctx)
	if err != nil {
		return nil, nil, err
	}
	tree, err := a.d.Products.Categories(ctx)
	if err != nil {
		return nil, nil, err
	}
	return markets, categoryOptions(tree), nil
}

// showForm renders the product form with the markets and categories to
// choose from.
func (a *catalogueAdmin) showForm(w http.ResponseWriter, r *http.Request, status int, f productForm, problem string, saved bool) {
	markets, categories, err := a.choices(r.Context())
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	title := "New product"
	if f.ID != uuid.Nil {
		title = "Edit " + f.Name
	}
	data := productPageData{Form: f.withSpareRows(), Markets: markets, Categories: categories, Problem: problem, Saved: saved}
	a.d.Site.Render(w, r, status, AdminProductPage(a.d.Site.Page(r, title), data))
}

func (a *catalogueAdmin) newProduct(w http.ResponseWriter, r *http.Request) {
	f := productForm{Currency: "GBP", VAT: "0", Market: r.URL.Query().Get("market")}
	a.showForm(w, r, http.StatusOK, f, "", false)
}

// parseProductForm reads the product form, storing its uploaded images;
// the form comes back even with an error, with the uploads as image rows.
func (a *catalogueAdmin) parseProductForm(w http.ResponseWriter, r *http.Request) (productForm, error) {
	maxBytes := a.d.Site.Config.Media.MaxBytes
	r.Body = http.MaxBytesReader(w, r.Body, maxUploads*maxBytes+1<<20)
	err := r.ParseMultipartForm(media.UploadFormMemory)
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return productForm{}, media.TooLarge(maxBytes)
		}
		return productForm{}, models.Wrap(models.EInvalid, "The form could not be read.", err)
	}
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	f, err := readForm(r)
	if err != nil || r.MultipartForm == nil {
		return f, err
	}
	files := r.MultipartForm.File["upload"]
	if len(files) > maxUploads {
		return f, models.Errorf(models.EInvalid, "Upload at most %d images at once.", maxUploads)
	}
	for _, fh := range files {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the empty file input
		}
		file, err := fh.Open()
		if err != nil {
			return f, models.Wrap(models.EInvalid, "The image "+fh.Filename+" could not be read.", err)
		}
		name, err := media.Save(r.Context(), a.d.Media, file, maxBytes)
		_ = file.Close()
		if err != nil {
			if models.Code(err) == models.EInvalid {
				return f, models.Errorf(models.EInvalid, "%s: %s", fh.Filename, models.Message(err))
			}
			return f, err
		}
		f.Images = slices.DeleteFunc(f.Images, func(i imageRow) bool { return strings.TrimSpace(i.URL) == "" })
		f.Images = append(f.Images, imageRow{URL: media.URL(name), Alt: strings.TrimSpace(f.UploadAlt),
			Position: strconv.Itoa(len(f.Images) + 1)})
	}
	f.UploadAlt = ""
	return f, nil
}

func (a *catalogueAdmin) createProduct(w http.ResponseWriter, r *http.Request) {
	f, err := a.parseProductForm(w, r)
	var in products.ProductInput
	if err == nil {
		in, err = f.input()
	}
	var p models.Product
	if err == nil {
		p, err = a.d.Products.CreateProduct(r.Context(), in)
	}
	if err != nil {
		a.refuse(w, r, f, err)
		return
	}
	a.changed(r.Context(), p.Slug)
	http.Redirect(w, r, "/admin/products/"+p.ID.String()+"?saved=1", http.StatusSeeOther)
}

// loadProduct loads the product of the path's {id}; when it cannot, it has
// answered and returns false.
func (a *catalogueAdmin) loadProduct(w http.ResponseWriter, r *http.Request) (models.Product, bool) {
	id, ok := a.pathID(w, r, "product")
	if !ok {
		return models.Product{}, false
	}
	p, err := a.d.Products.ProductByID(r.Context(), id, true)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return p, false
	}
	return p, true
}

func (a *catalogueAdmin) editProduct(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProduct(w, r)
	if !ok {
		return
	}
	a.showForm(w, r, http.StatusOK, formOf(p), "", r.URL.Query().Get("saved") == "1")
}

// saveProduct saves the product if nobody saved it since the form was
// opened; otherwise the form comes back (409) with what was typed.
func (a *catalogueAdmin) saveProduct(w http.ResponseWriter, r *http.Request) {
	old, ok := a.loadProduct(w, r)
	if !ok {
		return
	}
	f, err := a.parseProductForm(w, r)
	f.ID, f.SavedSlug, f.Status = old.ID, old.Slug, old.Status
	var in products.ProductInput
	if err == nil {
		in, err = f.input()
	}
	var p models.Product
	if err == nil {
		p, err = a.d.Products.UpdateProduct(r.Context(), old.ID, f.Version, in)
	}
	if err != nil {
		a.refuse(w, r, f, err)
		return
	}
	a.changed(r.Context(), old.Slug, p.Slug)
	http.Redirect(w, r, "/admin/products/"+p.ID.String()+"?saved=1", http.StatusSeeOther)
}

// refuse shows the form again, with what was typed and the message, for
// a mistake or a conflict; anything else gets the error page. After a
// stale save the form carries the current version, so that saving again
// (having compared) replaces it.
func (a *catalogueAdmin) refuse(w http.ResponseWriter, r *http.Request, f productForm, err error) {
	code := models.Code(err)
	switch code {
	case models.EInvalid, models.EConflict:
	case models.ENotFound:
		// The market or category chosen is gone, or the product was
		// deleted meanwhile: still a form to fix, not a missing page.
		code = models.EInvalid
	default:
		a.d.Site.Error(w, r, err)
		return
	}
	status := http.StatusUnprocessableEntity
	if code == models.EConflict {
		status = http.StatusConflict
		if f.ID != uuid.Nil {
			if cur, cerr := a.d.Products.ProductByID(r.Context(), f.ID, true); cerr == nil {
				f.Version = cur.Version
			}
		}
	}
	a.showForm(w, r, status, f, models.Message(err), false)
}

// deleteProduct asks to confirm, then deletes the product.
func (a *catalogueAdmin) deleteProduct(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProduct(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		a.d.Site.Render(w, r, http.StatusOK, ConfirmDeletePage(a.d.Site.Page(r, "Delete "+p.Name),
			"Delete the product “"+p.Name+"”?",
			"Shoppers will no longer find it. This cannot be undone.",
			"/admin/products/"+p.ID.String()+"/delete", "/admin/products/"+p.ID.String()))
		return
	}
	if err := a.d.Products.DeleteProduct(r.Context(), p.ID); err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.changed(r.Context(), p.Slug)
	http.Redirect(w, r, "/admin/products?notice="+url.QueryEscape(fmt.Sprintf("Deleted “%s”.", p.Name)), http.StatusSeeOther)
}

// productLead is the edit page's lead: the product's state and where
// shoppers see it.
func productLead(f productForm) string {
	if f.Status == models.ProductPublished {
		return "Published at /products/" + f.SavedSlug + "."
	}
	return "A draft: shoppers do not see it."
}

// isMediaURL says whether u is an image of the media store: pages may show
// only the site's own images (the security policy), so product and market
// images are uploaded, not linked.
func isMediaURL(u string) bool {
	name, ok := strings.CutPrefix(u, "/media/")
	return ok && media.ValidName(name)
}
