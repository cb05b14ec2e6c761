package internal

import (
	"fmt"
	"net/http"
	"strconv"

	"rose-ash.com/platform/shared/models"
)

// The outcomes of saving the settings, as the ?saved= of the settings page
// names them.
const (
	savedSettings = "1"
	// savedApprovedAll: unlocking approved the requests that waited.
	savedApprovedAll = "all"
)

// savedMessage is what the settings page says after a save; "" for none.
func savedMessage(outcome string) string {
	switch outcome {
	case savedSettings:
		return "Saved."
	case savedApprovedAll:
		return "Saved. Everyone who was waiting has been approved and now follows you."
	}
	return ""
}

// unlockingText says what turning approval off does, given how many
// requests wait.
func unlockingText(pending int) string {
	waiting := "everyone who is still waiting"
	switch {
	case pending == 1:
		waiting = "the one request still waiting"
	case pending > 1:
		waiting = "the " + strconv.Itoa(pending) + " requests still waiting"
	}
	return "Turning it off approves " + waiting + ", and from then on anyone who asks follows you straight away."
}

// showSettings shows the user's hub settings: whether they approve new
// followers by hand.
func (h *hub) showSettings(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	a, err := h.social.Approval(ctx, me)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	h.site.Render(w, r, http.StatusOK, SettingsPage(h.page(r, "Settings"), h.nav(ctx, me, "settings"), a,
		savedMessage(r.URL.Query().Get("saved"))))
}

// saveSettings locks or unlocks the user's actor (the form's locked
// checkbox). Remote servers are sent the actor's Update; unlocking
// approves whoever waits, which the page then says.
func (h *hub) saveSettings(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	locked := r.PostFormValue("locked") != ""
	before, err := h.social.Approval(ctx, me)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	if err := h.ap.SetLocked(ctx, me.UserID, locked); err != nil {
		h.site.Error(w, r, models.Wrap(models.EInternal, "", fmt.Errorf("hub: setting locked=%t: %w", locked, err)))
		return
	}
	outcome := savedSettings
	if before.Locked && !locked && before.Pending > 0 {
		outcome = savedApprovedAll
	}
	http.Redirect(w, r, "/hub/settings?saved="+outcome, http.StatusSeeOther)
}
