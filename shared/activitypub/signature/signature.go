// Package signature signs and verifies HTTP requests with HTTP signatures as
// the fediverse uses them (draft-cavage-http-signatures-12 with the
// conventions of Mastodon, GoToSocial and Misskey). It wraps
// github.com/go-fed/httpsig, which builds the signing string and does the
// cryptography, and adds what go-fed leaves to its callers: the Digest of the
// body, the Date window, the set of headers a signature must cover, the
// algorithm names peers write, and the query-string disagreement between
// implementations.
//
// Outgoing signatures advertise algorithm="rsa-sha256" (see Signer.Sign);
// incoming ones may say hs2019, rsa-sha256 or nothing.
package signature

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// ErrBadSignature is wrapped by every error Verify and KeyIDOf return: the
// request is not signed, or not signed well enough to be trusted. An inbox
// answers it with 401.
var ErrBadSignature = errors.New("bad http signature")

// ErrKeyNotFound is what a KeyLookup wraps when the key id names no key (the
// actor or key document is gone or never existed). Verify passes it through,
// so errors.Is(err, ErrKeyNotFound) tells it apart from a forged signature;
// an inbox answers it with 401 as well.
var ErrKeyNotFound = errors.New("signing key not found")

// Header names and pseudo-headers a signature covers.
const (
	requestTarget = "(request-target)"
	headerHost    = "host"
	headerDate    = "date"
	headerDigest  = "digest"
)

// advertisedAlgorithm is the algorithm parameter Sign writes. go-fed always
// writes "hs2019"; the bytes it signs are RSASSA-PKCS1-v1_5 over SHA-256,
// which is exactly what "rsa-sha256" names. rsa-sha256 is what Mastodon itself
// sends, so every server that federates with Mastodon reads it, while hs2019
// ("derive the algorithm from the key") is read by some verifiers as
// RSASSA-PSS or not at all. The parameter is not covered by the signature, so
// rewriting it is safe.
const advertisedAlgorithm = "rsa-sha256"

// Signer signs outgoing requests with one key. Both fields are required.
type Signer struct {
	// KeyID is the key's id as peers fetch it, e.g.
	// "https://blog.rose-ash.com/actor#main-key".
	KeyID string
	// Key is the RSA private key whose public half KeyID serves.
	Key *rsa.PrivateKey
}

// Sign signs r, a GET or a POST about to be sent. It sets a fresh Date (now,
// in http.TimeFormat) and the Host header (r.Host, else r.URL.Host: what the
// client will send), and for a request with a body (body != nil, or any
// method but GET and HEAD) a Digest "SHA-256=<base64>" of body, which must be
// the exact bytes sent. It then signs "(request-target) host date", plus
// "digest" with a body, and sets the Signature header with
// algorithm="rsa-sha256". Earlier Date, Digest and Signature headers are
// replaced, so a retry calls Sign again on a clone of the request and gets a
// fresh Date and a new signature.
//
// It returns an error when the Signer lacks a key or key id, or signing fails.
func (s Signer) Sign(r *http.Request, body []byte) error {
	return s.sign(r, body, time.Now())
}

func (s Signer) sign(r *http.Request, body []byte, now time.Time) error {
	if s.Key == nil {
		return errors.New("signature: signer has no key")
	}
	if s.KeyID == "" || strings.ContainsAny(s.KeyID, "\",") {
		return fmt.Errorf("signature: unusable key id %q", s.KeyID)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if host == "" {
		return errors.New("signature: request has no host")
	}
	withDigest := body != nil || needsDigest(r.Method)

	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Header.Del("Signature")
	r.Header.Del("Digest")
	r.Header.Set("Host", host)
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	headers := []string{requestTarget, headerHost, headerDate}
	if withDigest {
		sum := sha256.Sum256(body)
		r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
		headers = append(headers, headerDigest)
	}

	// A fresh go-fed signer each time: its signers are not safe for
	// concurrent use. The body is not passed to it because it refuses to sign
	// when a Digest header is already there; Digest was set above.
	gs, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	// go-fed writes r.URL.Path, which is decoded; the request line carries
	// the escaped path, so sign that. The copy shares r.Header.
	target := *r
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	if u.Path == "" {
		u.Path = "/"
	}
	target.URL = &u
	if err := gs.SignRequest(s.Key, s.KeyID, &target, nil); err != nil {
		return fmt.Errorf("signature: signing %s %s: %w", r.Method, r.URL, err)
	}

	written := r.Header.Get("Signature")
	prefix := `keyId="` + s.KeyID + `",algorithm="hs2019",`
	if !strings.HasPrefix(written, prefix) {
		return fmt.Errorf("signature: unexpected Signature header from go-fed: %q", written)
	}
	r.Header.Set("Signature", `keyId="`+s.KeyID+`",algorithm="`+advertisedAlgorithm+`",`+written[len(prefix):])
	return nil
}

// needsDigest reports whether requests with this method carry a body that
// the signature must cover through a Digest.
func needsDigest(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}
