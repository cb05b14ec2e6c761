package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// Assets serves static files under content-hashed URLs
// (/static/site.3f2a1b9c0d.css), so that browsers and proxies may cache them
// for a year and a deploy still takes effect at once. Files are read into
// memory when the service starts.
type Assets struct {
	prefix string
	byName map[string]*asset // "site.css"
	byURL  map[string]*asset // "site.3f2a1b9c0d.css"
}

type asset struct {
	name, hashed, etag, ctype string
	body                      []byte
}

// NewAssets loads every file of the given file systems, mounted at prefix
// (e.g. "/static/"). Earlier layers win: a service passes its own files first
// and the shared layout's last, so it can override a shared file by name.
func NewAssets(prefix string, layers ...fs.FS) (*Assets, error) {
	a := &Assets{prefix: prefix, byName: map[string]*asset{}, byURL: map[string]*asset{}}
	for _, layer := range layers {
		err := fs.WalkDir(layer, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, seen := a.byName[p]; seen {
				return nil
			}
			body, err := fs.ReadFile(layer, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			h := hex.EncodeToString(sum[:])[:10]
			ext := path.Ext(p)
			as := &asset{
				name: p, hashed: strings.TrimSuffix(p, ext) + "." + h + ext,
				etag: `"` + h + `"`, ctype: mime.TypeByExtension(ext), body: body,
			}
			if as.ctype == "" {
				as.ctype = http.DetectContentType(body)
			}
			a.byName[p] = as
			a.byURL[as.hashed] = as
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("web: load static files: %w", err)
		}
	}
	return a, nil
}

// Version returns a short hash of every file's content: it changes with
// any static file, so caches of rendered pages (which embed the hashed
// URLs) can be keyed by it and never outlive a deploy.
func (a *Assets) Version() string {
	names := make([]string, 0, len(a.byURL))
	for n := range a.byURL {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:])[:10]
}

// URL returns the content-hashed URL of the named file. A name that is not
// there is a programming error: it returns the unhashed URL, which 404s
// visibly in development.
func (a *Assets) URL(name string) string {
	if as, ok := a.byName[name]; ok {
		return a.prefix + as.hashed
	}
	return a.prefix + name
}

// ServeHTTP serves a file by its hashed URL with a one-year immutable cache
// lifetime, or by its plain name with revalidation on every use.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, a.prefix)
	cache := "public, max-age=31536000, immutable"
	as, ok := a.byURL[name]
	if !ok {
		if as, ok = a.byName[name]; !ok {
			http.NotFound(w, r)
			return
		}
		cache = "public, no-cache"
	}
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Type", as.ctype)
	w.Header().Set("ETag", as.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(as.body))
}
