package internal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/media"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
	"rose-ash.com/platform/shared/services/carts"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/services/orders"
	"rose-ash.com/platform/shared/services/products"
	"rose-ash.com/platform/shared/web"
)

// profileFixture is a test server with the dashboard and the profile
// routes (as NewServer lists them), a temporary mail sink and media store.
type profileFixture struct {
	srv   *httptest.Server
	db    *pgxpool.Pool
	site  *web.Site
	sink  *mail.DirSink
	users map[uuid.UUID]models.User
	moved *movedEmails
}

// movedEmails records the address moves the profile asks newsletters for.
type movedEmails struct{ calls []string }

func (m *movedEmails) MoveUserEmail(_ context.Context, userID uuid.UUID, oldEmail, newEmail string) error {
	m.calls = append(m.calls, userID.String()+" "+oldEmail+" -> "+newEmail)
	return nil
}

func newProfileFixture(t *testing.T) *profileFixture {
	t.Helper()
	f := &profileFixture{db: pgtest.MustPool(t), site: testSite(t), users: map[uuid.UUID]models.User{}, moved: &movedEmails{}}
	var err error
	if f.sink, err = mail.NewDirSink(t.TempDir(), "Rose Ash <noreply@rose-ash.test>"); err != nil {
		t.Fatal(err)
	}
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Site: f.site, Carts: carts.New(f.db), Orders: orders.New(f.db, products.New(f.db)), Bookings: bookings.New(f.db),
		DB: f.db, Media: store, Mail: f.sink, EmailMover: f.moved}
	site := f.site
	r := site.Router()
	r.Handle("/media/*", media.Handler(d.Media))
	r.Group(func(r chi.Router) {
		// The stand-in for the sign-in middleware: the user a test names.
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if id, err := uuid.Parse(r.Header.Get(testUserHeader)); err == nil {
					r = r.WithContext(web.WithViewer(r.Context(), f.users[id]))
				}
				next.ServeHTTP(w, r)
			})
		})
		r.Get("/", showHome(site, d.Carts, d.Orders, d.Bookings, d.DB))
		prof := newProfiles(d)
		r.With(site.RequireUser).Get("/profile", prof.showProfile)
		r.With(site.RequireUser).Post("/profile", prof.saveProfile)
		r.With(site.RequireUser).Post("/profile/avatar", prof.uploadAvatar)
		r.With(site.RequireUser).Post("/profile/email", prof.requestEmailChange)
		r.With(site.RequireUser).Post("/profile/email/cancel", prof.cancelEmailChange)
		r.Get("/profile/email/confirm", prof.showEmailChange)
		r.Post("/profile/email/confirm", prof.confirmEmailChange)
	})
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

// user adds a member (username "" for none).
func (f *profileFixture) user(t *testing.T, email, username, name string) models.User {
	t.Helper()
	u := models.User{Email: email, Username: username, DisplayName: name}
	if err := f.db.QueryRow(context.Background(), `INSERT INTO users (email, username, display_name) VALUES ($1, nullif($2, ''), $3) RETURNING id`,
		email, username, name).Scan(&u.ID); err != nil {
		t.Fatal(err)
	}
	f.users[u.ID] = u
	return u
}

// post sends a form as user (none for uuid.Nil), without following redirects.
func (f *profileFixture) post(t *testing.T, path string, user uuid.UUID, form url.Values) (*http.Response, string) {
	t.Helper()
	return f.send(t, path, user, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func (f *profileFixture) send(t *testing.T, path string, user uuid.UUID, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if user != uuid.Nil {
		req.Header.Set(testUserHeader, user.String())
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (f *profileFixture) column(t *testing.T, id uuid.UUID, col string) string {
	t.Helper()
	var v string
	if err := f.db.QueryRow(context.Background(), `SELECT coalesce(`+col+`, '') FROM users WHERE id = $1`, id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestProfileEditValidatesAndSaves: a member's name and username are
// saved and shown on the dashboard; mistakes, a taken username and a
// username the fediverse knows are refused with a sentence (422) and
// change nothing; a visitor is sent to sign in.
func TestProfileEditValidatesAndSaves(t *testing.T) {
	f := newProfileFixture(t)
	ann := f.user(t, "ann@example.org", "ann", "Ann")
	f.user(t, "bob@example.org", "bob", "Bob")

	res, body := getAs(t, f.srv.URL+"/profile", ann.ID)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `value="ann"`) || !strings.Contains(body, `value="Ann"`) {
		t.Fatalf("profile page: %d, want Ann's name and username in the form", res.StatusCode)
	}
	if res, _ := getAs(t, f.srv.URL+"/profile", uuid.Nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a visitor's profile page: %d, want a redirect to sign in", res.StatusCode)
	}

	refused := []struct {
		name, username, display, want string
	}{
		{"bad username", "Ann!", "Ann", "A username is 3 to 30 lower-case letters, digits or underscores."},
		{"no name", "ann", "  ", "Enter the name people will see."},
		{"taken", "bob", "Ann", `The username &#34;bob&#34; is taken; choose another.`},
	}
	for _, c := range refused {
		res, body := f.post(t, "/profile", ann.ID, url.Values{"username": {c.username}, "display_name": {c.display}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want 422 saying %q", c.name, res.StatusCode, c.want)
		}
	}
	if got := f.column(t, ann.ID, "username"); got != "ann" {
		t.Fatalf("after refusals the username is %q", got)
	}

	res, _ = f.post(t, "/profile", ann.ID, url.Values{"username": {"ann_baker"}, "display_name": {" Ann Baker "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile?saved=name" {
		t.Fatalf("save: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, body := getAs(t, f.srv.URL+"/profile?saved=name", ann.ID); !strings.Contains(body, "Your profile is saved.") {
		t.Error("the profile page does not say it was saved")
	}
	_, body = getAs(t, f.srv.URL+"/", ann.ID)
	for _, want := range []string{">Profile<", "Ann Baker", "ann_baker"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q after the save", want)
		}
	}

	// Once someone on the fediverse follows her, her username stays.
	actor := f.site.URL("federation", "/users/ann_baker")
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, `INSERT INTO ap_actors (uri, host, inbox) VALUES ('https://remote.example/users/zed', 'remote.example', 'https://remote.example/inbox')`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri) VALUES ($1, 'https://remote.example/users/zed', 'https://remote.example/follows/1')`, actor); err != nil {
		t.Fatal(err)
	}
	res, body = f.post(t, "/profile", ann.ID, url.Values{"username": {"annie"}, "display_name": {"Ann Baker"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "it can no longer be changed") {
		t.Errorf("renaming a followed username: %d, want 422 saying it can no longer be changed", res.StatusCode)
	}
	// Her display name still changes.
	if res, _ := f.post(t, "/profile", ann.ID, url.Values{"username": {"ann_baker"}, "display_name": {"Annie"}}); res.StatusCode != http.StatusSeeOther ||
		f.column(t, ann.ID, "display_name") != "Annie" || f.column(t, ann.ID, "username") != "ann_baker" {
		t.Errorf("changing only the display name of a followed member: %d", res.StatusCode)
	}
}

// pngOf returns a w×h PNG.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadAvatar posts data as the multipart field "file".
func (f *profileFixture) uploadAvatar(t *testing.T, user uuid.UUID, filename string, data []byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return f.send(t, "/profile/avatar", user, mw.FormDataContentType(), &b)
}

// TestAvatarUpload: a member's picture is stored, shown on the dashboard
// and served; a file that is not an image and one over 2 MB are refused
// with a sentence and leave the picture as it was.
func TestAvatarUpload(t *testing.T) {
	f := newProfileFixture(t)
	ann := f.user(t, "ann@example.org", "ann", "Ann")

	res, _ := f.uploadAvatar(t, ann.ID, "me.png", pngOf(t, 64, 64))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	avatar := f.column(t, ann.ID, "avatar_url")
	prefix := f.site.URL("account", "/media/")
	if !strings.HasPrefix(avatar, prefix) || !strings.HasSuffix(avatar, ".png") {
		t.Fatalf("avatar_url %q, want a PNG under %s", avatar, prefix)
	}
	if _, body := getAs(t, f.srv.URL+"/", ann.ID); !strings.Contains(body, `src="`+avatar+`"`) || !strings.Contains(body, `alt="Picture of Ann"`) {
		t.Error("the dashboard does not show the picture")
	}
	res, body := getAs(t, f.srv.URL+strings.TrimPrefix(avatar, f.site.URL("account", "")), uuid.Nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || !bytes.Equal([]byte(body), pngOf(t, 64, 64)) {
		t.Errorf("the picture is served with %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}

	res, body = f.uploadAvatar(t, ann.ID, "me.png", []byte("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"))
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Only JPEG, PNG, GIF and WebP images can be uploaded.") {
		t.Errorf("a non-image: %d, want 422 with a sentence", res.StatusCode)
	}
	big := append(pngOf(t, 8, 8), make([]byte, avatarMaxBytes)...)
	res, body = f.uploadAvatar(t, ann.ID, "big.png", big)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "The image is larger than 2 MB.") {
		t.Errorf("a picture over 2 MB: %d, want 422 with a sentence", res.StatusCode)
	}
	if got := f.column(t, ann.ID, "avatar_url"); got != avatar {
		t.Errorf("after refused uploads avatar_url is %q, want %q", got, avatar)
	}

	if res, _ := f.post(t, "/profile/avatar?remove=1", ann.ID, nil); res.StatusCode != http.StatusSeeOther || f.column(t, ann.ID, "avatar_url") != "" {
		t.Errorf("removing the picture: %d, avatar_url %q", res.StatusCode, f.column(t, ann.ID, "avatar_url"))
	}
}

// mailTo returns the newest message the sink holds for to.
func (f *profileFixture) mailTo(t *testing.T, to string) mail.Stored {
	t.Helper()
	msgs, err := f.sink.List(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.To, to) {
			return m
		}
	}
	t.Fatalf("no mail to %s among %d", to, len(msgs))
	return mail.Stored{}
}

var confirmLinkRE = regexp.MustCompile(`http://\S+/profile/email/confirm\?token=\S+`)

// confirmPath is the path and query of the confirmation link in m.
func confirmPath(t *testing.T, m mail.Stored) string {
	t.Helper()
	link := confirmLinkRE.FindString(m.Text)
	u, err := url.Parse(link)
	if link == "" || err != nil {
		t.Fatalf("no confirmation link in %q", m.Text)
	}
	return u.RequestURI()
}

// accessToken signs u in for the test: a single-sign-on session and a
// grant to the account service, whose access token it returns.
func accessToken(t *testing.T, db *pgxpool.Pool, u models.User) string {
	t.Helper()
	ctx := context.Background()
	st := identity.New(db)
	sso, err := st.StartSSOSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://account.localhost/auth/callback"
	code, err := st.IssueCode(ctx, identity.CodeRequest{SSOSessionID: sso, UserID: u.ID, ClientID: "account", RedirectURI: redirect,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:])}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := st.ExchangeCode(ctx, code, "account", redirect, verifier, identity.Lifetimes{Code: time.Minute, Access: time.Hour, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return pair.AccessToken
}

// TestEmailChangeConfirmedAtTheNewAddress: asking for a new address mails
// a link there and a notice to the old one; opening the link changes
// nothing until its button is pressed; confirming changes the address and
// ends every session; the link then works no more; an address taken
// meanwhile, a malformed one, the same one and an expired link are each
// refused with a sentence.
func TestEmailChangeConfirmedAtTheNewAddress(t *testing.T) {
	ctx := context.Background()
	f := newProfileFixture(t)
	ann := f.user(t, "ann@example.org", "ann", "Ann")
	token := accessToken(t, f.db, ann)
	st := identity.New(f.db)

	for _, c := range []struct{ email, want string }{
		{"not an address", "is not an email address."},
		{"ann@example.org", "ann@example.org is already your email address."},
	} {
		res, body := f.post(t, "/profile/email", ann.ID, url.Values{"email": {c.email}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, c.want) {
			t.Errorf("%q: %d, want 422 saying %q", c.email, res.StatusCode, c.want)
		}
	}

	res, body := f.post(t, "/profile/email", ann.ID, url.Values{"email": {"ann@new.example"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "We have sent a link to ann@new.example.") {
		t.Fatalf("request: %d, want the page saying a link was sent", res.StatusCode)
	}
	link := f.mailTo(t, "ann@new.example")
	if link.Subject != "Confirm your new Rose Ash email address" || !strings.Contains(link.Text, "60 minutes") {
		t.Errorf("the new address's mail: %q %q", link.Subject, link.Text)
	}
	notice := f.mailTo(t, "ann@example.org")
	if !strings.Contains(notice.Text, "ann@new.example") || confirmLinkRE.MatchString(notice.Text) {
		t.Errorf("the old address's notice must name the new address and hold no link: %q", notice.Text)
	}
	path := confirmPath(t, link)

	// Opening the link (as a mail scanner would) changes nothing.
	for range 2 {
		res, body = getAs(t, f.srv.URL+path, uuid.Nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Confirm the change") || !strings.Contains(body, "ann@new.example") {
			t.Fatalf("the link's page: %d", res.StatusCode)
		}
	}
	if got := f.column(t, ann.ID, "email"); got != "ann@example.org" {
		t.Fatalf("a GET of the link changed the address to %q", got)
	}
	if _, err := st.CheckAccessToken(ctx, token); err != nil {
		t.Fatalf("a GET of the link signed Ann out: %v", err)
	}

	q, _ := url.ParseQuery(strings.SplitN(path, "?", 2)[1])
	res, body = f.post(t, "/profile/email/confirm", uuid.Nil, url.Values{"token": {q.Get("token")}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Your email address is now <strong>ann@new.example</strong>") {
		t.Fatalf("confirm: %d %s", res.StatusCode, body)
	}
	if got := f.column(t, ann.ID, "email"); got != "ann@new.example" {
		t.Errorf("after confirming the address is %q", got)
	}
	if _, err := st.CheckAccessToken(ctx, token); models.Code(err) != models.EUnauthenticated {
		t.Errorf("Ann's old access token after the change: %v, want it refused", err)
	}
	if want := ann.ID.String() + " ann@example.org -> ann@new.example"; len(f.moved.calls) != 1 || f.moved.calls[0] != want {
		t.Errorf("newsletter addresses moved: %q, want [%q]", f.moved.calls, want)
	}
	for _, try := range []func() (*http.Response, string){
		func() (*http.Response, string) { return getAs(t, f.srv.URL+path, uuid.Nil) },
		func() (*http.Response, string) {
			return f.post(t, "/profile/email/confirm", uuid.Nil, url.Values{"token": {q.Get("token")}})
		},
	} {
		if res, body := try(); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This confirmation link has expired or has already been used.") {
			t.Errorf("a used link: %d, want 400 with a sentence", res.StatusCode)
		}
	}

	// An address that became another member's meanwhile.
	ann.Email = "ann@new.example"
	f.users[ann.ID] = ann
	if res, _ := f.post(t, "/profile/email", ann.ID, url.Values{"email": {"cat@example.org"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("second request: %d", res.StatusCode)
	}
	taken := confirmPath(t, f.mailTo(t, "cat@example.org"))
	f.user(t, "Cat@Example.org", "cat", "Cat")
	q, _ = url.ParseQuery(strings.SplitN(taken, "?", 2)[1])
	res, body = f.post(t, "/profile/email/confirm", uuid.Nil, url.Values{"token": {q.Get("token")}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "cat@example.org already belongs to another Rose Ash account") {
		t.Errorf("a taken address: %d, want 409 with a sentence", res.StatusCode)
	}
	if got := f.column(t, ann.ID, "email"); got != "ann@new.example" || len(f.moved.calls) != 1 {
		t.Errorf("after a taken address the address is %q (newsletter moves %q)", got, f.moved.calls)
	}

	// A change cancelled from the profile page (as the old address's
	// notice says): its link no longer works.
	if res, _ := f.post(t, "/profile/email", ann.ID, url.Values{"email": {"ann@fourth.example"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("fourth request: %d", res.StatusCode)
	}
	cancelled := confirmPath(t, f.mailTo(t, "ann@fourth.example"))
	if _, body := getAs(t, f.srv.URL+"/profile", ann.ID); !strings.Contains(body, "A change to <strong>ann@fourth.example</strong> waits for confirmation") {
		t.Error("the profile page does not show the pending change")
	}
	if res, _ := f.post(t, "/profile/email/cancel", ann.ID, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	if res, body := getAs(t, f.srv.URL+cancelled, uuid.Nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "has already been used") {
		t.Errorf("a cancelled link: %d, want 400", res.StatusCode)
	}
	if _, body := getAs(t, f.srv.URL+"/profile?saved=email-cancel", ann.ID); strings.Contains(body, "waits for confirmation") || !strings.Contains(body, "The change of address is cancelled") {
		t.Error("after cancelling, the profile page still shows the change, or does not say it is cancelled")
	}

	// An expired link.
	if res, _ := f.post(t, "/profile/email", ann.ID, url.Values{"email": {"ann@third.example"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("third request: %d", res.StatusCode)
	}
	expired := confirmPath(t, f.mailTo(t, "ann@third.example"))
	if _, err := f.db.Exec(ctx, `UPDATE email_changes SET expires_at = now() - interval '1 second' WHERE new_email = 'ann@third.example'`); err != nil {
		t.Fatal(err)
	}
	if res, body := getAs(t, f.srv.URL+expired, uuid.Nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "has expired") {
		t.Errorf("an expired link: %d, want 400 saying it expired", res.StatusCode)
	}
}

// TestDashboardShowsFediverseIdentity: a member with a username sees their
// fediverse handle with their (accepted) followers and follows and a link
// to the hub; one without is invited to choose a username.
func TestDashboardShowsFediverseIdentity(t *testing.T) {
	ctx := context.Background()
	f := newProfileFixture(t)
	ann := f.user(t, "ann@example.org", "ann", "Ann")
	bob := f.user(t, "bob@example.org", "", "Bob")
	actor := f.site.URL("federation", "/users/ann")
	for i, state := range []string{"accepted", "accepted", "pending"} {
		uri := "https://remote.example/users/r" + string(rune('a'+i))
		if _, err := f.db.Exec(ctx, `INSERT INTO ap_actors (uri, host, inbox) VALUES ($1, 'remote.example', 'https://remote.example/inbox')`, uri); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec(ctx, `INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $2 || '/follow', $3)`, actor, uri, state); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := f.db.Exec(ctx, `INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $1 || '/follow/1', 'accepted')`, actor, uri); err != nil {
				t.Fatal(err)
			}
		}
	}
	fed, _ := url.Parse(f.site.URL("federation", "/"))

	_, body := getAs(t, f.srv.URL+"/", ann.ID)
	for _, want := range []string{"@ann@" + fed.Host, "2 followers", "1 following", `href="` + f.site.URL("federation", "/") + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("Ann's dashboard lacks %q", want)
		}
	}
	_, body = getAs(t, f.srv.URL+"/", bob.ID)
	if !strings.Contains(body, "Choose a username</a> to have an address on the fediverse") || strings.Contains(body, "follower") {
		t.Error("Bob (no username) is not invited to choose one, or is shown counts")
	}
}
