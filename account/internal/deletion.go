package internal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/web"
)

// Account deletion as the member sees it: a confirmation form (typing
// their email), then a grace period (account.deletion_grace) during which
// the account works as before, the dashboard shows a banner with "Keep
// my account", and an emailed link undoes it without signing in; after
// it the deletion job (deletion_job.go) erases the account.

// undoLinkLabel names the key undo links are signed with.
const undoLinkLabel = "account-deletion-undo"

// errUndoLink is what an undo link that is malformed, tampered with or
// past its deletion gives.
var errUndoLink = models.Errorf(models.EInvalid,
	"This link is not valid any more: your account was kept already, or it has been deleted. Sign in to see where things stand.")

// undoToken signs (user, due): the link works until the deletion is due.
func undoToken(secretKey string, userID uuid.UUID, due time.Time) string {
	b := make([]byte, 24, 56)
	copy(b, userID[:])
	binary.BigEndian.PutUint64(b[16:], uint64(due.Unix()))
	m := hmac.New(sha256.New, config.DeriveKey(secretKey, undoLinkLabel))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

// parseUndoToken returns the user and due time an undo token signs, when
// its signature holds and the deletion is not due at now. Errors:
// errUndoLink.
func parseUndoToken(secretKey, token string, now time.Time) (uuid.UUID, time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 56 {
		return uuid.Nil, time.Time{}, errUndoLink
	}
	m := hmac.New(sha256.New, config.DeriveKey(secretKey, undoLinkLabel))
	m.Write(b[:24])
	if !hmac.Equal(m.Sum(nil), b[24:]) {
		return uuid.Nil, time.Time{}, errUndoLink
	}
	id, _ := uuid.FromBytes(b[:16])
	due := time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	if !now.Before(due) {
		return uuid.Nil, time.Time{}, errUndoLink
	}
	return id, due, nil
}

// showDeleteAccount is the confirmation form (or, once asked for, when
// the deletion happens and the button that keeps the account).
func showDeleteAccount(site *web.Site, ids *identity.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _ := web.Viewer(r.Context())
		d, pending, err := ids.PendingDeletion(r.Context(), u.ID)
		if err != nil {
			site.Error(w, r, err)
			return
		}
		var dp *identity.Deletion
		if pending {
			dp = &d
		}
		site.Render(w, r, http.StatusOK, DeleteAccountPage(site.Page(r, "Delete my account"), dp, graceDays(site), ""))
	}
}

// requestDeletion records the member's deletion request once they typed
// their email (422 with the form again otherwise), emails them the undo
// link and goes back to the dashboard, which shows the banner. The
// account stays usable until the deletion is due (docs/DECISIONS.md).
func requestDeletion(site *web.Site, ids *identity.Store, sender mail.Sender) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		u, _ := web.Viewer(ctx)
		typed := strings.TrimSpace(r.PostFormValue("email"))
		if !strings.EqualFold(typed, u.Email) {
			msg := "Type your email address, " + u.Email + ", to confirm."
			if typed == "" {
				msg = "Type your email address to confirm that you want your account deleted."
			}
			site.Render(w, r, http.StatusUnprocessableEntity, DeleteAccountPage(site.Page(r, "Delete my account"), nil, graceDays(site), msg))
			return
		}
		d, err := ids.RequestDeletion(ctx, u.ID, time.Now(), site.Config.Account.Grace())
		if err != nil {
			site.Error(w, r, err)
			return
		}
		link := site.URL(site.Service, "/delete/undo?t="+url.QueryEscape(undoToken(site.Config.SecretKey, u.ID, d.DueAt)))
		if sender != nil {
			err = sender.Send(ctx, mail.Message{
				To:      u.Email,
				Subject: "Your Rose Ash account will be deleted on " + d.DueAt.UTC().Format("2 January 2006"),
				Text: "Hello,\n\nYou asked for your Rose Ash account to be deleted. It will be deleted on " +
					d.DueAt.UTC().Format("2 January 2006 at 15:04 MST") + ": your profile, basket, bookings of events to come, " +
					"newsletter subscriptions and social hub posts go, and your orders are kept without your name, email or address.\n\n" +
					"Until then your account works as before. To keep it, follow this link:\n\n" + link + "\n\n" +
					"or sign in and choose \"Keep my account\". If you did not ask for this, follow the link: someone used your account.\n\n-- Rose Ash\n",
			})
			if err != nil {
				// The request stands: the dashboard's banner keeps the account too.
				site.Logger.WarnContext(ctx, "account deletion email not sent", "error", err)
			}
		}
		http.Redirect(w, r, "/#your-data", http.StatusSeeOther)
	}
}

// keepAccount undoes the signed-in member's deletion request.
func keepAccount(site *web.Site, ids *identity.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, _ := web.Viewer(r.Context())
		if _, err := ids.CancelDeletion(r.Context(), u.ID); err != nil {
			site.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/#your-data", http.StatusSeeOther)
	}
}

// showUndoDeletion is where the emailed link lands: a page with a button
// (a GET never changes anything: mail scanners open links).
func showUndoDeletion(site *web.Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("t")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		if _, _, err := parseUndoToken(site.Config.SecretKey, token, time.Now()); err != nil {
			site.Render(w, r, http.StatusBadRequest, UndoDeletionPage(site.Page(r, "Keep my account"), "", models.Message(err), false))
			return
		}
		site.Render(w, r, http.StatusOK, UndoDeletionPage(site.Page(r, "Keep my account"), token, "", false))
	}
}

// undoDeletion keeps the account the emailed link names.
func undoDeletion(site *web.Site, ids *identity.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		id, _, err := parseUndoToken(site.Config.SecretKey, r.PostFormValue("t"), time.Now())
		if err != nil {
			site.Render(w, r, http.StatusBadRequest, UndoDeletionPage(site.Page(r, "Keep my account"), "", models.Message(err), false))
			return
		}
		if _, err := ids.CancelDeletion(r.Context(), id); err != nil {
			site.Error(w, r, err)
			return
		}
		site.Render(w, r, http.StatusOK, UndoDeletionPage(site.Page(r, "Keep my account"), "", "", true))
	}
}

// graceDays is account.deletion_grace in whole days (at least 1).
func graceDays(site *web.Site) int {
	return max(1, int(site.Config.Account.Grace().Hours()/24))
}

// deletionDate is when a deletion happens, in words.
func deletionDate(d *identity.Deletion) string {
	return d.DueAt.UTC().Format("2 January 2006 at 15:04 MST")
}
