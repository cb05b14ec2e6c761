package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/models"
)

// catalogueAdmin serves the admin's catalogue pages. (Being written: a stub
// that answers 501.)
type catalogueAdmin struct{ d Deps }

func newCatalogueAdmin(d Deps) *catalogueAdmin { return &catalogueAdmin{d: d} }

func (a *catalogueAdmin) todo(w http.ResponseWriter, r *http.Request) {
	a.d.Site.Error(w, r, models.Errorf(models.EUnavailable, "Not built yet."))
}

func (a *catalogueAdmin) listProducts(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *catalogueAdmin) bulk(w http.ResponseWriter, r *http.Request)           { a.todo(w, r) }
func (a *catalogueAdmin) newProduct(w http.ResponseWriter, r *http.Request)     { a.todo(w, r) }
func (a *catalogueAdmin) createProduct(w http.ResponseWriter, r *http.Request)  { a.todo(w, r) }
func (a *catalogueAdmin) editProduct(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
func (a *catalogueAdmin) saveProduct(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
func (a *catalogueAdmin) deleteProduct(w http.ResponseWriter, r *http.Request)  { a.todo(w, r) }
func (a *catalogueAdmin) listMarkets(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
func (a *catalogueAdmin) newMarket(w http.ResponseWriter, r *http.Request)      { a.todo(w, r) }
func (a *catalogueAdmin) createMarket(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *catalogueAdmin) editMarket(w http.ResponseWriter, r *http.Request)     { a.todo(w, r) }
func (a *catalogueAdmin) saveMarket(w http.ResponseWriter, r *http.Request)     { a.todo(w, r) }
func (a *catalogueAdmin) deleteMarket(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *catalogueAdmin) listCategories(w http.ResponseWriter, r *http.Request) { a.todo(w, r) }
func (a *catalogueAdmin) createCategory(w http.ResponseWriter, r *http.Request) { a.todo(w, r) }
func (a *catalogueAdmin) saveCategory(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *catalogueAdmin) deleteCategory(w http.ResponseWriter, r *http.Request) { a.todo(w, r) }
func (a *catalogueAdmin) uploadMedia(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
