package signature

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestPublicKeyPEM(t *testing.T) {
	key := testKeys()[0]
	enc, err := EncodePublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("encoded key starts %q", enc[:30])
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}))
	edDER, err := x509.MarshalPKIXPublicKey(testEd25519().Public())
	if err != nil {
		t.Fatal(err)
	}
	ed := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER}))

	for _, tt := range []struct {
		name, pem string
		want      any // *rsa.PublicKey or ed25519.PublicKey; nil means an error
	}{
		{"PKIX", enc, &key.PublicKey},
		{"PKIX with surrounding whitespace", "\n  " + enc + "\n", &key.PublicKey},
		{"PKIX indented, CRLF", "  " + strings.ReplaceAll(enc, "\n", "\r\n    "), &key.PublicKey},
		{"PKCS#1", pkcs1, &key.PublicKey},
		{"Ed25519", ed, testEd25519().Public()},
		{"not PEM", "hello", nil},
		{"private key block", mustEncodePrivate(t, key), nil},
		{"garbage in block", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeyPEM(tt.pem)
			if tt.want == nil {
				if !errors.Is(err, ErrMalformedKey) {
					t.Errorf("ParsePublicKeyPEM = %v, %v; want ErrMalformedKey", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq, ok := got.(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !eq.Equal(tt.want) {
				t.Errorf("parsed %T, not the key encoded", got)
			}
		})
	}
}

func TestPrivateKeyPEM(t *testing.T) {
	key := testKeys()[1]
	enc := mustEncodePrivate(t, key)
	if !strings.HasPrefix(enc, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("encoded key starts %q", enc[:30])
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	edDER, err := x509.MarshalPKCS8PrivateKey(testEd25519())
	if err != nil {
		t.Fatal(err)
	}
	ed := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))

	for _, tt := range []struct {
		name, pem string
		ok        bool
	}{
		{"PKCS#8", enc, true},
		{"PKCS#1", pkcs1, true},
		{"Ed25519 is not RSA", ed, false},
		{"public key block", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER})), false},
		{"empty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tt.pem)
			if !tt.ok {
				if !errors.Is(err, ErrMalformedKey) {
					t.Errorf("ParsePrivateKeyPEM = %v; want ErrMalformedKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(key) {
				t.Error("parsed a different key")
			}
		})
	}
}

func mustEncodePrivate(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	s, err := EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
