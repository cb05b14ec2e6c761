package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/models"
)

// importAdmin serves the admin's supplier sources and review queue. (Being
// written: a stub that answers 501.)
type importAdmin struct{ d Deps }

func newImportAdmin(d Deps) *importAdmin { return &importAdmin{d: d} }

func (a *importAdmin) todo(w http.ResponseWriter, r *http.Request) {
	a.d.Site.Error(w, r, models.Errorf(models.EUnavailable, "Not built yet."))
}

func (a *importAdmin) listSources(w http.ResponseWriter, r *http.Request)  { a.todo(w, r) }
func (a *importAdmin) addSource(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
func (a *importAdmin) showSource(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *importAdmin) saveSource(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *importAdmin) runSource(w http.ResponseWriter, r *http.Request)    { a.todo(w, r) }
func (a *importAdmin) deleteSource(w http.ResponseWriter, r *http.Request) { a.todo(w, r) }
func (a *importAdmin) listReview(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *importAdmin) showReview(w http.ResponseWriter, r *http.Request)   { a.todo(w, r) }
func (a *importAdmin) approve(w http.ResponseWriter, r *http.Request)      { a.todo(w, r) }
func (a *importAdmin) reject(w http.ResponseWriter, r *http.Request)       { a.todo(w, r) }
