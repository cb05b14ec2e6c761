package activitypub

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Discovery: how peers find our actors (WebFinger, host-meta) and what
// our servers are (NodeInfo).

// webfinger answers acct:name@host (and the actor's URL) with the actor.
func (s *Service) webfinger(w http.ResponseWriter, r *http.Request) {
	res := r.URL.Query().Get("resource")
	if res == "" {
		http.Error(w, "resource is required", http.StatusBadRequest)
		return
	}
	var name string
	if acct, ok := strings.CutPrefix(res, "acct:"); ok {
		user, host, ok := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
		if !ok || !strings.EqualFold(host, s.host()) {
			http.Error(w, "no such account on this host", http.StatusNotFound)
			return
		}
		name = user
	} else if n, ok := strings.CutPrefix(res, strings.TrimRight(s.BaseURL, "/")+"/users/"); ok {
		name = n
	} else if strings.TrimRight(res, "/") == strings.TrimRight(s.BaseURL, "/") {
		name = s.Name
	}
	a, err := s.local(r.Context(), strings.ToLower(name))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			http.Error(w, "no such account on this host", http.StatusNotFound)
			return
		}
		if errors.Is(err, ErrGone) {
			http.Error(w, "this account was deleted", http.StatusGone)
			return
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + a.Username + "@" + s.host(),
		"aliases": dedupe(a.ID, a.URL),
		"links": []any{
			map[string]any{"rel": "self", "type": MediaType, "href": a.ID},
			map[string]any{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": a.URL},
		},
	})
}

func dedupe(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func (s *Service) hostMeta(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="lrdd" template="%s/.well-known/webfinger?resource={uri}"/></XRD>
`, html.EscapeString(strings.TrimRight(s.BaseURL, "/")))
}

func (s *Service) nodeinfoLinks(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimRight(s.BaseURL, "/")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"links": []any{
		map[string]any{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": base + "/nodeinfo/2.1"},
		map[string]any{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": base + "/nodeinfo/2.0"},
	}})
}

func (s *Service) nodeinfo(w http.ResponseWriter, r *http.Request) {
	version := chi.URLParam(r, "version")
	var users, active, halfYear, posts int64
	err := s.DB.QueryRow(r.Context(), `
		SELECT (SELECT count(*) FROM users WHERE username IS NOT NULL),
		       (SELECT count(DISTINCT user_id) FROM ap_objects WHERE user_id IS NOT NULL AND published > now() - interval '30 days'),
		       (SELECT count(DISTINCT user_id) FROM ap_objects WHERE user_id IS NOT NULL AND published > now() - interval '180 days'),
		       (SELECT count(*) FROM ap_activities WHERE type = 'Create' AND listed)`).Scan(&users, &active, &halfYear, &posts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	software := map[string]any{"name": Software, "version": s.Version}
	if version == "2.1" {
		software["repository"] = "https://git.rose-ash.com/rose-ash/platform"
		software["homepage"] = "https://rose-ash.com"
	}
	w.Header().Set("Content-Type", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`)
	w.Header().Set("Cache-Control", "max-age=1800")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{"atom1.0", "rss2.0"}},
		"openRegistrations": true,
		"usage": map[string]any{
			"users":      map[string]any{"total": users, "activeMonth": active, "activeHalfyear": halfYear},
			"localPosts": posts,
		},
		"metadata": map[string]any{"nodeName": "Rose Ash " + s.Name},
	})
}
