package internal

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/social"
)

// profile is an actor's page as the hub shows it.
type profile struct {
	URI, Name, Handle, Summary, IconURL, URL string
	// State is the user's follow of the actor (social.Pending...).
	State string
	// Self: the user's own actor; Local: one of our users; CanFollow: show
	// the follow controls.
	Locked, Self, Local, CanFollow bool
}

func (p profile) displayName() string {
	return social.ActorRef{URI: p.URI, Name: p.Name, Handle: p.Handle}.DisplayName()
}

// handleRE is a fediverse address: @name@host or name@host.
var handleRE = regexp.MustCompile(`^@?[A-Za-z0-9_.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*(:[0-9]{1,5})?$`)

// search resolves a handle or profile link (WebFinger, then the actor) and
// shows that actor's page, or says why it could not.
func (h *hub) search(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	nav := h.nav(ctx, me, "search")
	nav.Query = q
	fail := func(status int, problem string) {
		h.site.Render(w, r, status, SearchPage(h.page(r, "Search"), nav, problem))
	}
	if q == "" {
		fail(http.StatusOK, "")
		return
	}
	if len(q) > 500 || !(handleRE.MatchString(q) || safeLink(q) != "") {
		fail(http.StatusUnprocessableEntity, "Enter an address like @name@example.social, or the link to a profile.")
		return
	}
	a, err := h.resolver.Lookup(ctx, q)
	if err != nil {
		status, problem := resolveProblem(q, err)
		if status >= 500 && !errors.Is(err, activitypub.ErrUnreachable) {
			h.site.Error(w, r, models.Wrap(models.EInternal, "", err))
			return
		}
		fail(status, problem)
		return
	}
	http.Redirect(w, r, actorPath(a.URI), http.StatusSeeOther)
}

// resolveProblem turns a resolver error into a status and a message a
// user can act on.
func resolveProblem(q string, err error) (int, string) {
	switch {
	case errors.Is(err, activitypub.ErrGone):
		return http.StatusNotFound, "The account " + q + " has been deleted."
	case errors.Is(err, activitypub.ErrNotFound):
		return http.StatusNotFound, "No account was found at " + q + ". Check the address, or try the link to their profile."
	case errors.Is(err, activitypub.ErrUnreachable):
		return http.StatusBadGateway, "The server of " + q + " could not be reached, or did not answer as expected. Try again later."
	}
	return http.StatusInternalServerError, ""
}

// showActor shows an actor's profile: the user's own, or one resolved
// (from ap_actors, fetched again when stale), with the follow controls
// and the actor's posts we hold.
func (h *hub) showActor(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	uri := strings.TrimSpace(r.URL.Query().Get("uri"))
	before, err := social.ParseCursor(r.URL.Query().Get("before"))
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	if safeLink(uri) == "" {
		h.site.Error(w, r, models.Errorf(models.ENotFound, "No such account. Search for it by its address."))
		return
	}
	var p profile
	current := ""
	if uri == me.ID {
		local, err := h.social.LocalProfile(ctx, uri)
		if err != nil {
			h.site.Error(w, r, err)
			return
		}
		p = profile{URI: uri, Name: local.Name, Handle: local.Handle, Self: true, Local: true}
		current = "profile"
	} else {
		a, err := h.resolver.Actor(ctx, uri)
		switch {
		case err == nil:
			p = profile{URI: a.URI, Name: a.Name, Handle: a.Handle(), Summary: a.Summary, IconURL: a.IconURL, URL: a.URL,
				Locked: a.Locked, Local: h.social.IsLocal(a.URI), CanFollow: a.GoneAt == nil}
		case h.social.IsLocal(uri):
			// One of ours whose actor could not be fetched: shown, not followable.
			local, lerr := h.social.LocalProfile(ctx, uri)
			if lerr != nil {
				h.site.Error(w, r, lerr)
				return
			}
			p = profile{URI: uri, Name: local.Name, Handle: local.Handle, Local: true}
		default:
			status, problem := resolveProblem(uri, err)
			if status >= 500 && !errors.Is(err, activitypub.ErrUnreachable) {
				h.site.Error(w, r, models.Wrap(models.EInternal, "", err))
				return
			}
			code := models.ENotFound
			if status == http.StatusBadGateway {
				code = models.EUnavailable
			}
			h.site.Error(w, r, models.Wrap(code, problem, err))
			return
		}
		if p.CanFollow {
			if p.State, err = h.social.FollowState(ctx, me.ID, p.URI); err != nil {
				h.site.Error(w, r, err)
				return
			}
		}
	}
	page, err := h.social.ActorPosts(ctx, me.ID, p.URI, before, hubPageSize)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	h.site.Render(w, r, http.StatusOK, ActorPage(h.page(r, p.displayName()), h.nav(ctx, me, current), p, page, hereOr(r, actorPath(p.URI))))
}

// follow asks to follow an actor (resolved first, so that it is known and
// fresh), then shows its profile with the request pending.
func (h *hub) follow(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	uri := strings.TrimSpace(r.PostFormValue("uri"))
	if safeLink(uri) == "" {
		h.site.Error(w, r, models.Errorf(models.ENotFound, "No such account."))
		return
	}
	a, err := h.resolver.Actor(ctx, uri)
	if err != nil {
		status, problem := resolveProblem(uri, err)
		code := models.ENotFound
		switch {
		case status == http.StatusBadGateway:
			code = models.EUnavailable
		case status >= 500:
			code, problem = models.EInternal, ""
		}
		h.site.Error(w, r, models.Wrap(code, problem, err))
		return
	}
	state, err := h.social.Follow(ctx, me, a.URI)
	if err != nil {
		h.site.Error(w, r, err)
		return
	}
	if state == social.Pending {
		h.settleFollow(ctx, me, a)
	}
	http.Redirect(w, r, actorPath(a.URI), http.StatusSeeOther)
}

// followSettle bounds how long a follow waits for the followed server:
// long enough for an account that accepts at once (our own services'
// actors, Mastodon's and GoToSocial's unlocked accounts answer within a
// second or two), short enough that the button never seems stuck.
const followSettle = 3 * time.Second

// settleFollow gives a new follow a moment to settle before its page is
// shown: the followed actor's recent posts are fetched from its outbox
// (so that a newcomer does not face an empty timeline), and, for an actor
// that does not approve followers by hand, the Accept is waited for, so
// that the page says "You follow" rather than "waiting" until a reload.
// Both are bounded by followSettle; what does not arrive in time arrives
// later by the inbox, as always.
func (h *hub) settleFollow(ctx context.Context, me social.Actor, a activitypub.RemoteActor) {
	ctx, cancel := context.WithTimeout(ctx, followSettle)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if h.ap == nil {
			return
		}
		if _, err := h.ap.Backfill(ctx, a, activitypub.MaxBackfill); err != nil {
			h.site.Logger.InfoContext(ctx, "hub: the posts of a followed actor were not fetched", "actor", a.URI, "error", err)
		}
	}()
	if !a.Locked {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			if state, err := h.social.FollowState(ctx, me.ID, a.URI); err != nil || state != social.Pending {
				break
			}
			select {
			case <-ctx.Done():
				break wait
			case <-tick.C:
			}
		}
	}
	<-done
}

// unfollow stops following an actor (or withdraws the request).
func (h *hub) unfollow(w http.ResponseWriter, r *http.Request) {
	me, ok := h.actor(w, r)
	if !ok {
		return
	}
	uri := strings.TrimSpace(r.PostFormValue("uri"))
	if err := h.social.Unfollow(r.Context(), me, uri); err != nil {
		h.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, actorPath(uri), http.StatusSeeOther)
}
