package media

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"rose-ash.com/platform/shared/models"
)

// UploadFormMemory is how much of a multipart upload is held in memory;
// the rest of the file goes to a temporary file until it is stored.
const UploadFormMemory = 1 << 20

// Upload reads one image from the multipart field "file" of r (at most
// maxBytes, with 1 MB of room for the rest of the form) and stores it,
// returning its media URL. The admins' upload endpoints of the blog and the
// market use it. Errors: EInvalid (no multipart form, no file, too large,
// not an image), EInternal.
func Upload(w http.ResponseWriter, r *http.Request, store Store, maxBytes int64) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes+1<<20)
	if err := r.ParseMultipartForm(UploadFormMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", TooLarge(maxBytes)
		}
		return "", models.Wrap(models.EInvalid, "Send the image as a multipart form in the field \"file\".", err)
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	f, _, err := r.FormFile("file")
	if err != nil {
		return "", models.Wrap(models.EInvalid, "Choose an image to upload.", err)
	}
	defer f.Close()
	name, err := Save(r.Context(), store, f, maxBytes)
	if err != nil {
		return "", err
	}
	return URL(name), nil
}

// AnswerUpload answers an upload that stored link: a client asking for
// JSON (an editor) gets 201 {"url": link}; a plain form is sent back to
// next (a local path the caller has checked) with uploaded=link added to
// its query, its other parameters and fragment kept.
func AnswerUpload(w http.ResponseWriter, r *http.Request, link, next string) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", link)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"url": link})
		return
	}
	u, err := url.Parse(next)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	// link is a media URL, made only of characters that need no escaping
	// in a query.
	u.RawQuery += "uploaded=" + link
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
