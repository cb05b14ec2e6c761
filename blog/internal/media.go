package internal

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// uploadFormMemory is how much of a multipart upload is held in memory;
// the rest of the file goes to a temporary file until it is stored.
const uploadFormMemory = 1 << 20

// uploadMedia handles POST /admin/media (behind RequireAdmin): one image in
// the multipart field "file", at most maxBytes. The editor asks for JSON and
// gets 201 {"url": "/media/<name>"}; a plain form is sent back to its local
// "next" path with ?uploaded=/media/<name>. A file too large or not an image
// gets 422 (a problem document when JSON was asked for).
func uploadMedia(site *web.Site, store media.Store, maxBytes int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The form around the file (boundaries, next) gets 1 MB of room.
		r.Body = http.MaxBytesReader(w, r.Body, maxBytes+1<<20)
		if err := r.ParseMultipartForm(uploadFormMemory); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				site.Error(w, r, media.TooLarge(maxBytes))
				return
			}
			site.Error(w, r, models.Wrap(models.EInvalid, "Send the image as a multipart form in the field \"file\".", err))
			return
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }()
		f, _, err := r.FormFile("file")
		if err != nil {
			site.Error(w, r, models.Wrap(models.EInvalid, "Choose an image to upload.", err))
			return
		}
		defer f.Close()
		name, err := media.Save(r.Context(), store, f, maxBytes)
		if err != nil {
			site.Error(w, r, err)
			return
		}
		link := media.URL(name)
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Location", link)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"url": link})
			return
		}
		http.Redirect(w, r, withUploaded(oauth.SafeNext(r.FormValue("next")), link), http.StatusSeeOther)
	}
}

// withUploaded adds uploaded=link to the query of the local path next,
// keeping its other parameters and fragment. link is a media URL, made only
// of characters that need no escaping in a query.
func withUploaded(next, link string) string {
	u, err := url.Parse(next)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += "uploaded=" + link
	return u.String()
}
