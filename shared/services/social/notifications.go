package social

import (
	"context"
	"html"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Notification kinds (ap_notifications.kind).
const (
	KindFollow = "follow"
	// KindFollowRequest is a Follow of a locked user's actor, waiting
	// for them to approve it.
	KindFollowRequest = "follow_request"
	KindLike          = "like"
	KindAnnounce      = "announce"
	KindReply         = "reply"
	KindMention       = "mention"
)

// Notification is something that happened to a local user's actor.
type Notification struct {
	ID   uuid.UUID
	Kind string
	// Actor is who did it.
	Actor ActorRef
	// ObjectURI is the post concerned: the user's post liked or boosted,
	// or the reply or mention itself ("" for a follow).
	ObjectURI string
	// Excerpt is the start of that post as plain text ("" when we do not
	// hold it).
	Excerpt   string
	CreatedAt time.Time
	Unread    bool
}

// NotificationPage is one page of a user's notifications, newest first.
type NotificationPage struct {
	Items   []Notification
	Page    int
	HasMore bool
}

// NotificationsPerPage is the length of a page of notifications.
const NotificationsPerPage = 20

// Notifications returns page (from 1) of a user's notifications, newest
// first. Errors: EInternal.
func (s *Store) Notifications(ctx context.Context, userID uuid.UUID, page int) (NotificationPage, error) {
	if page < 1 {
		page = 1
	}
	rows, err := s.db.Query(ctx, `
SELECT n.id, n.kind, n.actor, n.object_uri, n.created_at, n.read_at IS NULL,
       coalesce(o.content, ''),
       coalesce(a.name, ''), coalesce(a.username, ''), coalesce(a.host, ''), coalesce(a.icon_url, ''), coalesce(a.url, ''),
       coalesce(u.username, ''), coalesce(u.display_name, '')
FROM ap_notifications n
LEFT JOIN ap_objects o ON n.object_uri <> '' AND o.uri = n.object_uri AND o.deleted_at IS NULL
LEFT JOIN ap_actors a ON a.uri = n.actor
LEFT JOIN users u ON starts_with(n.actor, $2::text) AND u.username = substr(n.actor, length($2::text) + 1)
WHERE n.user_id = $1
ORDER BY n.created_at DESC, n.id DESC
LIMIT $3 OFFSET $4`, userID, s.o.FederationURL+"/users/", NotificationsPerPage+1, (page-1)*NotificationsPerPage)
	if err != nil {
		return NotificationPage{}, internal("notifications", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) {
		var (
			n                               Notification
			content                         string
			name, user, host, icon, profile string
			localUser, localName            string
		)
		err := r.Scan(&n.ID, &n.Kind, &n.Actor.URI, &n.ObjectURI, &n.CreatedAt, &n.Unread, &content,
			&name, &user, &host, &icon, &profile, &localUser, &localName)
		n.Actor = s.actorRef(n.Actor.URI, name, user, host, icon, profile, localUser, localName)
		n.Excerpt = Excerpt(content, 140)
		return n, err
	})
	if err != nil {
		return NotificationPage{}, internal("notifications", err)
	}
	p := NotificationPage{Page: page}
	if len(list) > NotificationsPerPage {
		list, p.HasMore = list[:NotificationsPerPage], true
	}
	p.Items = list
	return p, nil
}

// UnreadCount returns how many of a user's notifications are unread.
// Errors: EInternal.
func (s *Store) UnreadCount(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM ap_notifications WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, internal("unread count", err)
	}
	return n, nil
}

// MarkAllRead marks every notification of a user read.
// Errors: EInternal.
func (s *Store) MarkAllRead(ctx context.Context, userID uuid.UUID) error {
	return s.MarkReadUntil(ctx, userID, time.Time{})
}

// MarkReadUntil marks a user's notifications created at or before until
// read (all of them when until is zero), so that one arriving while a page
// was shown stays unread. Notified is told when any changed.
// Errors: EInternal.
func (s *Store) MarkReadUntil(ctx context.Context, userID uuid.UUID, until time.Time) error {
	var at *time.Time
	if !until.IsZero() {
		at = &until
	}
	tag, err := s.db.Exec(ctx, `
UPDATE ap_notifications SET read_at = now()
WHERE user_id = $1 AND read_at IS NULL AND ($2::timestamptz IS NULL OR created_at <= $2)`, userID, at)
	if err != nil {
		return internal("mark read", err)
	}
	if tag.RowsAffected() > 0 && s.o.Notified != nil {
		s.o.Notified(ctx, userID)
	}
	return nil
}

var (
	markupRE = regexp.MustCompile(`<[^>]*>`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

// Excerpt returns the start of an HTML text as plain text: markup dropped,
// entities decoded, spaces collapsed, cut at a word to at most n characters
// (with an ellipsis).
func Excerpt(htmlText string, n int) string {
	s := markupRE.ReplaceAllString(strings.NewReplacer("</p>", " ", "<br>", " ", "<br/>", " ").Replace(htmlText), "")
	s = strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(s), " "))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
