package internal

import (
	"net/http"

	"rose-ash.com/platform/shared/services/social"
)

// showNotifications lists the user's notifications, newest first, and
// marks those shown (and older ones) read; one arriving meanwhile stays
// unread.
func (h *hub) showNotifications(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	page := pageNumber(r)
	list, err := h.social.Notifications(ctx, me.UserID, page)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	if len(list.Items) > 0 {
		if err := h.social.MarkReadUntil(ctx, me.UserID, list.Items[0].CreatedAt); err != nil {
			h.site.Logger.WarnContext(ctx, "notifications not marked read", "error", err)
		}
	}
	h.site.Render(w, r, http.StatusOK, NotificationsPage(h.page(r, "Notifications"), h.nav(ctx, me, "notifications"), list))
}

// notificationText says what a notification is about, after the actor's
// name.
func notificationText(kind string) string {
	switch kind {
	case social.KindFollow:
		return "followed you"
	case social.KindFollowRequest:
		return "asked to follow you"
	case social.KindLike:
		return "liked your post"
	case social.KindAnnounce:
		return "boosted your post"
	case social.KindReply:
		return "replied to you"
	case social.KindMention:
		return "mentioned you"
	}
	return kind
}
