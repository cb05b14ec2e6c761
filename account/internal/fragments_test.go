package internal

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/identity"
	"rose-ash.com/platform/shared/web"
)

// TestAccountNavShowsTheMembersPicture: the header's account menu shows
// the member's picture beside their name, a small decorative image at its
// absolute address (the menu is shown on every service's pages, whose
// content security policy lets it load); a member without one, or whose
// picture is on a host the pages would refuse, gets their name alone.
func TestAccountNavShowsTheMembersPicture(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	site := testSite(t)
	picture := site.URL("account", "/media/ab/cdef.png")
	member := func(name, avatar string) models.User {
		u := models.User{Email: strings.ToLower(name) + "@example.org", DisplayName: name}
		if err := db.QueryRow(ctx, `INSERT INTO users (email, display_name, avatar_url) VALUES ($1, $2, $3) RETURNING id`,
			u.Email, name, avatar).Scan(&u.ID); err != nil {
			t.Fatal(err)
		}
		return u
	}
	nav := func(u models.User) string {
		t.Helper()
		c, err := fragmentRenderers(site, nil, identity.New(db))[fragments.AccountNav](ctx, &u)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := c.Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	got := nav(member("Ann", picture))
	want := `<img class="account-avatar" src="` + picture + `" alt="" width="24" height="24"> <span class="account-name">Ann</span>`
	if !strings.HasPrefix(picture, "http") || !strings.Contains(got, want) {
		t.Errorf("Ann's account-nav lacks her picture beside her name:\n got %s\nwant %s", got, want)
	}
	for name, avatar := range map[string]string{"Bob": "", "Cleo": "https://pictures.example.com/cleo.png"} {
		if got := nav(member(name, avatar)); strings.Contains(got, "<img") || !strings.Contains(got, `<span class="account-name">`+name+`</span>`) {
			t.Errorf("%s (picture %q): %s, want the name and no image", name, avatar, got)
		}
	}

	// Every service's pages may load the picture.
	rec := httptest.NewRecorder()
	web.SecurityHeaders(false, site.PlatformOrigins()...)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	img, _, _ := strings.Cut(csp[strings.Index(csp, "img-src "):], ";")
	if origin := site.URL("account", ""); !strings.Contains(img+" ", " "+strings.TrimSuffix(origin, "/")+" ") {
		t.Errorf("the pages' %q does not allow the picture's origin %s", img, origin)
	}
}
