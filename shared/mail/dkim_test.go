package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"rose-ash.com/platform/shared/mail"
	"rose-ash.com/platform/shared/mail/mailtest"
)

// Keys are generated once per test binary: RSA generation takes a while.
var (
	rsaKeyOnce sync.Once
	rsaKeyPEM  string
)

// rsaPEM returns a 2048-bit RSA key as PKCS #1 PEM, the form openssl
// genrsa and most DKIM guides produce.
func rsaPEM(t testing.TB) string {
	t.Helper()
	rsaKeyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	})
	return rsaKeyPEM
}

// ed25519PEM returns a new Ed25519 key as PKCS #8 PEM.
func ed25519PEM(t testing.TB) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func mustDKIM(t testing.TB, keyPEM string) *mail.DKIM {
	t.Helper()
	d, err := mail.NewDKIM("rose-ash.test", "news2026", keyPEM)
	if err != nil {
		t.Fatalf("NewDKIM: %v", err)
	}
	return d
}

// verify checks raw's DKIM signatures against d's public key, served by a
// stand-in for DNS that knows only d's record, and returns the
// verifications.
func verify(t *testing.T, d *mail.DKIM, raw []byte) []*dkim.Verification {
	t.Helper()
	lookups := 0
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			lookups++
			if name != d.RecordName() {
				return nil, fmt.Errorf("no TXT record at %s", name)
			}
			return []string{d.DNSRecord()}, nil
		},
	})
	if err != nil {
		t.Fatalf("dkim.Verify: %v", err)
	}
	if lookups == 0 && len(vs) > 0 {
		t.Fatal("the verifier never looked the key up")
	}
	return vs
}

// listMessage is a newsletter issue with both bodies and list headers.
func listMessage(to string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Rose Ash news — December",
		Text:    "This month at Rose Ash: the winter market opens on Saturday.\n\nUnsubscribe: https://account.rose-ash.test/newsletters/u/abc\n",
		HTML:    `<p>This month at <b>Rose Ash</b>: the winter market opens on Saturday.</p>`,
		List: &mail.ListHeaders{
			ID:             "Rose Ash news <news.account.rose-ash.test>",
			UnsubscribeURL: "https://account.rose-ash.test/newsletters/u/abc",
		},
	}
}

func TestDKIMSignaturesVerifyOverSMTP(t *testing.T) {
	for name, keyPEM := range map[string]string{"rsa": rsaPEM(t), "ed25519": ed25519PEM(t)} {
		t.Run(name, func(t *testing.T) {
			srv := mailtest.Start(t)
			d := mustDKIM(t, keyPEM)
			cfg := srv.Config(from)
			cfg.DKIM = d
			sender, err := mail.NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := sender.Send(context.Background(), listMessage("ada@example.com")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitFor(t, "ada@example.com", 5*time.Second)
			if !bytes.HasPrefix(got.Raw, []byte("DKIM-Signature:")) {
				t.Fatalf("the message does not start with a DKIM-Signature:\n%s", got.Raw)
			}
			vs := verify(t, d, got.Raw)
			if len(vs) != 1 || vs[0].Err != nil {
				t.Fatalf("verifications = %+v, want one that passes", vs)
			}
			if vs[0].Domain != "rose-ash.test" {
				t.Errorf("signed for %q, want rose-ash.test", vs[0].Domain)
			}
			signed := strings.ToLower(strings.Join(vs[0].HeaderKeys, ":"))
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !strings.Contains(":"+signed+":", ":"+h+":") {
					t.Errorf("the signature does not cover %s (h=%s)", h, signed)
				}
			}
			// The message still reads as sent.
			if got.Subject != "Rose Ash news — December" || !strings.Contains(got.Text, "winter market") {
				t.Errorf("received subject %q text %q", got.Subject, got.Text)
			}
		})
	}
}

func TestDKIMTamperingBreaksTheSignature(t *testing.T) {
	srv := mailtest.Start(t)
	d := mustDKIM(t, rsaPEM(t))
	cfg := srv.Config(from)
	cfg.DKIM = d
	sender, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), listMessage("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	raw := srv.WaitFor(t, "ada@example.com", 5*time.Second).Raw
	if vs := verify(t, d, raw); len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("the untouched message does not verify: %+v", vs)
	}

	tampered := map[string][]byte{
		// A relay (or anyone) changing the text: "Saturday" to "Sunday".
		"body": bytes.Replace(raw, []byte("Saturday"), []byte("Sunday"), 1),
		// Someone swapping the unsubscribe link for theirs.
		"list-unsubscribe": bytes.Replace(raw, []byte("List-Unsubscribe: <https://account.rose-ash.test/"),
			[]byte("List-Unsubscribe: <https://evil.example/"), 1),
		// A second Subject added above the signed one.
		"added subject": append([]byte("Subject: You won a prize\r\n"), raw...),
	}
	for name, msg := range tampered {
		if bytes.Equal(msg, raw) {
			t.Fatalf("%s: the tampering changed nothing; the message is:\n%s", name, raw)
		}
		vs := verify(t, d, msg)
		if len(vs) != 1 || vs[0].Err == nil {
			t.Errorf("%s: a tampered message still verifies", name)
		} else if dkim.IsTempFail(vs[0].Err) {
			t.Errorf("%s: verification error %v, want a failure, not a temporary error", name, vs[0].Err)
		}
	}

	// A different key published for the selector does not verify either.
	other := mustDKIM(t, ed25519PEM(t))
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) { return []string{other.DNSRecord()}, nil },
	})
	if err != nil || len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("verified against another key: %+v, %v", vs, err)
	}
}

func TestDirSinkWritesSignedMessages(t *testing.T) {
	d := mustDKIM(t, ed25519PEM(t))
	sink := mustDirSink(t).WithDKIM(d)
	if err := sink.Send(context.Background(), listMessage("ada@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// The dev mail page reads the sink's list: the message is there as
	// sent, list headers and all.
	list, err := sink.List(0)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want the message", list, err)
	}
	if list[0].Subject != "Rose Ash news — December" || !strings.Contains(list[0].Text, "winter market") {
		t.Errorf("listed %+v", list[0])
	}
	raw, err := os.ReadFile(filepath.Join(sink.Dir(), list[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"DKIM-Signature: ", "List-Id: ", "List-Unsubscribe: ", "List-Unsubscribe-Post: "} {
		if !bytes.Contains(raw, []byte("\r\n"+h)) && !bytes.HasPrefix(raw, []byte(h)) {
			t.Errorf("the .eml has no %s header:\n%s", h, raw)
		}
	}
	if vs := verify(t, d, raw); len(vs) != 1 || vs[0].Err != nil {
		t.Errorf("the .eml's signature does not verify: %+v", vs)
	}

	// The sink it was made from still writes unsigned messages.
	plain := mustDirSink(t)
	if err := plain.Send(context.Background(), signInMessage("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	list, _ = plain.List(0)
	raw, _ = os.ReadFile(filepath.Join(plain.Dir(), list[0].Name))
	if bytes.Contains(raw, []byte("DKIM-Signature")) {
		t.Error("a sink without DKIM signed the message")
	}
}

func TestParseDKIMKeyRefusesUnusableKeys(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(ecKey.Public())
	good := rsaPEM(t)
	cases := map[string]string{
		"empty":          "",
		"not PEM":        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
		"ecdsa":          string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})),
		"public key":     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		"truncated":      good[:len(good)/2] + "\n-----END RSA PRIVATE KEY-----\n",
		"garbage inside": "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n",
	}
	for name, keyPEM := range cases {
		_, err := mail.ParseDKIMKey(keyPEM)
		if err == nil {
			t.Errorf("%s: ParseDKIMKey succeeded", name)
			continue
		}
		if k := strings.TrimSpace(keyPEM); len(k) > 40 && strings.Contains(err.Error(), k[20:40]) {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
	if _, err := mail.ParseDKIMKey(good); err != nil {
		t.Errorf("a PKCS #1 RSA key: %v", err)
	}
	if _, err := mail.ParseDKIMKey("  \n" + ed25519PEM(t) + "\n\n"); err != nil {
		t.Errorf("an Ed25519 key with blank lines around it: %v", err)
	}
}

func TestNewDKIMChecksDomainAndSelector(t *testing.T) {
	key := ed25519PEM(t)
	for _, c := range []struct{ domain, selector string }{
		{"", "s1"}, {"rose-ash.test", ""}, {"rose ash.test", "s1"}, {"rose-ash.test", "s1;x=y"},
		{"-rose.test", "s1"}, {"rose..test", "s1"},
	} {
		if _, err := mail.NewDKIM(c.domain, c.selector, key); err == nil {
			t.Errorf("NewDKIM(%q, %q) succeeded", c.domain, c.selector)
		}
	}
	d, err := mail.NewDKIM("Rose-Ash.TEST.", "news2026", key)
	if err != nil {
		t.Fatal(err)
	}
	if d.Domain() != "rose-ash.test" || d.RecordName() != "news2026._domainkey.rose-ash.test" {
		t.Errorf("domain %q record %q", d.Domain(), d.RecordName())
	}
	if !strings.HasPrefix(d.DNSRecord(), "v=DKIM1; k=ed25519; p=") {
		t.Errorf("DNSRecord = %q", d.DNSRecord())
	}
	// The signer never prints its private key (in any encoding).
	block, _ := pem.Decode([]byte(key))
	seed := block.Bytes[len(block.Bytes)-32:]
	secrets := []string{strings.Split(key, "\n")[1][10:40], fmt.Sprintf("%x", seed[:12]), strings.Trim(fmt.Sprint(seed[:8]), "[]")}
	asJSON, _ := json.Marshal(mail.SMTPConfig{Host: "h", DKIM: d})
	asJSON2, _ := json.Marshal(d)
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", d), fmt.Sprintf("%#v", d), string(asJSON), string(asJSON2)} {
		for _, secret := range secrets {
			if strings.Contains(s, secret) || strings.Contains(s, "PRIVATE") {
				t.Errorf("the signer prints its key: %s", s)
			}
		}
	}
	if got := d.String(); got != "dkim d=rose-ash.test s=news2026 (ed25519)" {
		t.Errorf("String() = %q", got)
	}
}
