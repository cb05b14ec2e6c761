package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedKey is wrapped by the PEM parsers when the text holds no key
// they can use.
var ErrMalformedKey = errors.New("malformed key")

// ParsePublicKeyPEM parses an actor's publicKeyPem: a PKIX "PUBLIC KEY" block
// (what Mastodon and most servers publish) or a PKCS#1 "RSA PUBLIC KEY" block
// (what some older servers publish). Text around the block and indentation
// of its lines are ignored. It returns an *rsa.PublicKey or an
// ed25519.PublicKey, or an error wrapping ErrMalformedKey for anything else.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block := decodePEM(s)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformedKey)
	}
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
		}
		switch key.(type) {
		case *rsa.PublicKey, ed25519.PublicKey:
			return key, nil
		}
		return nil, fmt.Errorf("%w: unsupported public key type %T", ErrMalformedKey, key)
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: PEM block %q is not a public key", ErrMalformedKey, block.Type)
}

// EncodePublicKeyPEM returns key as a PKIX "-----BEGIN PUBLIC KEY-----" block,
// the form actors publish as publicKeyPem. It fails only for an invalid key.
func EncodePublicKeyPEM(key *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "", fmt.Errorf("signature: encoding public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM parses an RSA private key from a PKCS#8 "PRIVATE KEY"
// block, or a PKCS#1 "RSA PRIVATE KEY" block (what `openssl genrsa` and older
// tools write). It returns an error wrapping ErrMalformedKey when there is no
// such block or the key is not RSA.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block := decodePEM(s)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformedKey)
	}
	switch block.Type {
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private key is %T, not RSA", ErrMalformedKey, key)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrMalformedKey, block.Type)
}

// EncodePrivateKeyPEM returns key as a PKCS#8 "-----BEGIN PRIVATE KEY-----"
// block. It fails only for an invalid key.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("signature: encoding private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// decodePEM returns the first PEM block in s, or nil. Lines are trimmed
// first: keys pasted into JSON or YAML often arrive indented or with CRLF,
// which encoding/pem does not accept.
func decodePEM(s string) *pem.Block {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	block, _ := pem.Decode([]byte(strings.Join(lines, "\n")))
	return block
}
