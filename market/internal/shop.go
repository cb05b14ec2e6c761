package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/models"
)

// shop serves the shoppers' pages. (Being written: a stub that answers 501.)
type shop struct{ d Deps }

func newShop(d Deps) *shop { return &shop{d: d} }

func (s *shop) todo(w http.ResponseWriter, r *http.Request) {
	s.d.Site.Error(w, r, models.Errorf(models.EUnavailable, "Not built yet."))
}

func (s *shop) home(w http.ResponseWriter, r *http.Request)          { s.todo(w, r) }
func (s *shop) market(w http.ResponseWriter, r *http.Request)        { s.todo(w, r) }
func (s *shop) products(w http.ResponseWriter, r *http.Request)      { s.todo(w, r) }
func (s *shop) category(w http.ResponseWriter, r *http.Request)      { s.todo(w, r) }
func (s *shop) product(w http.ResponseWriter, r *http.Request)       { s.todo(w, r) }
func (s *shop) search(w http.ResponseWriter, r *http.Request)        { s.todo(w, r) }
func (s *shop) productObject(w http.ResponseWriter, r *http.Request) { s.todo(w, r) }
