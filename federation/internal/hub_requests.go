package internal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
)

// The outcomes of answering a follow request, as the ?answered= of the
// requests page names them.
const (
	answeredApproved = "approved"
	answeredRejected = "rejected"
	answeredGone     = "gone"
)

// answeredMessage is what the requests page says after an answer; "" for
// none (or a value it does not know).
func answeredMessage(outcome string) string {
	switch outcome {
	case answeredApproved:
		return "Approved: they now follow you and see your followers-only posts."
	case answeredRejected:
		return "Declined: they do not follow you, and their server was told."
	case answeredGone:
		return "That request is no longer waiting: it was already answered, or withdrawn."
	}
	return ""
}

// showRequests lists who asks to follow the user's actor, newest first,
// each with Approve and Reject buttons, and what the last answer did.
func (h *hub) showRequests(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	page := pageNumber(r)
	list, err := h.social.FollowRequests(ctx, me, page)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	nav := h.nav(ctx, me, "requests")
	h.site.Render(w, r, http.StatusOK, RequestsPage(h.page(r, "Follow requests"), nav, list,
		answeredMessage(r.URL.Query().Get("answered"))))
}

// answerRequest approves or rejects (the {answer} of the path) the request
// of the actor in the form's uri: their server is sent Accept or Reject.
// A request no longer waiting (answered in another tab, withdrawn) is said
// so on the requests page.
func (h *hub) answerRequest(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	uri := strings.TrimSpace(r.PostFormValue("uri"))
	approve := chi.URLParam(r, "answer") == "approve"
	outcome := answeredRejected
	if approve {
		outcome = answeredApproved
	}
	err := h.ap.AnswerFollowRequest(r.Context(), me.ID, uri, approve)
	switch {
	case errors.Is(err, activitypub.ErrNoFollowRequest):
		outcome = answeredGone
	case err != nil:
		h.site.Error(w, r, models.Wrap(models.EInternal, "", fmt.Errorf("hub: answering the follow request of %s: %w", uri, err)))
		return
	default:
		h.site.NotificationsChanged(r.Context(), me.UserID) // the request's notification is read
	}
	http.Redirect(w, r, "/hub/requests?answered="+outcome, http.StatusSeeOther)
}
