package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"rose-ash.com/platform/shared/activitypub/signature"
)

// inbox receives an activity for one of this host's actors (or, at the
// shared inbox, for any of them). The order matters: cheap checks first,
// Deletes from actors we never knew dropped before any network I/O, then
// the signature (which may fetch the key). A verified activity is stored
// as it came, deduplicated by id, and answered 202 once committed; the
// service's processor handles it afterwards (process.go), as Mastodon,
// GoToSocial and Misskey do, so a burst of deliveries costs each sender
// one verification and a share of a commit.
//
// Answers: 202 accepted (also for duplicates and types we ignore), 400 for
// a body that is not an activity (do not retry), 401 for a bad signature,
// 413 for a body over 1 MB.
func (s *Service) inbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// Unsigned requests are refused before anything.
	if r.Header.Get("Signature") == "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Signature ") {
		inboxError(w, http.StatusUnauthorized, "the request is not signed (HTTP Signatures)")
		return
	}
	if name := chi.URLParam(r, "name"); name != "" {
		if _, err := s.local(ctx, name); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			inboxError(w, http.StatusRequestEntityTooLarge, "the body is over 1 MB")
			return
		}
		inboxError(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	env, ok := readEnvelope(body)
	if !ok {
		inboxError(w, http.StatusBadRequest, "the body is not JSON")
		return
	}
	actor := env.Actor
	if env.ID == "" || env.Type == "" || actor == "" || hostOf(actor) == "" {
		inboxError(w, http.StatusBadRequest, "an activity needs an id, a type and an actor")
		return
	}
	if env.Type == "Delete" {
		known, err := s.knows(ctx, actor)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !known {
			w.WriteHeader(http.StatusAccepted) // nothing of theirs to delete
			return
		}
	}
	owner, err := s.verify(r, body)
	if err != nil {
		// The operator's only view of why a peer cannot talk to us (the
		// peer's own logs may say no more than "401").
		keyID, _ := signature.KeyIDOf(r)
		s.Logger.WarnContext(ctx, "inbox: signature refused", "actor", actor, "type", env.Type, "key_id", keyID, "reason", err.Error())
		inboxError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if owner != actor {
		s.Logger.WarnContext(ctx, "inbox: signature refused", "actor", actor, "type", env.Type, "key_owner", owner,
			"reason", "the signing key belongs to another actor than the activity's")
		inboxError(w, http.StatusUnauthorized, "the signature is not the activity's actor's")
		return
	}
	if err := s.inboxBatches().accept(ctx, arrival{id: env.ID, typ: env.Type, actor: actor, payload: body}); err != nil {
		if errors.Is(err, errBadActivity) {
			inboxError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// envelope is what the inbox reads of an activity before storing it; the
// rest is read when it is handled. The processor takes id, type and actor
// from what was read here (the stored columns), never again from the body,
// so a body that names its actor twice cannot be verified as one actor and
// handled as another.
type envelope struct {
	ID, Type, Actor string
}

// readEnvelope reads the envelope of a JSON body; ok is false when the
// body is not JSON. The actor may be given as an id or as an object.
func readEnvelope(body []byte) (envelope, bool) {
	if !gjson.ValidBytes(body) {
		return envelope{}, false
	}
	r := gjson.GetManyBytes(body, "id", "type", "actor")
	env := envelope{ID: stringOf(r[0]), Type: stringOf(r[1]), Actor: stringOf(r[2])}
	if r[2].IsObject() {
		env.Actor = stringOf(r[2].Get("id"))
	}
	return env, true
}

// stringOf is r's value when it is a JSON string.
func stringOf(r gjson.Result) string {
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}

// readBody reads the request's body, at most MaxBody, into a buffer sized
// by Content-Length when that is given.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	if r.ContentLength <= 0 || r.ContentLength > MaxBody {
		return io.ReadAll(body)
	}
	buf := bytes.NewBuffer(make([]byte, 0, r.ContentLength+1))
	_, err := buf.ReadFrom(body)
	return buf.Bytes(), err
}

func inboxError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "title": http.StatusText(status), "detail": msg})
}

// knows reports whether actor is in ap_actors.
func (s *Service) knows(ctx context.Context, actor string) (bool, error) {
	var ok bool
	err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ap_actors WHERE uri = $1)`, actor).Scan(&ok)
	return ok, err
}

// verify checks the request's HTTP signature and returns the actor that
// owns the key. A signature that fails with a cached key is tried once more
// with the key fetched again, in case the actor changed keys.
func (s *Service) verify(r *http.Request, body []byte) (string, error) {
	var owner string
	lookup := func(fresh bool) signature.KeyLookup {
		return func(ctx context.Context, keyID string) (crypto.PublicKey, error) {
			k, o, err := s.Resolver.PublicKey(ctx, keyID, fresh)
			owner = o
			return k, err
		}
	}
	_, err := signature.Verify(r, body, s.now(), lookup(false))
	if err != nil && errors.Is(err, signature.ErrBadSignature) && !errors.Is(err, signature.ErrKeyNotFound) && signedWithKey(err) {
		_, err = signature.Verify(r, body, s.now(), lookup(true))
	}
	return owner, err
}

// signedWithKey reports whether a verification failed on the signature
// itself (so a fresh key might help) rather than on the headers.
func signedWithKey(err error) bool {
	return strings.Contains(err.Error(), "does not verify")
}
