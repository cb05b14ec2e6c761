package internal

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/ghostsync"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/web"
)

// GhostSync is what the blog's Ghost handlers need; nil when no Ghost site
// is configured.
type GhostSync struct {
	URL           string
	WebhookSecret string
	// Interval is how often the periodic sync runs; 0 when it is off.
	Interval time.Duration
	Jobs     *river.Client[pgx.Tx]
	State    func(context.Context) (ghostsync.State, error)
	// MembersPosts and ImportNavigation are the config's (ghost.*), shown
	// on the admin page.
	MembersPosts     string
	ImportNavigation bool
}

// notes say, for the admin page, how the sync treats members-only posts
// and the navigation.
func (g *GhostSync) notes() []string {
	var n []string
	if g.MembersPosts == config.GhostMembersImport {
		n = append(n, "Members-only and paid posts are imported as members-only: signed-in members read them, others see a notice; they are never sent to followers.")
	} else {
		n = append(n, "Members-only and paid posts are not imported (ghost.members_posts: skip).")
	}
	if g.ImportNavigation {
		n = append(n, "Ghost's navigation replaces the blog's on every sync: Ghost wins over edits made in Navigation.")
	}
	return n
}

// ghostHandlers serve Ghost's webhooks and the admin's sync page.
type ghostHandlers struct {
	site *web.Site
	sync *GhostSync
}

// maxWebhook caps a webhook body; Ghost's are a few kilobytes to a few
// hundred for a long post.
const maxWebhook = 2 << 20

// webhook takes Ghost's post, page and tag events: it checks the signature
// (refusing stale ones) and queues a sync, which re-reads from the Content
// API rather than trusting the payload. It answers at once.
func (g ghostHandlers) webhook(w http.ResponseWriter, r *http.Request) {
	if g.sync == nil || g.sync.WebhookSecret == "" {
		g.site.Error(w, r, models.Errorf(models.ENotFound, "Ghost webhooks are not configured here."))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhook))
	if err != nil {
		g.site.Error(w, r, models.Errorf(models.EInvalid, "The webhook body is too large or unreadable."))
		return
	}
	if err := ghostsync.VerifySignature(g.sync.WebhookSecret, body, r.Header.Get("X-Ghost-Signature"), time.Now()); err != nil {
		g.site.Logger.WarnContext(r.Context(), "ghost webhook refused", "error", err)
		g.site.Error(w, r, models.Errorf(models.EUnauthenticated, "The webhook signature is missing, wrong or stale."))
		return
	}
	kind, id, err := ghostsync.ParseWebhook(body)
	if err != nil {
		kind = "site.changed" // site-wide events carry no post; a sync covers them too
	}
	if _, err := g.sync.Jobs.Insert(r.Context(), ghostsync.SyncArgs{Reason: "webhook " + kind + " " + id}, nil); err != nil {
		g.site.Error(w, r, models.Wrap(models.EUnavailable, "The sync could not be queued; Ghost will retry.", err))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (g ghostHandlers) show(w http.ResponseWriter, r *http.Request) {
	var (
		st       ghostsync.State
		url      string
		interval time.Duration
	)
	if g.sync != nil {
		var err error
		if st, err = g.sync.State(r.Context()); err != nil {
			g.site.Error(w, r, models.Wrap(models.EInternal, "", err))
			return
		}
		url, interval = g.sync.URL, g.sync.Interval
	}
	var notes []string
	if g.sync != nil {
		notes = g.sync.notes()
	}
	g.site.Render(w, r, http.StatusOK, GhostAdminPage(g.site.Page(r, "Ghost sync"), url, interval, st, r.URL.Query().Get("queued") == "1", notes))
}

func (g ghostHandlers) syncNow(w http.ResponseWriter, r *http.Request) {
	if g.sync == nil {
		g.site.Error(w, r, models.Errorf(models.ENotFound, "No Ghost site is configured."))
		return
	}
	if _, err := g.sync.Jobs.Insert(r.Context(), ghostsync.SyncArgs{Reason: "admin"}, nil); err != nil {
		g.site.Error(w, r, models.Wrap(models.EUnavailable, "The sync could not be queued. Please try again.", err))
		return
	}
	http.Redirect(w, r, "/admin/ghost?queued=1", http.StatusSeeOther)
}

// allowEmbeds lets post pages frame the configured embed hosts (Ghost's
// embed cards, kept by the sync sandboxed): it adds a frame-src naming
// exactly those hosts, over https, to the Content-Security-Policy that
// web.SecurityHeaders set, whose default-src 'self' refuses them. It wraps
// the page cache, so cached pages carry it too.
func allowEmbeds(hosts []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(hosts) == 0 {
			return next
		}
		src := "frame-src"
		for _, h := range hosts {
			src += " https://" + h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if csp := w.Header().Get("Content-Security-Policy"); csp != "" {
				w.Header().Set("Content-Security-Policy", csp+"; "+src)
			}
			next.ServeHTTP(w, r)
		})
	}
}
