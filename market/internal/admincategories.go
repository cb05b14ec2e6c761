package internal

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/products"
)

// categoryForm is a category row (or the add form) as typed.
type categoryForm struct {
	ID                           uuid.UUID // uuid.Nil for the add form
	Name, Slug, Parent, Position string
}

// categoriesPage is what the categories page shows: the tree, each row
// editable, and the add form. Edited, when set, is the row (or the add
// form) a refused save typed, shown as typed.
type categoriesPage struct {
	Rows    []categoryOption
	Add     categoryForm
	Edited  *categoryForm
	Notice  string
	Problem string
}

// row returns the form a row shows: as typed when it is the refused one.
func (p categoriesPage) row(c categoryOption) categoryForm {
	if p.Edited != nil && p.Edited.ID == c.ID {
		return *p.Edited
	}
	parent := ""
	for _, o := range p.Rows {
		if c.ParentID.Valid && o.ID == c.ParentID.UUID {
			parent = o.Slug
		}
	}
	return categoryForm{ID: c.ID, Name: c.Name, Slug: c.Slug, Parent: parent, Position: strconv.Itoa(c.Position)}
}

func (a *catalogueAdmin) listCategories(w http.ResponseWriter, r *http.Request) {
	a.renderCategories(w, r, http.StatusOK, categoriesPage{Notice: r.URL.Query().Get("notice")})
}

func (a *catalogueAdmin) renderCategories(w http.ResponseWriter, r *http.Request, status int, page categoriesPage) {
	tree, err := a.d.Products.Categories(r.Context())
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	page.Rows = categoryOptions(tree)
	if page.Edited != nil && page.Edited.ID == uuid.Nil {
		page.Add = *page.Edited
	}
	a.d.Site.Render(w, r, status, AdminCategoriesPage(a.d.Site.Page(r, "Categories"), page))
}

// readCategory reads a category form; the form comes back with the error.
func readCategory(r *http.Request) (categoryForm, products.CategoryInput, error) {
	f := categoryForm{Name: r.PostFormValue("name"), Slug: r.PostFormValue("slug"), Parent: r.PostFormValue("parent"),
		Position: strings.TrimSpace(r.PostFormValue("position"))}
	in := products.CategoryInput{Name: f.Name, Slug: f.Slug, Parent: f.Parent}
	if f.Position != "" {
		n, err := strconv.Atoi(f.Position)
		if err != nil || n < -100000 || n > 100000 {
			return f, in, models.Errorf(models.EInvalid, "The position must be a whole number such as 1, 2, 3 (you typed %q).", f.Position)
		}
		in.Position = n
	}
	return f, in, nil
}

func (a *catalogueAdmin) createCategory(w http.ResponseWriter, r *http.Request) {
	f, in, err := readCategory(r)
	var c models.Category
	if err == nil {
		c, err = a.d.Products.SaveCategory(r.Context(), uuid.Nil, in)
	}
	if err != nil {
		a.refuseCategory(w, r, f, err)
		return
	}
	a.changed(r.Context())
	http.Redirect(w, r, "/admin/categories?notice="+url.QueryEscape(fmt.Sprintf("Added “%s”.", c.Name)), http.StatusSeeOther)
}

// saveCategory renames, moves or reorders a category.
func (a *catalogueAdmin) saveCategory(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "category")
	if !ok {
		return
	}
	f, in, err := readCategory(r)
	f.ID = id
	var c models.Category
	if err == nil {
		c, err = a.d.Products.SaveCategory(r.Context(), id, in)
	}
	if err != nil {
		a.refuseCategory(w, r, f, err)
		return
	}
	// Its products' cards may name the category.
	a.changed(r.Context(), a.productSlugs(r.Context(), products.AdminQuery{Category: c.Slug})...)
	http.Redirect(w, r, "/admin/categories?notice="+url.QueryEscape(fmt.Sprintf("Saved “%s”.", c.Name)), http.StatusSeeOther)
}

func (a *catalogueAdmin) refuseCategory(w http.ResponseWriter, r *http.Request, f categoryForm, err error) {
	status := http.StatusUnprocessableEntity
	switch models.Code(err) {
	case models.EInvalid:
	case models.ENotFound:
		if f.ID != uuid.Nil {
			if _, ok := a.categoryByID(r, f.ID); !ok {
				a.d.Site.Error(w, r, err)
				return
			}
		}
	case models.EConflict:
		status = http.StatusConflict
	default:
		a.d.Site.Error(w, r, err)
		return
	}
	a.renderCategories(w, r, status, categoriesPage{Edited: &f, Problem: models.Message(err)})
}

// categoryByID finds a category in the tree.
func (a *catalogueAdmin) categoryByID(r *http.Request, id uuid.UUID) (categoryOption, bool) {
	tree, err := a.d.Products.Categories(r.Context())
	if err != nil {
		return categoryOption{}, false
	}
	for _, c := range categoryOptions(tree) {
		if c.ID == id {
			return c, true
		}
	}
	return categoryOption{}, false
}

// deleteCategory asks to confirm, then deletes a category without
// subcategories (its products are left without one).
func (a *catalogueAdmin) deleteCategory(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathID(w, r, "category")
	if !ok {
		return
	}
	c, ok := a.categoryByID(r, id)
	if !ok {
		a.d.Site.Error(w, r, models.Errorf(models.ENotFound, "There is no such category."))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		a.d.Site.Render(w, r, http.StatusOK, ConfirmDeletePage(a.d.Site.Page(r, "Delete "+c.Name),
			"Delete the category “"+c.Name+"”?",
			"Its products stay, without a category. A category with subcategories cannot be deleted.",
			"/admin/categories/"+c.ID.String()+"/delete", "/admin/categories"))
		return
	}
	slugs := a.productSlugs(r.Context(), products.AdminQuery{Category: c.Slug})
	err := a.d.Products.DeleteCategory(r.Context(), id)
	if models.Code(err) == models.EConflict {
		a.renderCategories(w, r, http.StatusConflict, categoriesPage{Problem: c.Name + ": " + models.Message(err)})
		return
	}
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	a.changed(r.Context(), slugs...)
	http.Redirect(w, r, "/admin/categories?notice="+url.QueryEscape(fmt.Sprintf("Deleted “%s”.", c.Name)), http.StatusSeeOther)
}

// indent marks a category's depth in the tree.
func indent(depth int) string { return strings.Repeat("— ", depth) }
