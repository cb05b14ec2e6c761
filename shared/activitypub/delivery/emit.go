// Package delivery is the outgoing side of ActivityPub, "the event
// processor": an activity a local actor emits is stored in ap_activities in
// the same transaction as the change that caused it, together with a River
// job; that job fans the activity out to one delivery per distinct inbox
// (followers behind a shared inbox get one POST between them), and each
// delivery POSTs the signed activity, retrying server errors, network
// errors and 429s with exponential backoff and jitter. A per-host circuit
// breaker keeps a dead host from holding the queue, and a per-host
// semaphore bounds how many requests one host gets at once.
//
// The numbers (attempts, backoff, breaker, concurrency) are in Config; the
// reasons for them are in docs/DECISIONS.md, "ActivityPub delivery".
//
// This package alone writes ap_activities (Emit) and ap_deliveries (one
// row per inbox and activity). It reads ap_actors and ap_followers, which
// are activitypub's: an inbox that is gone is recorded there through
// Deliverer.InboxGone.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Queue is the River queue fan-outs and deliveries run in. A service that
// delivers works it with about QueueWorkers workers.
const Queue = "ap_delivery"

// QueueWorkers is the suggested MaxWorkers for Queue: deliveries mostly
// wait on remote servers, and the per-host limit (Config.HostConcurrency)
// keeps any one host from taking them all.
const QueueWorkers = 50

// Activity is an activity a local actor emits.
type Activity struct {
	// ID is the activity's id URI; it must be unique (peers such as
	// GoToSocial answer a reused id with 500): use NewID. Emit fills it in
	// when empty.
	ID string
	// Actor is the local actor's id URI, such as
	// http://blog.localhost:8001/users/blog; deliveries are signed with key
	// id Actor+"#main-key".
	Actor string
	// Type is the activity type: Create, Update, Delete, Follow, Accept,
	// Undo, Like, Announce...
	Type string
	// ObjectURI is the object's id, for lookups ("" if none).
	ObjectURI string
	// Payload is the full JSON-LD document, @context included. Emit sets
	// "id", "actor" and "type" when they are missing.
	Payload map[string]any
	// Listed shows the activity in the actor's outbox.
	Listed bool
	// ToFollowers delivers to the actor's accepted followers that are not
	// gone.
	ToFollowers bool
	// Recipients are actor URIs also delivered to. They must be in
	// ap_actors (resolved beforehand); their inbox is looked up at fan-out,
	// and unknown ones are skipped.
	Recipients []string
}

// NewID returns a fresh activity id under actor:
// <actor>/activities/<uuid v7>, time-ordered so ids sort by creation.
func NewID(actor string) string {
	id, err := uuid.NewV7()
	if err != nil { // only when the clock or the random source fails
		id = uuid.New()
	}
	return actor + "/activities/" + id.String()
}

// ErrInvalidActivity is returned by Emit for an activity that cannot be
// stored (no actor, no type, no payload, or an id or actor in the payload
// that disagrees with the Activity's).
var ErrInvalidActivity = errors.New("delivery: invalid activity")

const insertActivity = `
INSERT INTO ap_activities (uri, actor, type, object_uri, payload, listed, to_followers, recipients)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id`

// Emit stores a in ap_activities within tx and queues its fan-out job in
// the same transaction (jobs.InsertTx), so the activity is delivered if and
// only if tx commits. It returns the activity's row id. Errors:
// ErrInvalidActivity (wrapped) for a malformed activity; otherwise a
// database error (a reused id is a unique violation).
func Emit(ctx context.Context, tx pgx.Tx, jobs *river.Client[pgx.Tx], a Activity) (uuid.UUID, error) {
	if a.Actor == "" || a.Type == "" || a.Payload == nil {
		return uuid.Nil, fmt.Errorf("%w: actor, type and payload are required", ErrInvalidActivity)
	}
	if jobs == nil {
		return uuid.Nil, errors.New("delivery: Emit needs a job client")
	}
	if a.ID == "" {
		a.ID = NewID(a.Actor)
	}
	// The payload is copied so that the caller's map is left as it was.
	payload := make(map[string]any, len(a.Payload)+3)
	for k, v := range a.Payload {
		payload[k] = v
	}
	for key, want := range map[string]string{"id": a.ID, "actor": a.Actor, "type": a.Type} {
		switch got := payload[key].(type) {
		case nil:
			payload[key] = want
		case string:
			if got != want {
				return uuid.Nil, fmt.Errorf("%w: payload %s %q differs from %q", ErrInvalidActivity, key, got, want)
			}
		default:
			if key != "actor" { // an embedded actor object is allowed
				return uuid.Nil, fmt.Errorf("%w: payload %s is not a string", ErrInvalidActivity, key)
			}
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%w: payload: %v", ErrInvalidActivity, err)
	}
	recipients := a.Recipients
	if recipients == nil {
		recipients = []string{}
	}
	var id uuid.UUID
	if err := tx.QueryRow(ctx, insertActivity, a.ID, a.Actor, a.Type, a.ObjectURI, body, a.Listed, a.ToFollowers, recipients).
		Scan(&id); err != nil {
		return uuid.Nil, fmt.Errorf("delivery: store activity %s: %w", a.ID, err)
	}
	if !a.ToFollowers && len(a.Recipients) == 0 {
		return id, nil // nobody to deliver to (e.g. an outbox-only entry)
	}
	if _, err := jobs.InsertTx(ctx, tx, FanoutArgs{ActivityID: id}, nil); err != nil {
		return uuid.Nil, fmt.Errorf("delivery: queue the fan-out of %s: %w", a.ID, err)
	}
	return id, nil
}

// FanoutArgs is the job that turns a stored activity into one delivery job
// per distinct inbox.
type FanoutArgs struct {
	ActivityID uuid.UUID `json:"activity_id"`
}

// Kind names the job in River.
func (FanoutArgs) Kind() string { return "ap_fanout" }

// InsertOpts puts fan-outs on Queue. They touch only the database, so a
// failure is a database failure: River's default backoff is fine. A
// fan-out is idempotent (existing deliveries are skipped), so it is not
// unique: it may be queued again, e.g. after a shared inbox went away.
func (FanoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10}
}

// DeliverArgs is the job that POSTs one activity to one inbox.
type DeliverArgs struct {
	ActivityID uuid.UUID `json:"activity_id"`
	Inbox      string    `json:"inbox"`
}

// Kind names the job in River.
func (DeliverArgs) Kind() string { return "ap_deliver" }

// InsertOpts puts deliveries on Queue, one per (activity, inbox). The
// fan-out sets MaxAttempts from Config.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: DefaultMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EmitPublic emits, in tx, a public activity of actor about objectID (a
// post's Create, Update or Delete) to its followers, listed in its outbox:
// what the blog's, the market's and the events' publishers send.
func EmitPublic(ctx context.Context, tx pgx.Tx, jobs *river.Client[pgx.Tx], actor, typ, objectID string, payload map[string]any) error {
	_, err := Emit(ctx, tx, jobs, Activity{ID: NewID(actor), Actor: actor, Type: typ, ObjectURI: objectID, Payload: payload,
		Listed: true, ToFollowers: true})
	return err
}
