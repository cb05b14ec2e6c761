package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rose-ash.com/platform/shared/servicetest"
)

// In development, mail is written as .eml files and listed at /dev/mail,
// where a sign-in link can be followed; production has no such page.
func TestDevMailListsSentMessages(t *testing.T) {
	s := servicetest.Start(t, "federation", run, servicetest.Options{})
	resp, err := http.PostForm(s.BaseURL+"/auth/signin", url.Values{"email": {"dev@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in request: %d", resp.StatusCode)
	}
	_, _, list := s.Get(t, "/dev/mail")
	if !strings.Contains(list, "dev@example.org") || !strings.Contains(list, "Your Rose Ash sign-in link") {
		t.Fatalf("/dev/mail does not list the message:\n%s", list)
	}
	i := strings.Index(list, `href="/dev/mail/`)
	href := list[i+len(`href="`):]
	href = href[:strings.IndexByte(href, '"')]
	code, _, msg := s.Get(t, href)
	if code != 200 || !strings.Contains(msg, `href="`+s.BaseURL+`/auth/magic?token=`) {
		t.Fatalf("message page %d lacks a clickable sign-in link:\n%s", code, msg)
	}
	if code, _, _ := s.Get(t, "/dev/mail/..%2F..%2Fetc%2Fpasswd"); code == 200 {
		t.Fatal("path traversal through /dev/mail")
	}
}

func TestNoDevMailInProduction(t *testing.T) {
	s := servicetest.Start(t, "federation", run, servicetest.Options{Env: map[string]string{"APP_ENV": "production"}})
	if code, _, _ := s.Get(t, "/dev/mail"); code != http.StatusNotFound {
		t.Fatalf("/dev/mail in production = %d, want 404", code)
	}
}
