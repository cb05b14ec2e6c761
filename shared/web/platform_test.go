package web_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/a-h/templ"

	"rose-ash.com/platform/shared/fragments"
	"rose-ash.com/platform/shared/models"
)

// MountPlatform gives a service its machine routes: alive, ready, metrics,
// static files, and its fragments only to callers with the internal secret;
// a service without fragments has no fragment route.
func TestMountPlatform(t *testing.T) {
	site := testSite(t, io.Discard)
	r := site.Router()
	site.MountPlatform(r, map[string]fragments.Renderer{
		fragments.CartMini: func(context.Context, *models.User) (templ.Component, error) {
			return templ.Raw(`<div class="cart-mini">Cart</div>`), nil
		},
	})
	for _, tc := range []struct {
		target string
		hdr    map[string]string
		want   int
	}{
		{"/healthz", nil, http.StatusOK},
		{"/readyz", nil, http.StatusOK},
		{"/metrics", nil, http.StatusOK},
		{"/static/logo.svg", nil, http.StatusOK},
		{"/internal/fragments/cart-mini", nil, http.StatusForbidden},
		{"/internal/fragments/cart-mini", map[string]string{fragments.SecretHeader: fragments.Secret(site.Config.SecretKey)}, http.StatusOK},
		{"/internal/fragments/nope", map[string]string{fragments.SecretHeader: fragments.Secret(site.Config.SecretKey)}, http.StatusNotFound},
	} {
		if got := do(r, http.MethodGet, "http://127.0.0.1:8003"+tc.target, tc.hdr); got.Code != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.target, got.Code, tc.want)
		}
	}

	bare := testSite(t, io.Discard)
	br := bare.Router()
	bare.MountPlatform(br, nil)
	if got := do(br, http.MethodGet, "/internal/fragments/cart-mini", map[string]string{fragments.SecretHeader: fragments.Secret(bare.Config.SecretKey)}); got.Code != http.StatusNotFound {
		t.Errorf("fragments on a service without any: %d, want 404", got.Code)
	}
	if got := do(br, http.MethodGet, "/healthz", nil); got.Code != http.StatusOK {
		t.Errorf("/healthz without fragments: %d", got.Code)
	}
}
