package internal

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/activitypub/signature"
	"rose-ash.com/platform/shared/safefetch"
)

// TestDeletedActorsFollowerReceivesASignedDelete: once the deletion
// commits, the delivery jobs POST the Delete of the member's actor to
// their follower's inbox, signed as that actor with the site key.
func TestDeletedActorsFollowerReceivesASignedDelete(t *testing.T) {
	ctx := context.Background()
	f := newErasureFixture(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	type received struct {
		doc      map[string]any
		keyID    string
		verified error
	}
	var (
		mu   sync.Mutex
		got  []received
		done = make(chan struct{}, 10)
	)
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, verr := signature.Verify(r, body, time.Now(), func(_ context.Context, keyID string) (crypto.PublicKey, error) {
			if keyID != f.annActor+"#main-key" {
				return nil, fmt.Errorf("unknown key %s: %w", keyID, signature.ErrKeyNotFound)
			}
			return &key.PublicKey, nil
		})
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		mu.Lock()
		got = append(got, received{doc: doc, keyID: v.KeyID, verified: verr})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		done <- struct{}{}
	}))
	t.Cleanup(inbox.Close)
	zed := inbox.URL + "/users/zed"
	for _, q := range []string{
		`DELETE FROM ap_followers`,
		`INSERT INTO ap_actors (uri, host, inbox) VALUES ('` + zed + `', '127.0.0.1', '` + inbox.URL + `/inbox')`,
		`INSERT INTO ap_followers (local_actor, actor_uri, follow_uri, state) VALUES ('` + f.annActor + `', '` + zed + `', '` + zed + `/follows/1', 'accepted')`,
	} {
		if _, err := f.db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	d := &delivery.Deliverer{DB: f.db, Key: key,
		Client: safefetch.New(safefetch.Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: 5 * time.Second}),
		Config: delivery.Config{MaxAttempts: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second,
			BreakerFailures: 10, BreakerCooldown: time.Second, HostWait: 100 * time.Millisecond, Timeout: 5 * time.Second}}
	workers := river.NewWorkers()
	if err := d.Register(workers); err != nil {
		t.Fatal(err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(f.db), &river.Config{Logger: slog.New(slog.DiscardHandler), Workers: workers,
		Queues:            map[string]river.QueueConfig{delivery.Queue: {MaxWorkers: 4}},
		FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 20 * time.Millisecond, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = jobs.Stop(stop)
	})

	now := time.Now()
	if _, err := f.ids.RequestDeletion(ctx, f.ann.user.ID, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.eraser.Erase(ctx, jobs, f.ann.user.ID, now.Add(2*time.Hour)); err != nil || !ok {
		t.Fatalf("Erase = %v, %v", ok, err)
	}
	deadline := time.After(15 * time.Second)
	for {
		mu.Lock()
		for _, r := range got {
			if r.doc["type"] == "Delete" && r.doc["object"] == f.annActor {
				mu.Unlock()
				if r.verified != nil || r.keyID != f.annActor+"#main-key" || r.doc["actor"] != f.annActor {
					t.Fatalf("the actor's Delete arrived with key %q, signature %v", r.keyID, r.verified)
				}
				return
			}
		}
		mu.Unlock()
		select {
		case <-done:
		case <-deadline:
			t.Fatalf("the follower's inbox got no Delete of the actor; it got %d requests", len(got))
		}
	}
}
