package internal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/web"
)

// The hub shows remote images (actors' avatars) through its own media
// proxy at /hub/media/{token}, as Mastodon does: viewers' browsers never
// contact remote servers, so those servers learn nothing about who reads
// what, and hub pages keep the platform's CSP (images from 'self' only).
const (
	// mediaMaxBody is the largest remote image fetched.
	mediaMaxBody = 8 << 20
	// mediaTimeout bounds a whole fetch, body included.
	mediaTimeout = 10 * time.Second
	// mediaCacheMax is the largest image kept in Redis; larger ones are
	// fetched again each time (avatars are far smaller).
	mediaCacheMax = 2 << 20
	// mediaCacheTTL is how long a fetched image is served from Redis, and
	// how long browsers keep it.
	mediaCacheTTL = 24 * time.Hour
	// mediaMaxURL is the longest remote URL given a token; longer ones show
	// no image rather than a path no proxy or browser wants.
	mediaMaxURL = 2048
	// mediaMACBytes is the length of a token's MAC (128 bits).
	mediaMACBytes = 16
)

// errNotImage is a remote answer that is not a raster image the hub shows
// (SVG, HTML, anything else): refused with 415.
var errNotImage = errors.New("not a png, jpeg, gif, webp or avif image")

// NewMediaClient returns the SSRF-safe client the hub fetches remote images
// with: bodies up to 8 MB, 10 s for the whole fetch, the same user agent,
// platform routing and allowed private ranges as the ActivityPub client.
func NewMediaClient(cfg *config.Config, version string) *http.Client {
	return mediaClient(cfg, version, mediaTimeout)
}

func mediaClient(cfg *config.Config, version string, timeout time.Duration) *http.Client {
	return safefetch.New(safefetch.Options{
		Timeout:   timeout,
		MaxBody:   mediaMaxBody,
		UserAgent: activitypub.Software + "/" + version + " (+" + cfg.Service("federation").PublicURL + ")",
		Platform:  safefetch.ForConfig(cfg),
		Allow:     cfg.AllowedPrivatePrefixes(),
	})
}

// mediaSigner mints and checks media tokens: the MAC of the URL, a dot,
// then the URL, both base64url. The MAC is HMAC-SHA256 (truncated to 128
// bits) under a key derived from the platform's secret key for this use
// only, so only URLs the hub itself rendered are fetched: the proxy is not
// an open one.
type mediaSigner struct{ key []byte }

func newMediaSigner(secretKey string) mediaSigner {
	return mediaSigner{key: config.DeriveKey(secretKey, "hub-media-proxy")}
}

func (s mediaSigner) mac(u string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(u))
	return m.Sum(nil)[:mediaMACBytes]
}

// token returns the token naming u.
func (s mediaSigner) token(u string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(s.mac(u)) + "." + enc.EncodeToString([]byte(u))
}

// verify returns the URL token names; false when the token is malformed or
// its MAC does not match (tampered with, or not minted here).
func (s mediaSigner) verify(token string) (string, bool) {
	if len(token) > 32+base64.RawURLEncoding.EncodedLen(mediaMaxURL) {
		return "", false
	}
	macPart, urlPart, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	mac, err := base64.RawURLEncoding.DecodeString(macPart)
	if err != nil || len(mac) != mediaMACBytes {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(urlPart)
	if err != nil || !hmac.Equal(mac, s.mac(string(raw))) {
		return "", false
	}
	return string(raw), true
}

// mediaSignerKey carries the signer in a hub request's context, where the
// pages' templates find it (mediaURL).
type mediaSignerKey struct{}

// mediaURL returns the hub's proxy path for the remote image u, or "" when
// u is not an http(s) URL the proxy would fetch (or the page is rendered
// outside the hub, without a signer).
func mediaURL(ctx context.Context, u string) string {
	s, ok := ctx.Value(mediaSignerKey{}).(mediaSigner)
	if !ok || len(u) > mediaMaxURL {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
		return ""
	}
	return "/hub/media/" + s.token(u)
}

// mediaProxy serves remote images to signed-in hub users.
type mediaProxy struct {
	site   *web.Site
	client *http.Client
	rdb    *redis.Client
	keys   cache.Namespace
	signer mediaSigner
	// fetches makes concurrent misses for one URL share one fetch.
	fetches singleflight.Group
}

func newMediaProxy(d Deps) *mediaProxy {
	return &mediaProxy{site: d.Site, client: d.MediaClient, rdb: d.Redis, keys: d.Keys,
		signer: newMediaSigner(d.Site.Config.SecretKey)}
}

// provide lets the pages of the request link images through the proxy.
func (m *mediaProxy) provide(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mediaSignerKey{}, m.signer)))
	})
}

// remoteImage is a fetched image: its sniffed type and its bytes.
type remoteImage struct {
	Type string
	Body []byte
}

// serveImage answers GET /hub/media/{token} with the image the token names:
// 404 for a token not minted here, 415 when the remote answer is not a
// raster image, 502 when the remote server fails or is too slow.
func (m *mediaProxy) serveImage(w http.ResponseWriter, r *http.Request) {
	u, ok := m.signer.verify(chi.URLParam(r, "token"))
	if !ok {
		m.site.Error(w, r, models.Errorf(models.ENotFound, "No such image."))
		return
	}
	img, err := m.image(r.Context(), u)
	switch {
	case r.Context().Err() != nil:
		return // the viewer went away
	case errors.Is(err, errNotImage):
		http.Error(w, "That is not an image the hub shows.", http.StatusUnsupportedMediaType)
		return
	case err != nil:
		// Only the host: a URL's query may carry the remote server's secrets.
		m.site.Logger.WarnContext(r.Context(), "remote image not fetched", "host", hostOf(u), "error", err)
		http.Error(w, "The image could not be fetched from its server.", http.StatusBadGateway)
		return
	}
	sum := sha256.Sum256(img.Body)
	h := w.Header()
	h.Set("Content-Type", img.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(mediaCacheTTL.Seconds())))
	h.Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img.Body))
}

// image returns the image at u: from Redis when it was fetched within
// mediaCacheTTL, otherwise fetched (once for concurrent requests) and, when
// small enough, cached. Redis being down only costs the cache.
func (m *mediaProxy) image(ctx context.Context, u string) (remoteImage, error) {
	sum := sha256.Sum256([]byte(u))
	key := m.keys.Key("hubmedia", hex.EncodeToString(sum[:]))
	b, err := m.rdb.Get(ctx, key).Bytes()
	if err == nil {
		if img, ok := decodeCachedImage(b); ok {
			return img, nil
		}
	} else if !errors.Is(err, redis.Nil) {
		m.site.Logger.WarnContext(ctx, "media cache not read", "error", err)
	}
	// The fetch is shared, so one viewer leaving must not cancel it for the
	// others; the client's timeout bounds it.
	shared := context.WithoutCancel(ctx)
	ch := m.fetches.DoChan(key, func() (any, error) {
		img, err := m.fetch(shared, u)
		if err != nil {
			return remoteImage{}, err
		}
		if len(img.Body) <= mediaCacheMax {
			if err := m.rdb.Set(shared, key, encodeCachedImage(img), mediaCacheTTL).Err(); err != nil {
				m.site.Logger.WarnContext(shared, "media cache not written", "error", err)
			}
		}
		return img, nil
	})
	select {
	case res := <-ch:
		return res.Val.(remoteImage), res.Err
	case <-ctx.Done():
		return remoteImage{}, ctx.Err()
	}
}

// fetch gets u through the SSRF-safe client and keeps it only when both
// the declared type (if any) and the sniffed one are raster images.
func (m *mediaProxy) fetch(ctx context.Context, u string) (remoteImage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return remoteImage{}, errNotImage // verify passed it, but it is not a URL
	}
	req.Header.Set("Accept", "image/avif,image/webp,image/png,image/jpeg,image/gif")
	resp, err := m.client.Do(req)
	if err != nil {
		return remoteImage{}, withoutURL(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return remoteImage{}, fmt.Errorf("remote answered %d", resp.StatusCode)
	}
	if !declaredImage(resp.Header.Get("Content-Type")) {
		return remoteImage{}, errNotImage
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return remoteImage{}, withoutURL(err)
	}
	t := sniffImage(body)
	if t == "" {
		return remoteImage{}, errNotImage
	}
	return remoteImage{Type: t, Body: body}, nil
}

// withoutURL drops the URL a client error names (its query may hold the
// remote server's secrets), keeping the cause.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// hostOf is u's host, for logs.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// rasterType reports whether t is an image type the proxy serves. SVG is
// not one: it is a document that can carry script.
func rasterType(t string) bool {
	switch t {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif":
		return true
	}
	return false
}

// declaredImage reports whether a Content-Type header allows the body to be
// an image: a raster type, or none or a generic binary one (sniffing then
// decides).
func declaredImage(header string) bool {
	if header == "" {
		return true
	}
	t, _, _ := mime.ParseMediaType(header)
	switch t {
	case "application/octet-stream", "binary/octet-stream", "image/jpg":
		return true
	}
	return rasterType(t)
}

// sniffImage returns the type of an image from its first bytes, "" when it
// is not a raster image the proxy serves.
func sniffImage(b []byte) string {
	if isAVIF(b) {
		return "image/avif"
	}
	if t := http.DetectContentType(b); rasterType(t) {
		return t
	}
	return ""
}

// isAVIF reports whether b starts with an ISO-BMFF ftyp box naming the
// avif or avis brand (major or compatible), which http.DetectContentType
// does not recognise.
func isAVIF(b []byte) bool {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return false
	}
	size := int(binary.BigEndian.Uint32(b[:4]))
	if size < 16 || size > len(b) || size > 1024 {
		return false
	}
	brand := func(s []byte) bool { return string(s) == "avif" || string(s) == "avis" }
	if brand(b[8:12]) {
		return true
	}
	for i := 16; i+4 <= size; i += 4 {
		if brand(b[i : i+4]) {
			return true
		}
	}
	return false
}

// encodeCachedImage is how an image is kept in Redis: its type, a newline,
// its bytes.
func encodeCachedImage(img remoteImage) []byte {
	return append([]byte(img.Type+"\n"), img.Body...)
}

func decodeCachedImage(b []byte) (remoteImage, bool) {
	t, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !rasterType(string(t)) {
		return remoteImage{}, false
	}
	return remoteImage{Type: string(t), Body: body}, true
}
