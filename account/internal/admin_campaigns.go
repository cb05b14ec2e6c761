package internal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"rose-ash.com/platform/shared/layout"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/campaigns"
	"rose-ash.com/platform/shared/web"
)

// Campaigns is what the newsletter campaigns' admin pages and public
// archive need: the store, the job queue sending starts on, the renderer
// of messages (previews and tests) and the sender of test messages. The
// campaign form's rich-text editor is among the site's static files
// (boot.Options.Editor).
type Campaigns struct {
	Store    *campaigns.Store
	Jobs     *river.Client[pgx.Tx]
	Renderer campaigns.Renderer
	Mail     mail.Sender
}

// mountCampaigns adds the campaign routes: the admin pages under
// /admin/newsletters/campaigns (admins only) and the public archive.
func mountCampaigns(r chi.Router, site *web.Site, c *Campaigns) {
	a := campaignAdmin{site: site, c: c}
	r.Get("/newsletters/archive", a.showArchive)
	r.Get("/newsletters/archive/{slug}", a.showArchived)
	r.Route("/admin/newsletters/campaigns", func(r chi.Router) {
		r.Use(site.RequireAdmin)
		r.Get("/", a.listCampaigns)
		r.Get("/new", a.newCampaign)
		r.Post("/", a.createCampaign)
		r.Get("/{id}", a.showCampaign)
		r.Post("/{id}", a.updateCampaign)
		r.Get("/{id}/preview", a.previewCampaign)
		r.Post("/{id}/test", a.sendTest)
		r.Post("/{id}/send", a.startCampaign)
		r.Post("/{id}/schedule", a.scheduleCampaign)
		r.Post("/{id}/unschedule", a.unscheduleCampaign)
		r.Post("/{id}/pause", a.pauseCampaign)
		r.Post("/{id}/resume", a.resumeCampaign)
		r.Post("/{id}/cancel", a.cancelCampaign)
	})
}

type campaignAdmin struct {
	site *web.Site
	c    *Campaigns
}

// campaignForm is the campaign editor's content.
type campaignForm struct {
	ID       uuid.UUID
	Campaign campaigns.Campaign // zero for a new one
	Input    campaigns.Input
	Lists    []campaigns.List
	Problem  string
	Notice   string
}

func (f campaignForm) chosen(id uuid.UUID) bool {
	for _, l := range f.Input.ListIDs {
		if l == id {
			return true
		}
	}
	return false
}

func (a campaignAdmin) page(r *http.Request, title string, editor bool) layout.Page {
	p := a.site.Page(r, title)
	if editor {
		p.Head = campaignEditorHead(a.site.Assets.URL("editor.js"), a.site.Assets.URL("editor.css"))
	}
	return p
}

func (a campaignAdmin) listCampaigns(w http.ResponseWriter, r *http.Request) {
	all, err := a.c.Store.All(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	p := a.site.Page(r, "Campaigns")
	for _, s := range all {
		if s.Status == campaigns.StatusSending {
			p.Head = refreshHead(5) // progress moves without JavaScript
			break
		}
	}
	a.site.Render(w, r, http.StatusOK, CampaignsPage(p, all))
}

func (a campaignAdmin) newCampaign(w http.ResponseWriter, r *http.Request) {
	a.showForm(w, r, http.StatusOK, campaignForm{})
}

func (a campaignAdmin) showForm(w http.ResponseWriter, r *http.Request, status int, f campaignForm) {
	lists, err := a.c.Store.Lists(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	f.Lists = lists
	title := "New campaign"
	if f.ID != uuid.Nil {
		title = "Campaign: " + f.Campaign.Subject
	}
	a.site.Render(w, r, status, CampaignFormPage(a.page(r, title, true), f))
}

// input reads the campaign form.
func campaignInput(r *http.Request) campaigns.Input {
	in := campaigns.Input{Subject: r.PostFormValue("subject"), HTML: r.PostFormValue("html"),
		Archive: r.PostFormValue("archive") != ""}
	in.Version, _ = strconv.Atoi(r.PostFormValue("version"))
	for _, v := range r.PostForm["list"] {
		if id, err := uuid.Parse(v); err == nil {
			in.ListIDs = append(in.ListIDs, id)
		}
	}
	return in
}

// refuse shows the form again with what was submitted and why it was
// refused: 422 for invalid input, 409 for a stale version or a campaign
// that has started; other errors go to the error page.
func (a campaignAdmin) refuse(w http.ResponseWriter, r *http.Request, f campaignForm, err error) {
	var status int
	switch models.Code(err) {
	case models.EInvalid:
		status = http.StatusUnprocessableEntity
	case models.EConflict:
		status = http.StatusConflict
	default:
		a.site.Error(w, r, err)
		return
	}
	var me *models.Error
	if errors.As(err, &me) {
		f.Problem = me.Message
	}
	a.showForm(w, r, status, f)
}

func (a campaignAdmin) createCampaign(w http.ResponseWriter, r *http.Request) {
	in := campaignInput(r)
	u, _ := web.Viewer(r.Context())
	id, err := a.c.Store.Create(r.Context(), in, u.ID)
	if err != nil {
		in.HTML = a.c.Store.Sanitize(in.HTML)
		a.refuse(w, r, campaignForm{Input: in}, err)
		return
	}
	http.Redirect(w, r, campaignPath(id, "?saved=1"), http.StatusSeeOther)
}

func campaignPath(id uuid.UUID, suffix string) string {
	return "/admin/newsletters/campaigns/" + id.String() + suffix
}

// load reads the campaign of the URL; it writes the error page and returns
// false when there is none.
func (a campaignAdmin) load(w http.ResponseWriter, r *http.Request) (campaigns.Campaign, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		a.site.Error(w, r, models.Errorf(models.ENotFound, "There is no such campaign."))
		return campaigns.Campaign{}, false
	}
	c, err := a.c.Store.Get(r.Context(), id)
	if err != nil {
		a.site.Error(w, r, err)
		return c, false
	}
	return c, true
}

func formOf(c campaigns.Campaign) campaignForm {
	return campaignForm{ID: c.ID, Campaign: c, Input: campaigns.Input{Subject: c.Subject, HTML: c.BodyHTML,
		ListIDs: c.ListIDs, Archive: c.Archived, Version: c.Version}}
}

var campaignNotices = map[string]string{
	"saved": "Saved.", "test": "A test message went to your address.", "scheduled": "Scheduled.",
	"unscheduled": "Back to draft: it will not go out until you send or schedule it.",
	"started":     "Sending has started.", "paused": "Paused.", "resumed": "Sending again.", "cancelled": "Cancelled.",
}

func (a campaignAdmin) showCampaign(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	notice := ""
	for k, v := range campaignNotices {
		if r.URL.Query().Has(k) {
			notice = v
		}
	}
	if c.Editable() {
		f := formOf(c)
		f.Notice = notice
		a.showForm(w, r, http.StatusOK, f)
		return
	}
	st, err := a.c.Store.Stats(r.Context(), c.ID)
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	p := a.site.Page(r, "Campaign: "+c.Subject)
	if c.Status == campaigns.StatusSending || (c.Status == campaigns.StatusPaused && c.StatusNote == campaigns.NoteRelayUnreachable) {
		p.Head = refreshHead(3)
	}
	a.site.Render(w, r, http.StatusOK, CampaignPage(p, c, st, notice, a.c.Renderer.ArchiveURL(c)))
}

func (a campaignAdmin) updateCampaign(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	in := campaignInput(r)
	if err := a.c.Store.Update(r.Context(), c.ID, in); err != nil {
		in.HTML = a.c.Store.Sanitize(in.HTML)
		a.refuse(w, r, campaignForm{ID: c.ID, Campaign: c, Input: in}, err)
		return
	}
	http.Redirect(w, r, campaignPath(c.ID, "?saved=1"), http.StatusSeeOther)
}

// sample is the recipient of previews and tests: links that work like a
// subscriber's but name nobody.
func (a campaignAdmin) sample(ctx context.Context, c campaigns.Campaign, email string) (campaigns.Recipient, error) {
	rc := campaigns.Recipient{Email: email, ListSlug: "sample", ListName: "(a list)"}
	lists, err := a.c.Store.Lists(ctx)
	if err != nil {
		return rc, err
	}
	for _, l := range lists {
		for _, id := range c.ListIDs {
			if l.ID == id && rc.ListID == uuid.Nil {
				rc.ListID, rc.ListSlug, rc.ListName = l.ID, l.Slug, l.Name
			}
		}
	}
	return rc, nil
}

// previewCampaign shows the message as a recipient sees it, with sample
// unsubscribe and preferences links, sandboxed (no scripts, no forms).
func (a campaignAdmin) previewCampaign(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	rc, err := a.sample(r.Context(), c, "subscriber@example.org")
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	m := a.c.Renderer.Message(c, rc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'")
	_, _ = io.WriteString(w, m.HTML)
}

// sendTest sends the message, marked [Test], to the admin's own address.
func (a campaignAdmin) sendTest(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	u, _ := web.Viewer(r.Context())
	rc, err := a.sample(r.Context(), c, u.Email)
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	m := a.c.Renderer.Message(c, rc)
	m.Subject = "[Test] " + m.Subject
	if err := a.c.Mail.Send(r.Context(), m); err != nil {
		a.site.Error(w, r, models.Wrap(models.EUnavailable, "The test message could not be sent just now. Try again in a moment.", err))
		return
	}
	http.Redirect(w, r, campaignPath(c.ID, "?test=1"), http.StatusSeeOther)
}

func formVersion(r *http.Request) int {
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	return v
}

// act runs a state change of the campaign of the URL and goes back to its
// page, or shows the form/page with the reason it was refused.
func (a campaignAdmin) act(w http.ResponseWriter, r *http.Request, notice string, do func(context.Context, campaigns.Campaign) error) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	if err := do(r.Context(), c); err != nil {
		if c.Editable() {
			a.refuse(w, r, formOf(c), err)
			return
		}
		a.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, campaignPath(c.ID, "?"+notice+"=1"), http.StatusSeeOther)
}

func (a campaignAdmin) startCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "started", func(ctx context.Context, c campaigns.Campaign) error {
		return a.c.Store.Start(ctx, a.c.Jobs, c.ID, formVersion(r))
	})
}

// scheduleCampaign reads "at" (the datetime-local field, UTC).
func (a campaignAdmin) scheduleCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "scheduled", func(ctx context.Context, c campaigns.Campaign) error {
		at, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(r.PostFormValue("at")), time.UTC)
		if err != nil {
			return models.Errorf(models.EInvalid, "Give the date and time to send it (UTC).")
		}
		return a.c.Store.Schedule(ctx, c.ID, at, formVersion(r))
	})
}

func (a campaignAdmin) unscheduleCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "unscheduled", func(ctx context.Context, c campaigns.Campaign) error {
		return a.c.Store.Unschedule(ctx, c.ID, formVersion(r))
	})
}

func (a campaignAdmin) pauseCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "paused", func(ctx context.Context, c campaigns.Campaign) error { return a.c.Store.Pause(ctx, c.ID) })
}

func (a campaignAdmin) resumeCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "resumed", func(ctx context.Context, c campaigns.Campaign) error {
		return a.c.Store.Resume(ctx, a.c.Jobs, c.ID)
	})
}

func (a campaignAdmin) cancelCampaign(w http.ResponseWriter, r *http.Request) {
	a.act(w, r, "cancelled", func(ctx context.Context, c campaigns.Campaign) error { return a.c.Store.Cancel(ctx, c.ID) })
}

func (a campaignAdmin) showArchive(w http.ResponseWriter, r *http.Request) {
	all, err := a.c.Store.Archived(r.Context())
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, http.StatusOK, ArchivePage(a.site.Page(r, "Newsletter archive"), all))
}

func (a campaignAdmin) showArchived(w http.ResponseWriter, r *http.Request) {
	c, err := a.c.Store.ArchivedBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		a.site.Error(w, r, err)
		return
	}
	a.site.Render(w, r, http.StatusOK, ArchivedCampaignPage(a.site.Page(r, c.Subject), c))
}

func formAction(f campaignForm) string {
	if f.ID == uuid.Nil {
		return "/admin/newsletters/campaigns"
	}
	return campaignPath(f.ID, "")
}

// statusLabel says where a campaign is, in words.
func statusLabel(c campaigns.Campaign) string {
	switch c.Status {
	case campaigns.StatusDraft:
		if c.StatusNote != "" {
			return "Draft (" + c.StatusNote + ")"
		}
		return "Draft"
	case campaigns.StatusScheduled:
		return "Scheduled for " + c.ScheduledAt.UTC().Format("2 January 2006 15:04") + " UTC"
	case campaigns.StatusSending:
		return "Sending"
	case campaigns.StatusPaused:
		return "Paused: " + c.StatusNote
	case campaigns.StatusSent:
		return "Sent " + sentOn(c)
	case campaigns.StatusCancelled:
		return "Cancelled"
	}
	return c.Status
}

func sentOn(c campaigns.Campaign) string {
	if c.FinishedAt == nil {
		return ""
	}
	return c.FinishedAt.UTC().Format("2 January 2006")
}

func scheduledValue(c campaigns.Campaign) string {
	if c.ScheduledAt == nil {
		return ""
	}
	return c.ScheduledAt.UTC().Format("2006-01-02T15:04")
}
