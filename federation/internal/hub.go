package internal

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/oauth"
	"rose-ash.com/platform/shared/services/social"
	"rose-ash.com/platform/shared/web"
)

// hubPageSize is how many posts a page of a timeline or profile shows.
const hubPageSize = 20

// hub holds the social hub's handlers: timeline and compose (hub.go),
// search, profiles and follows (hub_actors.go), notifications
// (hub_notifications.go), follow requests (hub_requests.go) and settings
// (hub_settings.go). Every route is behind RequireUser.
type hub struct {
	site     *web.Site
	social   *social.Store
	resolver *activitypub.Resolver
	ap       *activitypub.Service
}

func newHub(d Deps) *hub { return &hub{site: d.Site, social: d.Social, resolver: d.Resolver, ap: d.AP} }

// hubNav is what the hub's menu shows.
type hubNav struct {
	// Current is the menu entry of the page: home, notifications,
	// requests, profile, settings.
	Current string
	Unread  int
	// Requests is how many follow requests wait; Locked: the user
	// approves followers by hand. The menu shows Requests when either
	// is set.
	Requests int
	Locked   bool
	// Me is the user's actor id (their profile link).
	Me string
	// Query is the search box's text.
	Query string
}

// actor returns the signed-in user's hub actor. A user without a username
// (sign-in normally makes them choose one) is sent to choose it, and false
// is returned.
func (h *hub) actor(w http.ResponseWriter, r *http.Request) (social.Actor, bool) {
	u, _ := web.Viewer(r.Context())
	me, err := h.social.ActorOf(u)
	if err != nil {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/hub"
		}
		http.Redirect(w, r, "/auth/welcome?next="+url.QueryEscape(next), http.StatusSeeOther)
		return me, false
	}
	return me, true
}

// pageNumber is the request's ?page=N, 1 when absent or not a number.
func pageNumber(r *http.Request) int {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		return 1
	}
	return page
}

// page returns the layout of a hub page, with the hub's stylesheet.
func (h *hub) page(r *http.Request, title string) layout.Page {
	p := h.site.Page(r, title)
	p.Head = hubHead(h.site.Assets.URL("hub.css"))
	return p
}

// nav returns the hub menu for me; a count that cannot be had is left out
// rather than failing the page.
func (h *hub) nav(ctx context.Context, me social.Actor, current string) hubNav {
	n, err := h.social.UnreadCount(ctx, me.UserID)
	if err != nil {
		h.site.Logger.WarnContext(ctx, "unread notifications not counted", "error", err)
	}
	a, err := h.social.Approval(ctx, me)
	if err != nil {
		h.site.Logger.WarnContext(ctx, "follow requests not counted", "error", err)
	}
	return hubNav{Current: current, Unread: n, Requests: a.Pending, Locked: a.Locked, Me: me.ID}
}

// showTimeline is the hub's home: the compose box and the timeline.
func (h *hub) showTimeline(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	h.renderTimeline(w, r, me, http.StatusOK, social.Draft{}, "")
}

func (h *hub) renderTimeline(w http.ResponseWriter, r *http.Request, me social.Actor, status int, d social.Draft, problem string) {
	ctx := r.Context()
	before, err := social.ParseCursor(r.URL.Query().Get("before"))
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	page, err := h.social.Timeline(ctx, me.ID, before, hubPageSize)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	h.site.Render(w, r, status, TimelinePage(h.page(r, "Home"), h.nav(ctx, me, "home"), d, problem, page, hereOr(r, "/hub")))
}

// draft reads the compose form.
func draft(r *http.Request) social.Draft {
	return social.Draft{Text: r.PostFormValue("text"), Summary: r.PostFormValue("summary"),
		Visibility: r.PostFormValue("visibility")}
}

// savePost publishes a post from the compose box; a mistake brings the
// form back with what was typed.
func (h *hub) savePost(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	d := draft(r)
	if _, err := h.social.Compose(r.Context(), me, d); err != nil {
		if models.Code(err) == models.EInvalid {
			h.renderTimeline(w, r, me, http.StatusUnprocessableEntity, d, models.Message(err))
			return
		}
		h.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/hub", http.StatusSeeOther)
}

// postURI returns the id of the post named by {id} in the path (the post's
// id, base64url-encoded); false when it is not one, after answering 404.
func (h *hub) postURI(w http.ResponseWriter, r *http.Request) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(chi.URLParam(r, "id"))
	if err != nil || !utf8.Valid(b) || safeLink(string(b)) == "" {
		h.site.Error(w, r, models.Errorf(models.ENotFound, "No such post."))
		return "", false
	}
	return string(b), true
}

// showReply shows a post with the box to answer it, addressed to its
// author and, by default, no more widely than the post itself.
func (h *hub) showReply(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	uri, ok := h.postURI(w, r)
	if !ok {
		return
	}
	post, err := h.social.Post(r.Context(), me.ID, uri)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	d := social.Draft{Visibility: social.Public}
	switch post.Visibility {
	case social.Unlisted:
		d.Visibility = social.Unlisted
	case social.Followers, social.Direct:
		d.Visibility = social.Followers
	}
	if !post.Mine && post.Author.Handle != "" {
		d.Text = post.Author.Handle + " "
	}
	h.site.Render(w, r, http.StatusOK, ReplyPage(h.page(r, "Reply"), h.nav(r.Context(), me, ""), post, d, ""))
}

// saveReply publishes a reply; a mistake brings the form back.
func (h *hub) saveReply(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	uri, ok := h.postURI(w, r)
	if !ok {
		return
	}
	d := draft(r)
	d.InReplyTo = uri
	_, err := h.social.Compose(r.Context(), me, d)
	if models.Code(err) == models.EInvalid {
		post, perr := h.social.Post(r.Context(), me.ID, uri)
		if perr != nil {
			h.site.Error(w, r, perr)
			return
		}
		h.site.Render(w, r, http.StatusUnprocessableEntity,
			ReplyPage(h.page(r, "Reply"), h.nav(r.Context(), me, ""), post, d, models.Message(err)))
		return
	}
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/hub", http.StatusSeeOther)
}

// act likes, unlikes, boosts, unboosts or deletes a post (the {action} of
// the path), then returns to the page the button was on.
func (h *hub) act(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	uri, ok := h.postURI(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var err error
	action := chi.URLParam(r, "action")
	switch action {
	case "like":
		err = h.social.Like(ctx, me, uri)
	case "unlike":
		err = h.social.Unlike(ctx, me, uri)
	case "boost":
		err = h.social.Boost(ctx, me, uri)
	case "unboost":
		err = h.social.Unboost(ctx, me, uri)
	case "delete":
		err = h.social.Delete(ctx, me, uri)
	default:
		err = models.Errorf(models.ENotFound, "No such action.")
	}
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	back := hubNext(r.PostFormValue("next"))
	switch {
	case action == "delete" && strings.Contains(back, postKey(uri)):
		back = "/hub" // the page of the post deleted is gone with it
	case action != "delete" && !strings.Contains(back, "#"):
		back += "#post-" + postKey(uri)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// hereOr returns the page a GET asked for, where buttons on it come back
// to; for a form post answered with a page, path.
func hereOr(r *http.Request, path string) string {
	if r.Method == http.MethodGet {
		return r.URL.RequestURI()
	}
	return path
}

// hubNext returns where a hub form should return to: a local hub path, or
// the hub's home.
func hubNext(raw string) string {
	next := oauth.SafeNext(raw)
	if next != "/hub" && !strings.HasPrefix(next, "/hub/") && !strings.HasPrefix(next, "/hub?") {
		return "/hub"
	}
	return next
}

// notificationsFragment renders the notifications badge for other
// services' headers.
func notificationsFragment(st *social.Store, hubURL string) fragments.Renderer {
	return func(ctx context.Context, viewer *models.User) (templ.Component, error) {
		if viewer == nil {
			return NotificationsFragment(false, 0, hubURL), nil
		}
		n, err := st.UnreadCount(ctx, viewer.ID)
		if err != nil {
			return nil, err
		}
		return NotificationsFragment(true, n, hubURL), nil
	}
}

// postKey is a post's id as it appears in hub paths.
func postKey(uri string) string { return base64.RawURLEncoding.EncodeToString([]byte(uri)) }

// postPath is the path of an action on a post.
func postPath(uri, action string) string { return "/hub/posts/" + postKey(uri) + "/" + action }

// actorPath is the hub's page of an actor.
func actorPath(uri string) string { return "/hub/actor?uri=" + url.QueryEscape(uri) }

// withQuery adds one query parameter to a path.
func withQuery(path, key, value string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + key + "=" + url.QueryEscape(value)
}

// sanitized is remote (or stored) HTML made safe to insert: it was
// sanitized before it was stored, and is again here so that nothing in the
// database is ever trusted as markup.
func sanitized(html string) string { return activitypub.SanitizeHTML(html) }

// safeLink returns u when it is an http or https URL, "" otherwise.
func safeLink(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return u
}

// externalURL is where a post lives on its own server.
func externalURL(p social.Post) string {
	if u := safeLink(p.URL); u != "" {
		return u
	}
	return safeLink(p.URI)
}

// initial is the letter shown in place of a missing avatar.
func initial(a social.ActorRef) string {
	for _, c := range a.DisplayName() {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return strings.ToUpper(string(c))
		}
	}
	return "?"
}

type option struct{ Value, Label string }

var visibilityOptions = []option{
	{social.Public, "Public: anyone, and on public timelines"},
	{social.Unlisted, "Unlisted: anyone, but not on public timelines"},
	{social.Followers, "Followers only"},
}

func visibilityLabel(v string) string {
	switch v {
	case social.Public:
		return "public"
	case social.Unlisted:
		return "unlisted"
	case social.Followers:
		return "followers only"
	case social.Direct:
		return "direct"
	}
	return v
}
