package journeys

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A new user signs in on blog by magic link, is then signed in on cart and
// account with one click each (no mail), and signing out on cart signs them
// out of blog, account and federation within the grant-check bound.
func TestSignInSingleSignOnAndSingleLogout(t *testing.T) {
	st := StartStack(t, "blog", "cart", "account")
	b := NewBrowser(t)

	home := st.SignIn(t, b, "blog", "newcomer@example.org", "newcomer")
	if !strings.HasPrefix(home.URL, st.URL["blog"]+"/") || SignedInAs(home) != "Newcomer" {
		t.Fatalf("after sign-in: at %s as %q", home.URL, SignedInAs(home))
	}

	mails := len(st.Mail.Messages())
	for _, svc := range []string{"cart", "account"} {
		p := b.Get(t, st.URL[svc]+"/auth/login?next=/")
		if !strings.HasPrefix(p.URL, st.URL[svc]+"/") || SignedInAs(p) != "Newcomer" {
			t.Fatalf("one-click sign-in on %s: at %s as %q", svc, p.URL, SignedInAs(p))
		}
	}
	if n := len(st.Mail.Messages()); n != mails {
		t.Fatalf("single sign-on sent %d more mails", n-mails)
	}
	for _, svc := range []string{"blog", "cart", "account"} {
		if c := cookieNames(b, st.URL[svc]); len(c) != 1 {
			t.Errorf("%s has cookies %v, want its own one session cookie", svc, c)
		}
	}

	out := b.Post(t, st.URL["cart"]+"/auth/logout", nil)
	if SignedInAs(out) != "" {
		t.Fatal("cart still shows the user after signing out")
	}
	deadline := time.Now().Add(GrantCheckCache + 500*time.Millisecond)
	for _, svc := range []string{"blog", "account", "federation"} {
		for {
			p := b.Get(t, st.URL[svc]+"/")
			if SignedInAs(p) == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still signed in %s after signing out on cart", svc, GrantCheckCache)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// "next" only ever leads to a local page.
func TestLoginNextRefusesOpenRedirects(t *testing.T) {
	st := StartStack(t, "blog")
	b := NewBrowser(t)
	st.SignIn(t, b, "blog", "reader@example.org", "reader")
	for _, next := range []string{"//evil.example/x", "https:evil.example", "/\\evil.example", "javascript:alert(1)", "https://evil.example/"} {
		req, _ := http.NewRequest("GET", st.URL["blog"]+"/auth/login?next="+url.QueryEscape(next), nil)
		p := b.Do(t, req)
		if loc := p.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirects to %q, want /", next, loc)
		}
	}
}

func cookieNames(b *Browser, base string) []string {
	u, _ := url.Parse(base)
	var names []string
	for _, c := range b.jar.Cookies(u) {
		names = append(names, c.Name)
	}
	return names
}
