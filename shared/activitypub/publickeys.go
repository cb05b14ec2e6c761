package activitypub

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// The keys remote actors sign with: found in ap_actors or fetched, in
// whichever shape the actor's server publishes them, and kept in memory.

// PublicKey returns the public key keyID and the actor that owns it: from
// memory, from ap_actors, or (when neither has it, or fresh asks for it
// and the cached copy is over a minute old) fetched from its server.
// Errors: signature.ErrKeyNotFound (wrapping why) when the key cannot be
// found or read, and database errors.
func (r *Resolver) PublicKey(ctx context.Context, keyID string, fresh bool) (crypto.PublicKey, string, error) {
	if c, ok := r.keys.Load(keyID); ok {
		ck := c.(cachedKey)
		if !fresh || time.Since(ck.at) < time.Minute {
			return ck.key, ck.owner, nil
		}
	}
	var uri, pemText string
	err := pgx.ErrNoRows
	if !fresh {
		err = r.DB.QueryRow(ctx, `SELECT uri, public_key_pem FROM ap_actors WHERE key_id = $1 AND gone_at IS NULL
			ORDER BY fetched_at DESC LIMIT 1`, keyID).Scan(&uri, &pemText)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		a, ferr := r.fetchKeyOwner(ctx, keyID)
		if ferr != nil {
			return nil, "", fmt.Errorf("%w: %s: %v", signature.ErrKeyNotFound, keyID, ferr)
		}
		uri, pemText = a.URI, a.PublicKeyPEM
	} else if err != nil {
		return nil, "", err
	}
	key, err := signature.ParsePublicKeyPEM(pemText)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", signature.ErrKeyNotFound, keyID, err)
	}
	r.keys.Store(keyID, cachedKey{key: key, owner: uri, at: time.Now()})
	return key, uri, nil
}

// fetchKeyOwner finds the actor that signs with keyID, in whichever shape
// its server publishes the key:
//   - an actor whose publicKey (an object or a list) holds the key
//     (Mastodon: keyId actor#main-key);
//   - a key document of its own, {id, owner, publicKeyPem};
//   - a stub actor without an inbox whose publicKey.owner names the real
//     actor (GoToSocial: keyId actor/main-key).
//
// In the last two the owner is fetched, and must list the same key id with
// the same key: a document cannot make anyone the owner of a key that the
// owner does not publish.
func (r *Resolver) fetchKeyOwner(ctx context.Context, keyID string) (RemoteActor, error) {
	base, _, _ := strings.Cut(keyID, "#")
	doc, err := r.Fetch(ctx, base)
	if err != nil {
		return RemoteActor{}, err
	}
	if _, isActor := doc["inbox"]; !isActor {
		owner := str(doc["owner"])
		if pem, keyOwner := keyIn(doc, keyID); pem != "" && keyOwner != "" {
			owner = keyOwner
		}
		if owner == "" {
			return RemoteActor{}, fmt.Errorf("the key document %s names no owner (neither owner nor publicKey.owner)", base)
		}
		if doc, err = r.Fetch(ctx, owner); err != nil {
			return RemoteActor{}, fmt.Errorf("the owner %s of key %s: %w", owner, keyID, err)
		}
		if str(doc["id"]) != owner {
			return RemoteActor{}, fmt.Errorf("the owner %s of key %s is served as %s", owner, keyID, str(doc["id"]))
		}
	}
	a, err := ParseActor(doc)
	if err != nil {
		return RemoteActor{}, err
	}
	pem, _ := keyIn(doc, keyID)
	if pem == "" {
		return RemoteActor{}, fmt.Errorf("actor %s does not publish key %s", a.URI, keyID)
	}
	a.KeyID, a.PublicKeyPEM = keyID, pem
	return a, r.Store(ctx, a)
}

// keyIn finds key keyID in a document: among its publicKey (an object or
// a list of them), or the document itself when it is that key. It returns
// the key's PEM and its owner ("" when it names none); pem is "" when the
// document does not hold the key. A key owned by another than the
// document's own id counts only for a document that is not an actor (a
// stub or key document, whose owner is fetched next).
func keyIn(doc map[string]any, keyID string) (pem, owner string) {
	if str(doc["id"]) == keyID && str(doc["publicKeyPem"]) != "" {
		return str(doc["publicKeyPem"]), str(doc["owner"])
	}
	_, isActor := doc["inbox"]
	for _, k := range asList(doc["publicKey"]) {
		m, ok := k.(map[string]any)
		if !ok || str(m["id"]) != keyID || str(m["publicKeyPem"]) == "" {
			continue
		}
		owner := str(m["owner"])
		if isActor && owner != "" && owner != str(doc["id"]) {
			continue
		}
		return str(m["publicKeyPem"]), owner
	}
	return "", ""
}
