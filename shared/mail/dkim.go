package mail

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// MinDKIMRSABits is the smallest RSA key accepted for DKIM: RFC 8301 makes
// verifiers ignore signatures from keys under 1024 bits, and 2048 is what
// it recommends.
const MinDKIMRSABits = 1024

// dkimHeaders are the header fields a signature covers. Each list-related
// field and the ones a reader sees are named twice: the second instance is
// absent when signed, so a relay (or an attacker) that adds another From,
// Subject or List-Unsubscribe breaks the signature rather than slipping in
// beside it. A field the message lacks is still named: adding it later
// breaks the signature too (RFC 6376 section 5.4.2). RFC 8058 requires
// List-Unsubscribe and List-Unsubscribe-Post to be signed.
var dkimHeaders = []string{
	"From", "From", "To", "To", "Subject", "Subject", "Date", "Message-ID",
	"Reply-To", "Cc", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"List-Id", "List-Id", "List-Unsubscribe", "List-Unsubscribe",
	"List-Unsubscribe-Post", "List-Unsubscribe-Post",
}

// DKIM signs outgoing messages for a domain (RFC 6376) with relaxed/relaxed
// canonicalization and SHA-256, so that receivers can tell the message
// comes from the domain and was not changed on the way. A DKIM is safe for
// concurrent use. Its private key never appears in its String, errors or
// JSON.
type DKIM struct {
	domain   string
	selector string
	key      crypto.Signer
}

// NewDKIM returns a signer for domain (the d= tag, e.g. "rose-ash.com")
// with the key published at selector._domainkey.domain. keyPEM is the
// private key in PEM: PKCS #8 ("PRIVATE KEY", RSA or Ed25519) or PKCS #1
// ("RSA PRIVATE KEY"). It returns an error for an empty or malformed domain
// or selector and for a key ParseDKIMKey refuses; the error never contains
// the key.
func NewDKIM(domain, selector, keyPEM string) (*DKIM, error) {
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	selector = strings.TrimSpace(selector)
	if err := checkDNSName(domain); err != nil {
		return nil, fmt.Errorf("mail: dkim domain %q: %w", domain, err)
	}
	if err := checkDNSName(selector); err != nil {
		return nil, fmt.Errorf("mail: dkim selector %q: %w", selector, err)
	}
	key, err := ParseDKIMKey(keyPEM)
	if err != nil {
		return nil, err
	}
	return &DKIM{domain: domain, selector: selector, key: key}, nil
}

// ParseDKIMKey parses a DKIM private key in PEM: PKCS #8 ("PRIVATE KEY")
// holding an RSA or Ed25519 key, or PKCS #1 ("RSA PRIVATE KEY"). It returns
// an error when there is no PEM block, the block does not parse, the key
// is of another kind (ECDSA has no DKIM algorithm), or an RSA key is
// shorter than MinDKIMRSABits. The error describes what is wrong without
// quoting the key.
func ParseDKIMKey(keyPEM string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(keyPEM)))
	if block == nil {
		return nil, errors.New("mail: dkim private key: no PEM block (want -----BEGIN PRIVATE KEY-----)")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("mail: dkim private key: PEM block %q is not a PRIVATE KEY or RSA PRIVATE KEY", block.Type)
	}
	if err != nil {
		// x509's messages describe the structure, never the key's bytes.
		return nil, fmt.Errorf("mail: dkim private key: %w", err)
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinDKIMRSABits {
			return nil, fmt.Errorf("mail: dkim private key: RSA key of %d bits is too short (at least %d, 2048 recommended)", bits, MinDKIMRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("mail: dkim private key: %T keys cannot sign DKIM (use RSA or Ed25519)", parsed)
	}
}

// Domain returns the signing domain (the d= tag).
func (d *DKIM) Domain() string { return d.domain }

// Selector returns the selector (the s= tag).
func (d *DKIM) Selector() string { return d.selector }

// RecordName returns where the public key is published:
// "selector._domainkey.domain".
func (d *DKIM) RecordName() string { return d.selector + "._domainkey." + d.domain }

// DNSRecord returns the TXT record to publish at RecordName for receivers
// to check signatures: "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519;
// p=...". It holds only the public key.
func (d *DKIM) DNSRecord() string {
	switch pub := d.key.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	default:
		// NewDKIM accepts only RSA and Ed25519 keys, so this is RSA, whose
		// public key always marshals.
		der, _ := x509.MarshalPKIXPublicKey(pub)
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
}

// String describes the signer without its key, e.g.
// "dkim d=rose-ash.com s=mail2026 (rsa)".
func (d *DKIM) String() string {
	algo := "rsa"
	if _, ok := d.key.Public().(ed25519.PublicKey); ok {
		algo = "ed25519"
	}
	return fmt.Sprintf("dkim d=%s s=%s (%s)", d.domain, d.selector, algo)
}

// GoString is String, so that %#v does not print the key either.
func (d *DKIM) GoString() string { return d.String() }

// MarshalJSON gives String, so the key is not written out with a config.
func (d *DKIM) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// sign returns raw with a DKIM-Signature header field in front. raw is a
// whole RFC 5322 message with CRLF line ends, as go-mail writes it.
func (d *DKIM) sign(raw []byte) ([]byte, error) {
	signer, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 d.domain,
		Selector:               d.selector,
		Signer:                 d.key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             dkimHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("mail: dkim signing: %w", err)
	}
	if _, err := signer.Write(raw); err != nil {
		signer.Close()
		return nil, fmt.Errorf("mail: dkim signing: %w", err)
	}
	if err := signer.Close(); err != nil {
		return nil, fmt.Errorf("mail: dkim signing: %w", err)
	}
	sig := signer.Signature()
	out := bytes.NewBuffer(make([]byte, 0, len(sig)+len(raw)))
	out.WriteString(sig)
	out.Write(raw)
	return out.Bytes(), nil
}

// checkDNSName accepts a DNS name of letters, digits, hyphens and
// underscores in dot-separated labels of 1..63 characters.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("is empty")
	}
	if len(name) > 253 {
		return errors.New("is longer than a DNS name may be")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("is not a DNS name (an empty or over-long label)")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("is not a DNS name (%q)", r)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("is not a DNS name (a label starts or ends with '-')")
		}
	}
	return nil
}
