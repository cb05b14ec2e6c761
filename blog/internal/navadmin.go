package internal

import (
	"net/http"
	"strconv"
	"strings"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/pagecache"
	"rose-ash.com/platform/shared/services/navigation"
	"rose-ash.com/platform/shared/web"
)

// spareNavRows is how many empty rows the editor offers for new links.
const spareNavRows = 4

// navAdmin edits the site navigation that the nav-tree fragment shows.
type navAdmin struct {
	site  *web.Site
	nav   *navigation.Store
	edit  *navigation.Store
	pages *pagecache.Cache
}

// fromGhost reports whether every Ghost sync replaces the navigation.
func (n navAdmin) fromGhost() bool {
	return n.site.Config.Ghost.URL != "" && n.site.Config.Ghost.ImportNavigation
}

func (n navAdmin) show(w http.ResponseWriter, r *http.Request) {
	tree, err := n.nav.NavTree(r.Context())
	if err != nil {
		n.site.Error(w, r, err)
		return
	}
	var rows []navRow
	for _, it := range tree {
		rows = append(rows, navRow{Label: it.Label, URL: it.URL})
		top := strconv.Itoa(len(rows))
		for _, ch := range it.Children {
			rows = append(rows, navRow{Label: ch.Label, URL: ch.URL, Parent: top})
		}
	}
	rows = append(rows, make([]navRow, spareNavRows)...)
	n.site.Render(w, r, http.StatusOK, NavEditorPage(n.site.Page(r, "Navigation"), rows, "", r.URL.Query().Get("saved") == "1", n.fromGhost()))
}

// save replaces the navigation, then drops the cached nav-tree fragment and
// the cached blog pages so every header shows the change at once.
func (n navAdmin) save(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		n.site.Error(w, r, models.Errorf(models.EInvalid, "The form could not be read."))
		return
	}
	labels, urls, parents := r.PostForm["label"], r.PostForm["url"], r.PostForm["parent"]
	rows := make([]navRow, len(labels))
	for i := range labels {
		rows[i] = navRow{Label: strings.TrimSpace(labels[i])}
		if i < len(urls) {
			rows[i].URL = strings.TrimSpace(urls[i])
		}
		if i < len(parents) {
			rows[i].Parent = strings.TrimSpace(parents[i])
		}
	}
	tree, err := navTree(rows)
	if err == nil {
		err = n.edit.SaveNav(r.Context(), tree)
	}
	if err != nil {
		if models.Code(err) != models.EInvalid {
			n.site.Error(w, r, err)
			return
		}
		n.site.Render(w, r, http.StatusUnprocessableEntity, NavEditorPage(n.site.Page(r, "Navigation"), rows, models.Message(err), false, n.fromGhost()))
		return
	}
	ctx := r.Context()
	if n.site.Fragments != nil {
		if err := n.site.Fragments.InvalidateNamed(ctx, fragments.NavTree, nil); err != nil {
			n.site.Logger.WarnContext(ctx, "nav-tree not invalidated", "error", err)
		}
	}
	if err := n.pages.Purge(ctx); err != nil {
		n.site.Logger.WarnContext(ctx, "page cache not purged", "error", err)
	}
	http.Redirect(w, r, "/admin/nav?saved=1", http.StatusSeeOther)
}

// navTree turns the editor's rows into a two-level tree; rows without a
// label are dropped.
func navTree(rows []navRow) ([]models.NavItem, error) {
	var tree []models.NavItem
	index := map[int]int{} // row number -> position in tree
	for i, row := range rows {
		if row.Label == "" {
			continue
		}
		item := models.NavItem{Label: row.Label, URL: row.URL}
		if row.Parent == "" {
			index[i+1] = len(tree)
			tree = append(tree, item)
			continue
		}
		p, err := strconv.Atoi(row.Parent)
		at, ok := index[p]
		if err != nil || !ok {
			return nil, models.Errorf(models.EInvalid, "Row %d is under row %q, which is not a top-level link above it.", i+1, row.Parent)
		}
		tree[at].Children = append(tree[at].Children, item)
	}
	return tree, nil
}
