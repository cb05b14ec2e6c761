package activitypub

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SiteKey is the platform's one keypair.
type SiteKey struct {
	Private *rsa.PrivateKey
	// PublicPEM is the public key as "-----BEGIN PUBLIC KEY-----" PEM, as
	// actor documents publish it.
	PublicPEM string
}

// LoadOrCreateKey returns the site keypair, generating it (RSA 2048) the
// first time. Concurrent first starts agree on one key: the row is inserted
// only if absent and then read back. The key is never replaced: remote
// servers cache it, and a silent rotation would make them refuse us.
func LoadOrCreateKey(ctx context.Context, db *pgxpool.Pool) (SiteKey, error) {
	key, err := loadKey(ctx, db)
	if err == nil || !errors.Is(err, errNoKey) {
		return key, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return SiteKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SiteKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return SiteKey{}, err
	}
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	if _, err := db.Exec(ctx, `INSERT INTO ap_keypair (private_key_pem, public_key_pem) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		privPEM, pubPEM); err != nil {
		return SiteKey{}, fmt.Errorf("activitypub: store the site key: %w", err)
	}
	return loadKey(ctx, db)
}

var errNoKey = errors.New("no site key yet")

func loadKey(ctx context.Context, db *pgxpool.Pool) (SiteKey, error) {
	var privPEM, pubPEM string
	err := db.QueryRow(ctx, `SELECT private_key_pem, public_key_pem FROM ap_keypair`).Scan(&privPEM, &pubPEM)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return SiteKey{}, errNoKey
		}
		return SiteKey{}, fmt.Errorf("activitypub: read the site key: %w", err)
	}
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil {
		return SiteKey{}, errors.New("activitypub: the stored site key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return SiteKey{}, fmt.Errorf("activitypub: the stored site key: %w", err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return SiteKey{}, errors.New("activitypub: the stored site key is not RSA")
	}
	return SiteKey{Private: priv, PublicPEM: pubPEM}, nil
}
