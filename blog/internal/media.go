package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/web"
)

// uploadMedia handles POST /admin/media (behind RequireAdmin): one image in
// the multipart field "file", at most maxBytes. The editor asks for JSON and
// gets 201 {"url": "/media/<name>"}; a plain form is sent back to its local
// "next" path with ?uploaded=/media/<name>. A file too large or not an image
// gets 422 (a problem document when JSON was asked for).
func uploadMedia(site *web.Site, store media.Store, maxBytes int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		link, err := media.Upload(w, r, store, maxBytes)
		if err != nil {
			site.Error(w, r, err)
			return
		}
		media.AnswerUpload(w, r, link, oauth.SafeNext(r.FormValue("next")))
	}
}
