package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// The Date window Mastodon allows: a signature is a replayable credential,
// so a request dated too far from now is refused.
const (
	maxDateAge    = 12 * time.Hour
	maxDateFuture = time.Hour
)

// KeyLookup returns the public key (*rsa.PublicKey or ed25519.PublicKey) for a
// key id. Fetching and caching are the caller's business. An error wrapping
// ErrKeyNotFound means no such key; any other error (a network failure, a
// cancelled ctx) is passed through by Verify, wrapped, as well.
type KeyLookup func(ctx context.Context, keyID string) (crypto.PublicKey, error)

// Verified is what a good signature tells.
type Verified struct {
	// KeyID is the id of the key that signed the request; the owner of that
	// key is the sender.
	KeyID string
}

// Verify checks the HTTP signature of r, an incoming request, whose body has
// already been read in full into body. The signature is taken from the
// Signature header, or else from an "Authorization: Signature ..." header.
// It must cover (request-target), host and date, plus digest for any method
// but GET and HEAD; the Digest header (required then, checked whenever
// present) must hold the SHA-256 of body; the Date must lie within 12 hours
// before and 1 hour after now. The algorithm parameter may be hs2019,
// rsa-sha256 or absent (RSA keys, RSASSA-PKCS1-v1_5 with SHA-256), or hs2019,
// ed25519 or absent for Ed25519 keys. The signature is tried against the
// request target with the query string and, when that fails, without it, as
// implementations disagree on it. The signed host is r.Host, so a reverse
// proxy in front must pass the Host header through unchanged.
//
// The cheap checks run before lookup is called with r's context, so a
// malformed or stale request costs no key fetch. Every error wraps
// ErrBadSignature and says what was wrong; when lookup fails its error is
// wrapped too (so errors.Is(err, ErrKeyNotFound) holds when the key does not
// exist).
func Verify(r *http.Request, body []byte, now time.Time, lookup KeyLookup) (Verified, error) {
	p, err := parseRequest(r)
	if err != nil {
		return Verified{}, err
	}
	if err := checkCovered(r.Method, p.headers); err != nil {
		return Verified{}, err
	}
	if err := checkDate(r.Header.Get("Date"), now); err != nil {
		return Verified{}, err
	}
	if digests := r.Header.Values("Digest"); len(digests) > 0 || needsDigest(r.Method) {
		if err := checkDigest(digests, body); err != nil {
			return Verified{}, err
		}
	}
	host := requestHost(r)
	for _, h := range p.headers {
		switch h {
		case requestTarget, "(created)", "(expires)":
		case headerHost:
			if host == "" {
				return Verified{}, fmt.Errorf("%w: request has no Host", ErrBadSignature)
			}
		default:
			if len(r.Header.Values(h)) == 0 {
				return Verified{}, fmt.Errorf("%w: signed header %q is missing", ErrBadSignature, h)
			}
		}
	}
	if err := checkAlgorithmName(p.algorithm); err != nil {
		return Verified{}, err
	}

	key, err := lookup(r.Context(), p.keyID)
	if err != nil {
		return Verified{}, fmt.Errorf("%w: key %s: %w", ErrBadSignature, p.keyID, err)
	}
	algo, err := algorithmFor(p.algorithm, key)
	if err != nil {
		return Verified{}, err
	}
	h := signedHeaders(r, p, host)
	var last error
	for _, target := range requestTargets(r.URL) {
		v, err := httpsig.NewVerifier(&http.Request{Method: r.Method, URL: target, Header: h, Host: host})
		if err != nil {
			return Verified{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		if last = v.Verify(key, algo); last == nil {
			return Verified{KeyID: p.keyID}, nil
		}
	}
	return Verified{}, fmt.Errorf("%w: signature does not verify with key %s: %w", ErrBadSignature, p.keyID, last)
}

// KeyIDOf returns the keyId of r's signature without verifying anything, for
// callers that must decide before any network I/O (such as dropping a Delete
// from an actor never seen). It returns an error wrapping ErrBadSignature when
// r carries no parsable signature.
func KeyIDOf(r *http.Request) (string, error) {
	p, err := parseRequest(r)
	if err != nil {
		return "", err
	}
	return p.keyID, nil
}

// params are the parameters of a Signature header.
type params struct {
	keyID, algorithm, signature string
	created, expires            string
	headers                     []string // lower case
}

// parseRequest finds and parses r's signature: the Signature header, else an
// Authorization header with the Signature scheme.
func parseRequest(r *http.Request) (params, error) {
	values := r.Header.Values("Signature")
	if len(values) > 1 {
		return params{}, fmt.Errorf("%w: more than one Signature header", ErrBadSignature)
	}
	var v string
	if len(values) == 1 {
		v = values[0]
	} else if a := r.Header.Get("Authorization"); len(a) > len("Signature ") && strings.EqualFold(a[:len("Signature ")], "Signature ") {
		v = a[len("Signature "):]
	}
	if strings.TrimSpace(v) == "" {
		return params{}, fmt.Errorf("%w: no Signature header", ErrBadSignature)
	}
	m, err := parseParams(v)
	if err != nil {
		return params{}, err
	}
	p := params{
		keyID:     m["keyid"],
		algorithm: strings.ToLower(m["algorithm"]),
		signature: m["signature"],
		created:   m["created"],
		expires:   m["expires"],
	}
	if p.keyID == "" {
		return params{}, fmt.Errorf("%w: signature has no keyId", ErrBadSignature)
	}
	if p.signature == "" {
		return params{}, fmt.Errorf("%w: signature has no signature parameter", ErrBadSignature)
	}
	headers, ok := m["headers"]
	if !ok {
		headers = headerDate // the draft's default
	}
	p.headers = strings.Fields(strings.ToLower(headers))
	// go-fed splits its input on commas: values holding one cannot be handed
	// on faithfully, and no real key id or base64 signature holds one.
	for _, v := range [...]string{p.keyID, p.signature, headers} {
		if strings.ContainsAny(v, `,"`) {
			return params{}, fmt.Errorf("%w: Signature parameter %q holds a comma or quote", ErrBadSignature, v)
		}
	}
	for _, v := range [...]string{p.created, p.expires} {
		if _, err := strconv.ParseInt(v, 10, 64); v != "" && err != nil {
			return params{}, fmt.Errorf("%w: malformed created or expires %q", ErrBadSignature, v)
		}
	}
	return p, nil
}

// parseParams parses `name="value",name=value` pairs, names folded to lower
// case, tolerating spaces around separators. A repeated name is an error, so
// that no two readers of the header can disagree about it.
func parseParams(s string) (map[string]string, error) {
	m := make(map[string]string, 5)
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			return m, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("%w: malformed Signature parameter %q", ErrBadSignature, s[i:])
		}
		name := strings.ToLower(strings.TrimSpace(s[i : i+eq]))
		if name == "" || strings.ContainsAny(name, " \t,\"") {
			return nil, fmt.Errorf("%w: malformed Signature parameter name %q", ErrBadSignature, s[i:i+eq])
		}
		i += eq + 1
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var value string
		if i < len(s) && s[i] == '"' {
			v, n, ok := unquote(s[i:])
			if !ok {
				return nil, fmt.Errorf("%w: unterminated quoted %s", ErrBadSignature, name)
			}
			value = v
			i += n
		} else {
			end := strings.IndexByte(s[i:], ',')
			if end < 0 {
				end = len(s) - i
			}
			value = strings.TrimSpace(s[i : i+end])
			i += end
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%w: Signature parameter %s given twice", ErrBadSignature, name)
		}
		m[name] = value
	}
}

// unquote reads the quoted-string at the start of s, returning its value
// and the number of bytes it took; ok is false when it is not terminated.
func unquote(s string) (value string, n int, ok bool) {
	end := strings.IndexAny(s[1:], `"\`)
	if end >= 0 && s[1+end] == '"' {
		return s[1 : 1+end], end + 2, true // the usual case: no escapes
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '"':
			return b.String(), i + 1, true
		case s[i] == '\\' && i+1 < len(s):
			i++
		}
		b.WriteByte(s[i])
	}
	return "", 0, false
}

// checkCovered checks that the signature covers what makes a request
// unforgeable: its method and target, host, date, and on a request with a body
// the digest of that body.
func checkCovered(method string, headers []string) error {
	required := []string{requestTarget, headerHost, headerDate}
	if needsDigest(method) {
		required = append(required, headerDigest)
	}
	var missing []string
	for _, h := range required {
		if !slices.Contains(headers, h) {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: signature does not cover %s (it covers %q)", ErrBadSignature, strings.Join(missing, ", "), strings.Join(headers, " "))
	}
	return nil
}

// checkDate checks the Date header against the window around now.
func checkDate(v string, now time.Time) error {
	if v == "" {
		return fmt.Errorf("%w: no Date header", ErrBadSignature)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return fmt.Errorf("%w: malformed Date %q", ErrBadSignature, v)
	}
	if age := now.Sub(t); age > maxDateAge {
		return fmt.Errorf("%w: Date %q is %s old, more than %s", ErrBadSignature, v, age.Round(time.Second), maxDateAge)
	}
	if ahead := t.Sub(now); ahead > maxDateFuture {
		return fmt.Errorf("%w: Date %q is %s in the future, more than %s", ErrBadSignature, v, ahead.Round(time.Second), maxDateFuture)
	}
	return nil
}

// checkDigest checks the Digest header values (RFC 3230: comma-separated
// algorithm=base64 pairs) against body. Every SHA-256 entry must match, and
// there must be one: other algorithms are not checked, and are refused when
// they are all there is.
func checkDigest(values []string, body []byte) error {
	if len(values) == 0 {
		return fmt.Errorf("%w: no Digest header", ErrBadSignature)
	}
	sum := sha256.Sum256(body)
	var found bool
	var others []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			alg, enc, ok := strings.Cut(strings.TrimSpace(part), "=")
			alg = strings.TrimSpace(alg)
			if !ok {
				return fmt.Errorf("%w: malformed Digest %q", ErrBadSignature, v)
			}
			if !strings.EqualFold(alg, "SHA-256") {
				others = append(others, alg)
				continue
			}
			got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
			if err != nil {
				return fmt.Errorf("%w: malformed Digest %q", ErrBadSignature, v)
			}
			if !bytes.Equal(got, sum[:]) {
				return fmt.Errorf("%w: Digest does not match the body (Digest %s, body SHA-256=%s)", ErrBadSignature, enc, base64.StdEncoding.EncodeToString(sum[:]))
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: Digest has no SHA-256 (only %s)", ErrBadSignature, strings.Join(others, ", "))
	}
	return nil
}

// checkAlgorithmName refuses an algorithm parameter no key could satisfy,
// before any key is looked up.
func checkAlgorithmName(alg string) error {
	switch alg {
	case "", "hs2019", "rsa-sha256", "ed25519":
		return nil
	}
	return fmt.Errorf("%w: unsupported algorithm %q", ErrBadSignature, alg)
}

// algorithmFor maps the algorithm parameter and the key's type to the go-fed
// algorithm that verifies it.
func algorithmFor(alg string, key crypto.PublicKey) (httpsig.Algorithm, error) {
	switch key.(type) {
	case *rsa.PublicKey:
		if alg == "" || alg == "hs2019" || alg == "rsa-sha256" {
			return httpsig.RSA_SHA256, nil
		}
	case ed25519.PublicKey:
		if alg == "" || alg == "hs2019" || alg == "ed25519" {
			return httpsig.ED25519, nil
		}
	default:
		return "", fmt.Errorf("%w: unsupported key type %T", ErrBadSignature, key)
	}
	return "", fmt.Errorf("%w: algorithm %q does not fit a %T key", ErrBadSignature, alg, key)
}

// requestHost is the host the client addressed: the Host header when a
// request built for sending carries one, else r.Host (where the server puts
// it).
func requestHost(r *http.Request) string {
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	return r.Host
}

// signedHeaders builds the header map go-fed verifies against: only the
// signed headers and a Signature header rewritten from the parsed
// parameters, so that go-fed reads exactly what was checked here (and never
// sees an unrelated Authorization header).
func signedHeaders(r *http.Request, p params, host string) http.Header {
	h := make(http.Header, len(p.headers)+1)
	for _, name := range p.headers {
		switch name {
		case requestTarget, "(created)", "(expires)":
		case headerHost:
			h["Host"] = []string{host}
		default:
			h[textproto.CanonicalMIMEHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sig := `keyId="` + p.keyID + `",headers="` + strings.Join(p.headers, " ") + `",signature="` + p.signature + `"`
	if p.created != "" {
		sig += ",created=" + p.created
	}
	if p.expires != "" {
		sig += ",expires=" + p.expires
	}
	h["Signature"] = []string{sig}
	return h
}

// requestTargets lists the URLs whose path and query the signature is tried
// against, most likely first: the path as it came on the wire with the query,
// then without it, then the same with the decoded path when that differs.
func requestTargets(u *url.URL) []*url.URL {
	paths := []string{u.EscapedPath()}
	if u.Path != paths[0] {
		paths = append(paths, u.Path)
	}
	var targets []*url.URL
	for _, p := range paths {
		if p == "" {
			p = "/"
		}
		if u.RawQuery != "" {
			targets = append(targets, &url.URL{Path: p, RawQuery: u.RawQuery})
		}
		targets = append(targets, &url.URL{Path: p})
	}
	return targets
}
