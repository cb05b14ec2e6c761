package ghostsync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// AdminTokenTTL is how long an Admin API token lives; Ghost refuses
// tokens whose exp is more than 5 minutes after iat.
const AdminTokenTTL = 5 * time.Minute

// AdminToken signs a token for Ghost's Admin API from an Admin API key
// ("<id>:<hex secret>"): an HS256 JWT signed with the hex-decoded secret,
// header kid = id, claims iat, exp (iat + 5 minutes) and aud "/admin/".
// Send it as "Authorization: Ghost <token>" (see AdminAuthorization).
func AdminToken(adminKey string, now time.Time) (string, error) {
	id, secretHex, ok := strings.Cut(adminKey, ":")
	if !ok || id == "" || secretHex == "" {
		return "", errors.New("ghost: an Admin API key looks like <id>:<hex secret>")
	}
	secret, err := hex.DecodeString(secretHex)
	if err != nil {
		return "", errors.New("ghost: the Admin API key's secret is not hexadecimal")
	}
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": id})
	iat := now.Unix()
	claims, _ := json.Marshal(map[string]any{"iat": iat, "exp": iat + int64(AdminTokenTTL/time.Second), "aud": "/admin/"})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// AdminAuthorization returns the Authorization header value for an Admin
// API request: "Ghost <token>".
func AdminAuthorization(adminKey string, now time.Time) (string, error) {
	tok, err := AdminToken(adminKey, now)
	if err != nil {
		return "", err
	}
	return "Ghost " + tok, nil
}
