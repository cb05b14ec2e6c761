// Package fragments lets a service's page include HTML rendered by another
// service. The serving side answers GET /internal/fragments/{type} only to
// callers holding the internal secret, with the signed-in user (if any)
// passed as a signed, expiring header, never a forwarded cookie. The
// fetching side gets all of a page's fragments at once: one Redis round
// trip for the cached ones, parallel HTTP requests (each with its own
// deadline, concurrent misses of one key collapsed into one fetch) for the
// rest; a fragment that fails or is late is left out of the page.
package fragments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/cache"
	"rose-ash.com/platform/shared/config"
	"rose-ash.com/platform/shared/models"
)

// Header names used between services.
const (
	SecretHeader = "X-Internal-Secret"
	UserHeader   = "X-Fragment-User"
)

// Request names one fragment a page wants.
type Request struct {
	// Service serves the fragment, e.g. "cart".
	Service string
	// Type is the fragment's name, e.g. "cart-mini".
	Type string
	// PerUser marks fragments that differ by signed-in user; they are
	// cached per user and fetched with the user's signed header.
	PerUser bool
	// Ref names which one, for a type that has many (a calendar's slug
	// for "calendar"): sent as ?ref=, read by the renderer with Ref(ctx),
	// and part of the cache key. Empty for types that have one.
	Ref string
}

// refKey is the context key of the ref a fragment was asked for.
type refKey struct{}

// Ref returns the ref the fragment being rendered was asked for (the
// ?ref= of the request, see Request.Ref); "" when none. Renderers must
// validate it: it comes from the page's content.
func Ref(ctx context.Context) string {
	s, _ := ctx.Value(refKey{}).(string)
	return s
}

// MaxRef is the longest Request.Ref: a slug or an id.
const MaxRef = 200

// Secret derives the internal secret from the platform's secret key.
func Secret(secretKey string) string {
	return base64.RawURLEncoding.EncodeToString(config.DeriveKey(secretKey, "internal-fragments"))
}

// viewer is the user context a fragment request carries.
type viewer struct {
	ID       uuid.UUID `json:"id"`
	Email    string    `json:"email"`
	Username string    `json:"username"`
	Name     string    `json:"name"`
	Admin    bool      `json:"admin"`
	Exp      int64     `json:"exp"`
}

// signUser returns the header value carrying u, valid for ttl.
func signUser(secret string, u models.User, now time.Time, ttl time.Duration) string {
	b, _ := json.Marshal(viewer{ID: u.ID, Email: u.Email, Username: u.Username, Name: u.DisplayName,
		Admin: u.IsAdmin, Exp: now.Add(ttl).Unix()})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + mac(secret, payload)
}

// verifyUser returns the user of a signed header. Errors: a bad signature,
// a malformed payload, or an expired one.
func verifyUser(secret, header string, now time.Time) (models.User, error) {
	payload, sig, ok := strings.Cut(header, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(mac(secret, payload))) {
		return models.User{}, errors.New("fragments: user header signature is invalid")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return models.User{}, errors.New("fragments: user header is malformed")
	}
	var v viewer
	if err := json.Unmarshal(b, &v); err != nil {
		return models.User{}, errors.New("fragments: user header is malformed")
	}
	if now.Unix() > v.Exp {
		return models.User{}, errors.New("fragments: user header has expired")
	}
	return models.User{ID: v.ID, Email: v.Email, Username: v.Username, DisplayName: v.Name, IsAdmin: v.Admin}, nil
}

func mac(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("user:" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CacheKey returns the Redis key of a fragment; userID is ignored for
// shared fragments and "anon" stands for the signed-out view of per-user ones.
func CacheKey(keys cache.Namespace, service, typ string, perUser bool, userID *uuid.UUID) string {
	if !perUser {
		return keys.Key("fragment", service, typ)
	}
	who := "anon"
	if userID != nil {
		who = userID.String()
	}
	return keys.Key("fragment", service, typ, who)
}

// CacheKeyRef returns the Redis key of a shared fragment asked for by ref
// (Request.Ref), such as one calendar's widget.
func CacheKeyRef(keys cache.Namespace, service, typ, ref string) string {
	return CacheKey(keys, service, typ, false, nil) + ":ref:" + ref
}

// omissionsKey is the context key of a request's count of fragments left out.
type omissionsKey struct{}

// TrackOmissions returns a context in which Fetch counts the fragments it
// leaves out of the page (a failure or a timeout, not a fragment that is
// legitimately empty), and a function returning that count so far. A page
// cache uses it to keep pages rendered without one of their parts from
// outliving the outage.
func TrackOmissions(ctx context.Context) (context.Context, func() int) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, omissionsKey{}, n), func() int { return int(n.Load()) }
}

// NoteOmission records, for TrackOmissions, that the page being rendered
// in ctx leaves out a part it would normally show. Fetch calls it for each
// fragment it leaves out; anything else that renders a page without one of
// its parts may call it too. Without tracking it does nothing.
func NoteOmission(ctx context.Context) {
	if n, ok := ctx.Value(omissionsKey{}).(*atomic.Int32); ok {
		n.Add(1)
	}
}
