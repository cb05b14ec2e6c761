package internal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/social"
	"rose-ash.com/platform/shared/web"
)

// avatarMaxBytes caps an uploaded picture (the media store's own cap,
// for feature images, is larger).
const avatarMaxBytes = 2 << 20

// EmailMover moves what follows a member's email address elsewhere on the
// platform (their newsletter subscriptions) once their address changed:
// (*newsletters.Store).MoveUserEmail.
type EmailMover interface {
	MoveUserEmail(ctx context.Context, userID uuid.UUID, oldEmail, newEmail string) error
}

// profiles serves the member's profile page: name and username, picture,
// and the change of email address confirmed at the new address.
type profiles struct {
	site     *web.Site
	identity *identity.Store
	media    media.Store
	mail     mail.Sender
	// moveMail is nil when nothing else follows the address.
	moveMail EmailMover
	db       *pgxpool.Pool
}

func newProfiles(d Deps) *profiles {
	return &profiles{site: d.Site, identity: identity.New(d.DB), media: d.Media, mail: d.Mail, moveMail: d.EmailMover, db: d.DB}
}

// profileForm is the profile page's state: the member's profile, what they
// typed, and what each form has to say.
type profileForm struct {
	Profile               identity.Profile
	Username, DisplayName string
	NewEmail              string
	NameProblem           string
	AvatarProblem         string
	EmailProblem          string
	Notice                string
	// Pending is the change of address waiting for confirmation, if any.
	Pending               *identity.EmailChange
	FediverseHost, HubURL string
}

// savedNotices are what the profile page says after a save, by ?saved=.
var savedNotices = map[string]string{
	"name":          "Your profile is saved.",
	"avatar":        "Your picture is saved.",
	"avatar-remove": "Your picture is removed.",
	"email-cancel":  "The change of address is cancelled: its link no longer works.",
}

// form returns the page's state for the signed-in member, read now.
func (p *profiles) form(ctx context.Context, u models.User) (profileForm, error) {
	prof, err := p.identity.Profile(ctx, u.ID)
	if err != nil {
		return profileForm{}, err
	}
	f := profileForm{Profile: prof, Username: prof.Username, DisplayName: prof.DisplayName, HubURL: p.site.URL("federation", "/")}
	if fu, err := url.Parse(p.site.URL("federation", "/")); err == nil {
		f.FediverseHost = fu.Host
	}
	c, pending, err := p.identity.PendingEmailChangeOf(ctx, u.ID)
	if err != nil {
		return profileForm{}, err
	}
	if pending {
		f.Pending = &c
	}
	return f, nil
}

// render shows the profile page with status.
func (p *profiles) render(w http.ResponseWriter, r *http.Request, status int, f profileForm) {
	p.site.Render(w, r, status, ProfilePage(p.site.Page(r, "Your profile"), f))
}

// showProfile shows the member's profile page (signed in).
func (p *profiles) showProfile(w http.ResponseWriter, r *http.Request) {
	u, _ := web.Viewer(r.Context())
	f, err := p.form(r.Context(), u)
	if err != nil {
		p.site.Error(w, r, err)
		return
	}
	f.Notice = savedNotices[r.URL.Query().Get("saved")]
	p.render(w, r, http.StatusOK, f)
}

// saveProfile sets the member's display name and username; a mistake, a
// taken username or one the fediverse already knows re-shows the form
// (422) with a sentence.
func (p *profiles) saveProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := web.Viewer(ctx)
	username, display := r.PostFormValue("username"), r.PostFormValue("display_name")
	if _, err := p.identity.EditProfile(ctx, u.ID, username, display, p.site.URL("federation", "")); err != nil {
		if c := models.Code(err); c != models.EInvalid && c != models.EConflict {
			p.site.Error(w, r, err)
			return
		}
		f, ferr := p.form(ctx, u)
		if ferr != nil {
			p.site.Error(w, r, ferr)
			return
		}
		f.Username, f.DisplayName, f.NameProblem = username, display, models.Message(err)
		p.render(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	p.changed(ctx, u.ID)
	http.Redirect(w, r, "/profile?saved=name", http.StatusSeeOther)
}

// uploadAvatar stores the member's picture (multipart field "file": a
// JPEG, PNG, GIF or WebP image of at most 2 MB) in the media store and
// makes its URL here their users.avatar_url; remove=1 removes it instead.
// Anything else re-shows the form (422) with a sentence.
func (p *profiles) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := web.Viewer(ctx)
	saved := "avatar"
	link, err := "", error(nil)
	if r.URL.Query().Get("remove") == "1" {
		saved = "avatar-remove"
	} else if link, err = media.Upload(w, r, p.media, avatarMaxBytes); err == nil {
		link = p.site.URL(p.site.Service, link)
	}
	if err == nil {
		err = p.identity.SetAvatar(ctx, u.ID, link)
	}
	if err != nil {
		if models.Code(err) != models.EInvalid {
			p.site.Error(w, r, err)
			return
		}
		f, ferr := p.form(ctx, u)
		if ferr != nil {
			p.site.Error(w, r, ferr)
			return
		}
		f.AvatarProblem = models.Message(err)
		p.render(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	p.changed(ctx, u.ID)
	http.Redirect(w, r, "/profile?saved="+saved, http.StatusSeeOther)
}

// changed drops the member's cached account menu, which shows their name.
func (p *profiles) changed(ctx context.Context, userID uuid.UUID) {
	if p.site.Fragments == nil {
		return
	}
	if err := p.site.Fragments.InvalidateNamed(ctx, fragments.AccountNav, &userID); err != nil {
		p.site.Logger.WarnContext(ctx, "account-nav not invalidated", "error", err)
	}
}

// requestEmailChange mails a link confirming the change to the new address
// (it works once, for an hour) and a notice to the current one; nothing
// changes until the link is confirmed. A malformed address, the current
// one or too many requests re-show the form (422) with a sentence.
func (p *profiles) requestEmailChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := web.Viewer(ctx)
	raw := r.PostFormValue("email")
	req, err := p.identity.IssueEmailChange(ctx, u.ID, raw)
	f, ferr := p.form(ctx, u)
	if ferr != nil {
		p.site.Error(w, r, ferr)
		return
	}
	if err != nil {
		if c := models.Code(err); c != models.EInvalid && c != models.EConflict {
			p.site.Error(w, r, err)
			return
		}
		f.NewEmail, f.EmailProblem = raw, models.Message(err)
		p.render(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	minutes := strconv.Itoa(int(identity.EmailChangeTTL.Minutes()))
	link := p.site.URL(p.site.Service, "/profile/email/confirm?token="+url.QueryEscape(req.Token))
	err = p.mail.Send(ctx, mail.Message{
		To:      req.NewEmail,
		Subject: "Confirm your new Rose Ash email address",
		Text: "Hello,\n\nYou asked to use this address, " + req.NewEmail + ", for your Rose Ash account instead of " + req.OldEmail + ".\n\n" +
			"Follow this link to confirm it:\n\n" + link + "\n\n" +
			"It works once, for " + minutes + " minutes. Confirming signs you out everywhere; you then sign in with this address.\n" +
			"If you did not ask for this, ignore this email: nothing changes without the link.\n\n-- Rose Ash\n",
	})
	if err != nil {
		p.site.Error(w, r, models.Wrap(models.EUnavailable, "We could not send the confirmation email just now. Please try again in a moment.", err))
		return
	}
	err = p.mail.Send(ctx, mail.Message{
		To:      req.OldEmail,
		Subject: "Your Rose Ash email address is about to change",
		Text: "Hello,\n\nSomeone signed in to your Rose Ash account asked to change its email address from " + req.OldEmail + " to " + req.NewEmail + ".\n\n" +
			"Nothing changes until the link we sent to " + req.NewEmail + " is confirmed (within " + minutes + " minutes).\n" +
			"If this was not you, sign in with this address, cancel the change on your profile (" + p.site.URL(p.site.Service, "/profile") + ") and sign out everywhere from your account page.\n\n-- Rose Ash\n",
	})
	if err != nil {
		// The change stays possible; the owner of the old address only
		// misses the warning. Logged, not shown: the new address got its link.
		p.site.Logger.WarnContext(ctx, "email change notice not sent to the old address", "error", err)
	}
	f.Pending = &req.EmailChange
	f.Notice = "We have sent a link to " + req.NewEmail + ". Open it within " + minutes + " minutes to confirm the change; until then your address stays " + req.OldEmail + "."
	p.render(w, r, http.StatusOK, f)
}

// cancelEmailChange voids the member's unconfirmed change of address.
func (p *profiles) cancelEmailChange(w http.ResponseWriter, r *http.Request) {
	u, _ := web.Viewer(r.Context())
	if _, err := p.identity.CancelEmailChange(r.Context(), u.ID); err != nil {
		p.site.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/profile?saved=email-cancel", http.StatusSeeOther)
}

// showEmailChange is where the link mailed to the new address lands: a
// page naming the change with a button that confirms it. A GET changes
// nothing (mail scanners open links). No sign-in is needed: the link is
// the proof that the new address is the member's.
func (p *profiles) showEmailChange(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	c, err := p.identity.PendingEmailChange(r.Context(), token)
	// The token is in this page's URL: keep it out of Referer headers and caches.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		p.emailChangeFailed(w, r, err)
		return
	}
	p.site.Render(w, r, http.StatusOK, EmailChangePage(p.site.Page(r, "Confirm your new email address"), c, token))
}

// confirmEmailChange changes the member's address (once per link), signs
// them out everywhere in the same transaction, then moves their newsletter
// subscriptions to the new address.
func (p *profiles) confirmEmailChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	c, err := p.identity.ConfirmEmailChange(ctx, r.PostFormValue("token"))
	if err != nil {
		p.emailChangeFailed(w, r, err)
		return
	}
	if p.moveMail != nil {
		if err := p.moveMail.MoveUserEmail(ctx, c.UserID, c.OldEmail, c.NewEmail); err != nil {
			p.site.Logger.ErrorContext(ctx, "newsletter subscriptions not moved to the new address", "error", err)
		}
	}
	p.changed(ctx, c.UserID)
	p.site.Render(w, r, http.StatusOK, EmailChangedPage(p.site.Page(r, "Email address changed"), c))
}

// emailChangeFailed shows why a confirmation link does nothing: 400 for a
// used, expired or unknown link, 409 for an address that belongs to
// another account.
func (p *profiles) emailChangeFailed(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	switch models.Code(err) {
	case models.EInvalid:
	case models.EConflict:
		status = http.StatusConflict
	default:
		p.site.Error(w, r, err)
		return
	}
	p.site.Render(w, r, status, EmailChangeFailedPage(p.site.Page(r, "Email address not changed"), models.Message(err)))
}

// profileView is the Profile section of the dashboard.
type profileView struct {
	Profile identity.Profile
	// Handle is the member's fediverse address (@name@host), "" while they
	// have no username; Follows counts their actor's followers and follows.
	Handle  string
	Follows social.FollowCounts
	HubURL  string
}

// dashboardProfile reads the member's Profile section: their profile,
// read now, and their fediverse identity (the hub actor at federation).
func dashboardProfile(ctx context.Context, site *web.Site, db *pgxpool.Pool, u models.User) (*profileView, error) {
	prof, err := identity.New(db).Profile(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	v := &profileView{Profile: prof, HubURL: site.URL("federation", "/")}
	if prof.Username == "" {
		return v, nil
	}
	hub := social.New(db, nil, social.Options{FederationURL: site.URL("federation", "")})
	me, err := hub.ActorOf(prof.User)
	if err != nil {
		return nil, err
	}
	v.Handle = hub.LocalHandle(prof.Username)
	if v.Follows, err = hub.FollowCounts(ctx, me); err != nil {
		return nil, err
	}
	return v, nil
}

// countText is "1 follower" or "N followers" (noun's plural with an s).
func countText(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// expiresText is when an email change's link stops working, in UTC.
func expiresText(t time.Time) string { return t.UTC().Format("15:04 MST") }

// usernameHelp explains what a username is, with the fediverse address the
// saved one makes ("name" while the member has none).
func usernameHelp(f profileForm) string {
	name := f.Profile.Username
	if name == "" {
		name = "name"
	}
	return "3 to 30 lower-case letters, digits or underscores. It is also your fediverse address, @" + name + "@" + f.FediverseHost +
		", so it cannot change once people there follow you or see your posts."
}
