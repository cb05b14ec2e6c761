package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
)

// uploadMedia handles POST /admin/media: one image in the multipart field
// "file", at most media.max_bytes. A client asking for JSON (an editor)
// gets 201 {"url": "/media/<name>"}; a plain form goes back to its local
// "next" path with ?uploaded=/media/<name>. A file too large or not an
// image gets 422 (a problem document when JSON was asked for).
func (a *catalogueAdmin) uploadMedia(w http.ResponseWriter, r *http.Request) {
	link, err := media.Upload(w, r, a.d.Media, a.d.Site.Config.Media.MaxBytes)
	if err != nil {
		a.d.Site.Error(w, r, err)
		return
	}
	media.AnswerUpload(w, r, link, oauth.SafeNext(r.FormValue("next")))
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
