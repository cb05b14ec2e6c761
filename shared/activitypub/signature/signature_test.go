package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

const (
	keyID      = "https://blog.test/actor#main-key"
	otherKeyID = "https://evil.test/actor#main-key"
)

// testKeys are generated once: RSA key generation takes a while.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

var testEd25519 = sync.OnceValue(func() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// lookupOf returns a KeyLookup that knows one key under keyID.
func lookupOf(pub crypto.PublicKey) KeyLookup {
	return func(_ context.Context, id string) (crypto.PublicKey, error) {
		if id != keyID {
			return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, id)
		}
		return pub, nil
	}
}

// peer describes a request signed the way another fediverse server would
// sign it. The signing string is built here by hand, independently of
// go-fed, as Mastodon builds it.
type peer struct {
	method, url string
	body        []byte
	headers     string // signed headers; empty means the usual for method
	algorithm   string // "-" omits the parameter; empty means rsa-sha256
	date        time.Time
	noQuery     bool   // sign the path without the query string
	digest      string // Digest header to send; empty means SHA-256 of body on POST; "-" sends none
	key         crypto.Signer
	keyID       string
	auth        bool // use "Authorization: Signature ..."
}

// request builds the signed incoming request as a server would see it.
func (p peer) request(t testing.TB) *http.Request {
	t.Helper()
	r := httptest.NewRequest(p.method, p.url, bytes.NewReader(p.body))
	if p.date.IsZero() {
		p.date = time.Now()
	}
	r.Header.Set("Date", p.date.UTC().Format(http.TimeFormat))
	switch {
	case p.digest == "-":
	case p.digest != "":
		r.Header.Set("Digest", p.digest)
	case p.method == http.MethodPost:
		sum := sha256.Sum256(p.body)
		r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	}
	headers := p.headers
	if headers == "" {
		headers = "(request-target) host date"
		if p.method == http.MethodPost {
			headers += " digest"
		}
	}
	var lines []string
	for _, h := range strings.Fields(headers) {
		switch h {
		case "(request-target)":
			target := r.URL.Path
			if r.URL.RawQuery != "" && !p.noQuery {
				target += "?" + r.URL.RawQuery
			}
			lines = append(lines, "(request-target): "+strings.ToLower(p.method)+" "+target)
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			lines = append(lines, h+": "+r.Header.Get(h))
		}
	}
	text := []byte(strings.Join(lines, "\n"))
	key := p.key
	if key == nil {
		key = testKeys()[0]
	}
	var sig []byte
	var err error
	if _, ok := key.(ed25519.PrivateKey); ok {
		sig, err = key.Sign(rand.Reader, text, crypto.Hash(0))
	} else {
		sum := sha256.Sum256(text)
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	id := p.keyID
	if id == "" {
		id = keyID
	}
	v := `keyId="` + id + `",`
	switch p.algorithm {
	case "-":
	case "":
		v += `algorithm="rsa-sha256",`
	default:
		v += `algorithm="` + p.algorithm + `",`
	}
	v += `headers="` + headers + `",signature="` + base64.StdEncoding.EncodeToString(sig) + `"`
	if p.auth {
		r.Header.Set("Authorization", "Signature "+v)
	} else {
		r.Header.Set("Signature", v)
	}
	return r
}

func TestVerify(t *testing.T) {
	keys := testKeys()
	body := []byte(`{"type":"Create","actor":"https://blog.test/actor"}`)
	post := peer{method: http.MethodPost, url: "https://remote.test/inbox", body: body}
	get := peer{method: http.MethodGet, url: "https://remote.test/users/alice"}
	with := func(p peer, change func(*peer)) peer { change(&p); return p }
	now := time.Now()

	tests := []struct {
		name    string
		req     func(t testing.TB) *http.Request
		pub     crypto.PublicKey // key the lookup returns; keys[0] public when nil
		now     time.Time        // zero means now
		wantErr string           // empty: must verify
	}{
		{name: "POST with digest, rsa-sha256", req: post.request},
		{name: "POST hs2019", req: with(post, func(p *peer) { p.algorithm = "hs2019" }).request},
		{name: "POST without algorithm", req: with(post, func(p *peer) { p.algorithm = "-" }).request},
		{name: "GET without digest", req: get.request},
		{name: "GET hs2019", req: with(get, func(p *peer) { p.algorithm = "hs2019" }).request},
		{name: "hs2019 with an Ed25519 key", req: with(post, func(p *peer) { p.algorithm = "hs2019"; p.key = testEd25519() }).request,
			pub: testEd25519().Public()},
		{name: "Authorization: Signature form", req: with(post, func(p *peer) { p.auth = true }).request},
		{name: "query signed", req: with(get, func(p *peer) { p.url += "?page=2" }).request},
		{name: "query present but signed without it", req: with(post, func(p *peer) { p.url += "?x=1"; p.noQuery = true }).request},
		{name: "digest algorithm name in lower case", req: with(post, func(p *peer) { p.digest = "sha-256=" + sha256Base64(body) }).request},
		{name: "SHA-512 beside SHA-256", req: with(post, func(p *peer) { p.digest = "SHA-512=AAAA,SHA-256=" + sha256Base64(body) }).request},
		{name: "Date 11 h old", req: with(post, func(p *peer) { p.date = now.Add(-11 * time.Hour) }).request, now: now},
		{name: "Date 50 min ahead", req: with(post, func(p *peer) { p.date = now.Add(50 * time.Minute) }).request, now: now},
		{name: "signed by go-fed itself (hs2019, as GoToSocial)", req: func(t testing.TB) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "https://remote.test/inbox", bytes.NewReader(body))
			r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			r.Header.Set("Host", r.Host)
			s, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256,
				[]string{"(request-target)", "host", "date", "digest"}, httpsig.Signature, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SignRequest(keys[0], keyID, r, body); err != nil {
				t.Fatal(err)
			}
			return r
		}},

		{name: "wrong key", req: with(post, func(p *peer) { p.key = keys[1] }).request, wantErr: "does not verify"},
		{name: "Ed25519 signature against an RSA key", req: with(post, func(p *peer) { p.algorithm = "hs2019"; p.key = testEd25519() }).request,
			wantErr: "does not verify"},
		{name: "rsa-sha256 claimed for an Ed25519 key", req: post.request, pub: testEd25519().Public(), wantErr: `algorithm "rsa-sha256" does not fit`},
		{name: "unsupported algorithm", req: with(post, func(p *peer) { p.algorithm = "rsa-sha1" }).request, wantErr: `unsupported algorithm "rsa-sha1"`},
		{name: "body changed after signing", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Body = io.NopCloser(strings.NewReader(`{"type":"Delete"}`))
			return r
		}, wantErr: "Digest does not match the body"},
		{name: "body and digest changed after signing", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Body = io.NopCloser(strings.NewReader(`{"type":"Delete"}`))
			r.Header.Set("Digest", "SHA-256="+sha256Base64([]byte(`{"type":"Delete"}`)))
			return r
		}, wantErr: "does not verify"},
		{name: "Digest missing on POST", req: with(post, func(p *peer) { p.digest = "-" }).request, wantErr: "no Digest header"},
		{name: "Digest only SHA-512", req: with(post, func(p *peer) { p.digest = "SHA-512=AAAA" }).request, wantErr: "no SHA-256"},
		{name: "Date 13 h old", req: with(post, func(p *peer) { p.date = now.Add(-13 * time.Hour) }).request, now: now, wantErr: "more than 12h"},
		{name: "Date 2 h ahead", req: with(post, func(p *peer) { p.date = now.Add(2 * time.Hour) }).request, now: now, wantErr: "in the future"},
		{name: "Date missing", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Header.Del("Date")
			return r
		}, wantErr: "no Date header"},
		{name: "Date malformed", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Header.Set("Date", "yesterday")
			return r
		}, wantErr: "malformed Date"},
		{name: "Signature missing", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Header.Del("Signature")
			return r
		}, wantErr: "no Signature header"},
		{name: "Authorization with another scheme", req: func(t testing.TB) *http.Request {
			r := get.request(t)
			r.Header.Del("Signature")
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, wantErr: "no Signature header"},
		{name: "POST signature lacking digest", req: with(post, func(p *peer) { p.headers = "(request-target) host date" }).request,
			wantErr: "does not cover digest"},
		{name: "signature lacking host", req: with(get, func(p *peer) { p.headers = "(request-target) date" }).request,
			wantErr: "does not cover host"},
		{name: "signature without headers parameter (date only)", req: func(t testing.TB) *http.Request {
			r := get.request(t)
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `headers="(request-target) host date",`, "", 1))
			return r
		}, wantErr: "does not cover (request-target), host"},
		{name: "signed for another host", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Host = "other.test"
			return r
		}, wantErr: "does not verify"},
		{name: "signed for another path", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.URL.Path = "/users/bob/inbox"
			return r
		}, wantErr: "does not verify"},
		{name: "unknown key", req: with(post, func(p *peer) { p.keyID = otherKeyID }).request, wantErr: "signing key not found"},
		{name: "Signature parameter twice", req: func(t testing.TB) *http.Request {
			r := post.request(t)
			r.Header.Set("Signature", r.Header.Get("Signature")+`,headers="date"`)
			return r
		}, wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req(t)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			pub := tt.pub
			if pub == nil {
				pub = keys[0].Public()
			}
			at := tt.now
			if at.IsZero() {
				at = time.Now()
			}
			v, err := Verify(r, body, at, lookupOf(pub))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v\nSignature: %s", err, r.Header.Get("Signature"))
				}
				if v.KeyID != keyID {
					t.Errorf("KeyID = %q, want %q", v.KeyID, keyID)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify succeeded, want error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("error %v does not wrap ErrBadSignature", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyKeyNotFound(t *testing.T) {
	r := peer{method: http.MethodGet, url: "https://remote.test/users/alice", keyID: otherKeyID}.request(t)
	_, err := Verify(r, nil, time.Now(), lookupOf(testKeys()[0].Public()))
	if !errors.Is(err, ErrKeyNotFound) || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("err = %v, want ErrKeyNotFound and ErrBadSignature", err)
	}
}

func TestVerifyChecksBeforeLookup(t *testing.T) {
	r := peer{method: http.MethodPost, url: "https://remote.test/inbox", body: []byte("{}"), date: time.Now().Add(-24 * time.Hour)}.request(t)
	_, err := Verify(r, []byte("{}"), time.Now(), func(context.Context, string) (crypto.PublicKey, error) {
		t.Error("lookup called for a stale request")
		return nil, ErrKeyNotFound
	})
	if err == nil {
		t.Fatal("stale request verified")
	}
}

// TestSignOverTheWire sends signed requests through a real server: what the
// client puts on the wire (host, escaped path, query) must be what was signed.
func TestSignOverTheWire(t *testing.T) {
	key := testKeys()[0]
	type result struct {
		v   Verified
		err error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		v, err := Verify(r, body, time.Now(), lookupOf(key.Public()))
		results <- result{v, err}
	}))
	defer srv.Close()
	s := Signer{KeyID: keyID, Key: key}

	for _, tt := range []struct {
		method, path string
		body         []byte
	}{
		{http.MethodPost, "/users/alice/inbox", []byte(`{"type":"Follow"}`)},
		{http.MethodPost, "/inbox", nil},
		{http.MethodGet, "/users/alice", nil},
		{http.MethodGet, "/users/alice/outbox?page=true&min_id=0", nil},
		{http.MethodGet, "/tags/caf%C3%A9%20bar", nil},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var rd io.Reader
			if tt.body != nil {
				rd = bytes.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, rd)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Sign(req, tt.body); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if res := <-results; res.err != nil || res.v.KeyID != keyID {
				t.Fatalf("server: %+v, %v\nSignature: %s", res.v, res.err, req.Header.Get("Signature"))
			}
		})
	}
}

// TestSignHeaders checks what Sign writes against the signing string Mastodon
// would build for the request.
func TestSignHeaders(t *testing.T) {
	key := testKeys()[0]
	body := []byte(`{"type":"Like"}`)
	req, err := http.NewRequest(http.MethodPost, "https://remote.test/users/alice/inbox?x=1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if err := (Signer{KeyID: keyID, Key: key}).Sign(req, body); err != nil {
		t.Fatal(err)
	}
	if got, want := req.Header.Get("Digest"), "SHA-256="+sha256Base64(body); got != want {
		t.Errorf("Digest = %q, want %q", got, want)
	}
	if got := req.Header.Get("Host"); got != "remote.test" {
		t.Errorf("Host = %q", got)
	}
	date, err := http.ParseTime(req.Header.Get("Date"))
	if err != nil || date.Before(before.Truncate(time.Second)) || date.After(time.Now()) {
		t.Errorf("Date = %q (%v), want now", req.Header.Get("Date"), err)
	}
	p, err := parseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.keyID != keyID || p.algorithm != "rsa-sha256" || strings.Join(p.headers, " ") != "(request-target) host date digest" {
		t.Errorf("Signature = %q", req.Header.Get("Signature"))
	}
	text := "(request-target): post /users/alice/inbox?x=1\nhost: remote.test\ndate: " + req.Header.Get("Date") + "\ndigest: " + req.Header.Get("Digest")
	sum := sha256.Sum256([]byte(text))
	sig, err := base64.StdEncoding.DecodeString(p.signature)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature is not over the Mastodon signing string: %v", err)
	}

	get, err := http.NewRequest(http.MethodGet, "https://remote.test/users/alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (Signer{KeyID: keyID, Key: key}).Sign(get, nil); err != nil {
		t.Fatal(err)
	}
	if get.Header.Get("Digest") != "" || !strings.Contains(get.Header.Get("Signature"), `headers="(request-target) host date"`) {
		t.Errorf("GET signed with %q, Digest %q", get.Header.Get("Signature"), get.Header.Get("Digest"))
	}
}

func TestSignRetryGetsFreshDate(t *testing.T) {
	key := testKeys()[0]
	s := Signer{KeyID: keyID, Key: key}
	body := []byte(`{"type":"Create"}`)
	first, err := http.NewRequest(http.MethodPost, "https://remote.test/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-3 * time.Hour)
	if err := s.sign(first, body, sent); err != nil {
		t.Fatal(err)
	}

	// The retry, three hours later, on a clone.
	retry := first.Clone(context.Background())
	if err := s.Sign(retry, body); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Date", "Digest", "Signature", "Host"} {
		if n := len(retry.Header.Values(h)); n != 1 {
			t.Errorf("retry has %d %s headers, want 1", n, h)
		}
	}
	if retry.Header.Get("Date") == first.Header.Get("Date") {
		t.Errorf("retry kept Date %q", first.Header.Get("Date"))
	}
	if date, _ := http.ParseTime(retry.Header.Get("Date")); time.Since(date) > 2*time.Second {
		t.Errorf("retry Date %q is not now", retry.Header.Get("Date"))
	}
	if retry.Header.Get("Signature") == first.Header.Get("Signature") {
		t.Error("retry kept the old signature")
	}
	if _, err := Verify(retry, body, time.Now(), lookupOf(key.Public())); err != nil {
		t.Errorf("retry does not verify: %v", err)
	}
	if first.Header.Get("Date") != sent.UTC().Format(http.TimeFormat) {
		t.Errorf("re-signing the clone changed the original: Date %q", first.Header.Get("Date"))
	}
}

func TestSignRefusesIncompleteSigner(t *testing.T) {
	for _, s := range []Signer{{KeyID: keyID}, {Key: testKeys()[0]}, {KeyID: `a"b`, Key: testKeys()[0]}} {
		req, err := http.NewRequest(http.MethodGet, "https://remote.test/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sign(req, nil); err == nil {
			t.Errorf("Sign with %q, key %v succeeded", s.KeyID, s.Key != nil)
		}
	}
}

func TestKeyIDOf(t *testing.T) {
	post := peer{method: http.MethodPost, url: "https://remote.test/inbox", body: []byte("{}")}
	for _, tt := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"Signature header", post.request(t), keyID},
		{"Authorization header", peer{method: http.MethodGet, url: "https://remote.test/", auth: true, keyID: otherKeyID}.request(t), otherKeyID},
		{"unsigned", httptest.NewRequest(http.MethodPost, "https://remote.test/inbox", nil), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyIDOf(tt.req)
			if tt.want == "" {
				if !errors.Is(err, ErrBadSignature) {
					t.Errorf("KeyIDOf = %q, %v; want ErrBadSignature", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("KeyIDOf = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseParams(t *testing.T) {
	m, err := parseParams(`keyId="https://a.test/u#k", algorithm=hs2019 ,headers="(request-target) host",signature="ab\"c="`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"keyid": "https://a.test/u#k", "algorithm": "hs2019", "headers": "(request-target) host", "signature": `ab"c=`}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	for _, bad := range []string{`keyId`, `keyId="abc`, `="x"`, `keyId="a",keyid="b"`} {
		if _, err := parseParams(bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("parseParams(%q) = %v, want ErrBadSignature", bad, err)
		}
	}
}

func sha256Base64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// BenchmarkVerify measures verifying one signed POST with the key already at
// hand; compare with BenchmarkBareRSAVerify for the cost of the wrapping.
func BenchmarkVerify(b *testing.B) {
	key := testKeys()[0]
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://blog.test/activities/1","type":"Create","actor":"https://blog.test/actor","object":{"type":"Note","content":"hello"}}`)
	r := peer{method: http.MethodPost, url: "https://remote.test/inbox", body: body}.request(b)
	lookup := lookupOf(key.Public())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(r, body, now, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRSAVerify measures the RSA-2048 PKCS#1 v1.5 verification of a
// SHA-256 digest alone: the floor under BenchmarkVerify.
func BenchmarkBareRSAVerify(b *testing.B) {
	key := testKeys()[0]
	sum := sha256.Sum256([]byte("(request-target): post /inbox\nhost: remote.test"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign measures signing one POST, the cost every delivery pays.
func BenchmarkSign(b *testing.B) {
	s := Signer{KeyID: keyID, Key: testKeys()[0]}
	body := []byte(`{"type":"Create"}`)
	r, err := http.NewRequest(http.MethodPost, "https://remote.test/inbox", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
