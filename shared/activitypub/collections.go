package activitypub

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
)

// What our actors published and who follows them, as ActivityStreams
// collections and documents: outbox, followers, following, featured, and
// the activities and objects themselves (from ap_activities).

// pageSize is how many items a collection page holds.
const pageSize = 20

// collection serves an OrderedCollection whose first page is ?page=1.
func (s *Service) collection(w http.ResponseWriter, r *http.Request, id string, total int64, page func(offset int) ([]any, error)) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if r.URL.Query().Get("page") == "" || p < 1 {
		doc := map[string]any{"@context": ContextURL, "id": id, "type": "OrderedCollection", "totalItems": total}
		if total > 0 {
			doc["first"] = id + "?page=1"
			doc["last"] = id + "?page=" + strconv.FormatInt(max((total+pageSize-1)/pageSize, 1), 10)
		} else {
			doc["orderedItems"] = []any{}
		}
		WriteJSON(w, r, http.StatusOK, doc)
		return
	}
	items, err := page((p - 1) * pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if items == nil {
		items = []any{}
	}
	doc := map[string]any{"@context": ContextURL, "id": id + "?page=" + strconv.Itoa(p), "type": "OrderedCollectionPage",
		"partOf": id, "totalItems": total, "orderedItems": items}
	if int64(p*pageSize) < total {
		doc["next"] = id + "?page=" + strconv.Itoa(p+1)
	}
	if p > 1 {
		doc["prev"] = id + "?page=" + strconv.Itoa(p-1)
	}
	WriteJSON(w, r, http.StatusOK, doc)
}

func (s *Service) outbox(w http.ResponseWriter, r *http.Request) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var total int64
	if err := s.DB.QueryRow(r.Context(), `SELECT count(*) FROM ap_activities WHERE actor = $1 AND listed`, a.ID).Scan(&total); err != nil {
		s.fail(w, r, err)
		return
	}
	s.collection(w, r, a.ID+"/outbox", total, func(offset int) ([]any, error) {
		rows, err := s.DB.Query(r.Context(), `SELECT payload FROM ap_activities WHERE actor = $1 AND listed
			ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, a.ID, pageSize, offset)
		if err != nil {
			return nil, err
		}
		docs, err := pgx.CollectRows(rows, pgx.RowTo[map[string]any])
		items := make([]any, len(docs))
		for i, d := range docs {
			delete(d, "@context")
			items[i] = d
		}
		return items, err
	})
}

func (s *Service) followers(w http.ResponseWriter, r *http.Request) {
	s.actorList(w, r, "/followers", `ap_followers`)
}

func (s *Service) following(w http.ResponseWriter, r *http.Request) {
	s.actorList(w, r, "/following", `ap_following`)
}

// actorList serves the accepted followers or followings of an actor.
func (s *Service) actorList(w http.ResponseWriter, r *http.Request, suffix, table string) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var total int64
	if err := s.DB.QueryRow(r.Context(), `SELECT count(*) FROM `+table+` WHERE local_actor = $1 AND state = 'accepted'`,
		a.ID).Scan(&total); err != nil {
		s.fail(w, r, err)
		return
	}
	s.collection(w, r, a.ID+suffix, total, func(offset int) ([]any, error) {
		rows, err := s.DB.Query(r.Context(), `SELECT actor_uri FROM `+table+` WHERE local_actor = $1 AND state = 'accepted'
			ORDER BY created_at DESC, actor_uri LIMIT $2 OFFSET $3`, a.ID, pageSize, offset)
		if err != nil {
			return nil, err
		}
		uris, err := pgx.CollectRows(rows, pgx.RowTo[string])
		items := make([]any, len(uris))
		for i, u := range uris {
			items[i] = u
		}
		return items, err
	})
}

// featured is the pinned posts collection: none are pinned yet, but peers
// fetch it on first contact, so it is served empty.
func (s *Service) featured(w http.ResponseWriter, r *http.Request) {
	a, err := s.local(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, map[string]any{"@context": ContextURL, "id": a.ID + "/collections/featured",
		"type": "OrderedCollection", "totalItems": 0, "orderedItems": []any{}})
}

// showActivity serves a listed activity our actor emitted.
func (s *Service) showActivity(w http.ResponseWriter, r *http.Request) {
	uri := strings.TrimRight(s.BaseURL, "/") + r.URL.Path
	var payload map[string]any
	err := s.DB.QueryRow(r.Context(), `SELECT payload FROM ap_activities WHERE uri = $1 AND listed`, uri).Scan(&payload)
	if errors.Is(err, pgx.ErrNoRows) {
		s.fail(w, r, ErrNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, payload)
}

func (s *Service) showObject(w http.ResponseWriter, r *http.Request) {
	s.ServeObject(w, r, strings.TrimRight(s.BaseURL, "/")+r.URL.Path)
}

// ServeObject serves an object our actors published, as its latest Create
// or Update carried it; a deleted object is a Tombstone with 410; browsers
// are sent to the object's url. Errors are answered: 404 for an object
// we never published, 500 (logged) for the database's.
func (s *Service) ServeObject(w http.ResponseWriter, r *http.Request, uri string) {
	var typ string
	var payload map[string]any
	err := s.DB.QueryRow(r.Context(), `SELECT type, payload FROM ap_activities
		WHERE object_uri = $1 AND type IN ('Create', 'Update', 'Delete') AND listed
		ORDER BY created_at DESC, id DESC LIMIT 1`, uri).Scan(&typ, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		s.fail(w, r, ErrNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if typ == "Delete" {
		WriteJSON(w, r, http.StatusGone, map[string]any{"@context": ContextURL, "id": uri, "type": "Tombstone"})
		return
	}
	obj, _ := payload["object"].(map[string]any)
	if obj == nil {
		s.fail(w, r, ErrNotFound)
		return
	}
	if !WantsAS2(r) {
		if u := firstURL(obj["url"]); u != "" && u != uri {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}
	// The context its activity was sent with, which defines the terms it
	// uses beyond ActivityStreams' (an Event's joinMode, ical:status).
	doc := map[string]any{"@context": ContextURL}
	if c, ok := payload["@context"]; ok && c != nil {
		doc["@context"] = c
	}
	for k, v := range obj {
		doc[k] = v
	}
	WriteJSON(w, r, http.StatusOK, doc)
}
