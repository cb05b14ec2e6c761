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
)

// uploadFormMemory is how much of a multipart upload is held in memory;
// the rest goes to a temporary file until it is stored.
const uploadFormMemory = 1 << 20

// uploadMedia handles POST /admin/media: one image in the multipart field
// "file", at most media.max_bytes. A client asking for JSON (an editor)
// gets 201 {"url": "/media/<name>"}; a plain form goes back to its local
// "next" path with ?uploaded=/media/<name>. A file too large or not an
// image gets 422 (a problem document when JSON was asked for).
func (a *catalogueAdmin) uploadMedia(w http.ResponseWriter, r *http.Request) {
	site, maxBytes := a.d.Site, a.d.Site.Config.Media.MaxBytes
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
	name, err := media.Save(r.Context(), a.d.Media, f, maxBytes)
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
	next, err := url.Parse(oauth.SafeNext(r.FormValue("next")))
	if err != nil {
		next = &url.URL{Path: "/admin/products"}
	}
	q := next.Query()
	q.Set("uploaded", link)
	next.RawQuery = q.Encode()
	http.Redirect(w, r, next.String(), http.StatusSeeOther)
}

// uploadedImage reads the optional image upload in the multipart field
// field and stores it, returning its media URL ("" when none was sent).
func (a *catalogueAdmin) uploadedImage(r *http.Request, field string) (string, error) {
	if r.MultipartForm == nil {
		return "", nil
	}
	files := r.MultipartForm.File[field]
	if len(files) == 0 || (files[0].Size == 0 && files[0].Filename == "") {
		return "", nil
	}
	file, err := files[0].Open()
	if err != nil {
		return "", models.Wrap(models.EInvalid, "The image could not be read.", err)
	}
	defer file.Close()
	name, err := media.Save(r.Context(), a.d.Media, file, a.d.Site.Config.Media.MaxBytes)
	if err != nil {
		return "", err
	}
	return media.URL(name), nil
}
