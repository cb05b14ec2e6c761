package journeys

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/demo"
)

// The admin edits the navigation and every service's header shows it on
// the next view; a dangerous link is refused and nothing changes.
func TestNavigationEditShowsInEveryHeaderAtOnce(t *testing.T) {
	st := StartStack(t, "blog", "cart")
	seedDemo(t, st)
	admin := NewBrowser(t)
	st.SignIn(t, admin, "blog", demo.AdminEmail, "admin")
	visitor := NewBrowser(t)
	for _, svc := range []string{"blog", "cart"} { // cache the old nav-tree and the anonymous blog page
		visitor.Get(t, st.URL[svc]+"/")
	}

	form := url.Values{
		"label":  {"Home", "Markets", "Winter market", "Contact", ""},
		"url":    {"/", "/tag/producers", "/our-winter-market-schedule", "/contact", ""},
		"parent": {"", "", "2", "", ""},
	}
	if p := admin.Post(t, st.URL["blog"]+"/admin/nav", form); p.Status != 200 || !strings.Contains(p.Body, "Saved.") {
		t.Fatalf("saving the navigation: %d\n%s", p.Status, p.Body)
	}
	for _, svc := range []string{"blog", "cart"} {
		menu := between(visitor.Get(t, st.URL[svc]+"/").Body, `<nav class="site-menu"`, `</nav>`)
		if !strings.Contains(menu, ">Markets</a>") || !strings.Contains(menu, ">Winter market</a>") || strings.Contains(menu, ">About</a>") {
			t.Errorf("%s's header still shows the old navigation: %s", svc, menu)
		}
	}

	bad := url.Values{"label": {"Evil"}, "url": {"javascript:alert(1)"}, "parent": {""}}
	if p := admin.Post(t, st.URL["blog"]+"/admin/nav", bad); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "form-error") {
		t.Fatalf("a javascript: link: %d", p.Status)
	}
	if menu := visitor.Get(t, st.URL["blog"]+"/").Body; !strings.Contains(menu, ">Markets</a>") || strings.Contains(menu, "javascript:") {
		t.Fatal("a refused save changed the navigation")
	}
	if p := NewBrowser(t).Get(t, st.URL["blog"]+"/admin/nav"); strings.Contains(p.Body, "Save navigation") {
		t.Fatal("the navigation editor is open to visitors")
	}
}
