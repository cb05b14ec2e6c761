package agenda

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/models"
)

// Attendance books and cancels remote actors' places at events; the
// bookings store owns the tables it writes. Both run in the caller's
// transaction (the one that handles the Join or Leave, inside a savepoint:
// an error rolls back only what the call wrote).
type Attendance interface {
	// BookRemote books one place at occurrence occurrenceID for the remote
	// actor actorID, whose Join joinID asked for it. Errors: a models.Error
	// other than EInternal when the place cannot be had (the occurrence is
	// full, cancelled, no longer on sale): the Join is then rejected; any
	// other error (the database's) makes the Join tried again later.
	BookRemote(ctx context.Context, tx pgx.Tx, occurrenceID uuid.UUID, actorID, joinID string) error
	// CancelRemote cancels the booking made for the Join joinID, giving its
	// place back. Errors: a models.Error other than EInternal when it cannot
	// be (none, already cancelled, past the cancellation cutoff): ignored;
	// any other error makes the Leave tried again later.
	CancelRemote(ctx context.Context, tx pgx.Tx, joinID string) error
}

// Participation answers what remote actors send about the events' Event
// objects, as Mobilizon expects: a Join books a place at the event's next
// occurrence and is answered with an Accept (embedding the Join), or with a
// Reject when the event is not bookable (unpublished, cancelled, over,
// full); a Leave of the event, or an Undo of the Join, cancels the place.
type Participation struct {
	Publisher  *Publisher
	Attendance Attendance
}

// Handle handles a Join, Leave or Undo sent to the events service's inbox,
// in tx (an activitypub.ParticipationHandler: give it to
// Service.SetParticipation). Activities about other objects are ignored.
// Errors: the database's and Attendance's internal ones (the activity is
// tried again).
func (pa *Participation) Handle(ctx context.Context, tx pgx.Tx, act map[string]any) error {
	typ, actor, id := str(act["type"]), idOf(act["actor"]), str(act["id"])
	if actor == "" || id == "" {
		return nil
	}
	switch typ {
	case "Join":
		eventID, ok, err := pa.event(ctx, tx, idOf(act["object"]))
		if err != nil || !ok {
			return err
		}
		return pa.join(ctx, tx, eventID, actor, id)
	case "Leave":
		object := idOf(act["object"])
		eventID, ok, err := pa.event(ctx, tx, object)
		if err != nil {
			return err
		}
		if ok {
			return pa.leaveEvent(ctx, tx, eventID, actor)
		}
		return pa.leaveJoin(ctx, tx, object, actor) // a Leave naming the Join
	case "Undo":
		return pa.leaveJoin(ctx, tx, idOf(act["object"]), actor)
	}
	return nil
}

// event is the event an object names: by its Event id, or by its page's
// address (/events/<slug>), which some peers give instead; ok is false for
// anything else.
func (pa *Participation) event(ctx context.Context, tx pgx.Tx, object string) (uuid.UUID, bool, error) {
	if id, ok := pa.Publisher.eventID(object); ok {
		return id, true, nil
	}
	slug, found := strings.CutPrefix(object, strings.TrimRight(pa.Publisher.EventsURL, "/")+"/events/")
	if !found || slug == "" || strings.ContainsAny(slug, "/?#") {
		return uuid.Nil, false, nil
	}
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM events WHERE slug = $1`, slug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	return id, err == nil, err
}

// join books a place for actor's Join joinID of the event and answers it.
func (pa *Participation) join(ctx context.Context, tx pgx.Tx, eventID uuid.UUID, actor, joinID string) error {
	object := pa.Publisher.ObjectID(eventID)
	// Asked again (a Join resent with a new id): answered again, the place
	// already held.
	var held bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bookings b JOIN event_occurrences o ON o.id = b.occurrence_id
		WHERE o.event_id = $1 AND b.remote_actor = $2 AND b.status IN ('held', 'confirmed') AND o.ends_at > now())`,
		eventID, actor).Scan(&held); err != nil {
		return err
	}
	if held {
		return pa.answer(ctx, tx, "Accept", actor, joinID, object)
	}
	occurrence, err := nextOccurrence(ctx, tx, eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return pa.answer(ctx, tx, "Reject", actor, joinID, object)
	}
	if err != nil {
		return err
	}
	err = inSavepoint(ctx, tx, func(sp pgx.Tx) error { return pa.Attendance.BookRemote(ctx, sp, occurrence, actor, joinID) })
	switch {
	case err == nil:
		return pa.answer(ctx, tx, "Accept", actor, joinID, object)
	case models.Code(err) != models.EInternal:
		return pa.answer(ctx, tx, "Reject", actor, joinID, object)
	}
	return err
}

// nextOccurrence is the event's next occurrence still to start, when the
// event is published and not cancelled. Errors: pgx.ErrNoRows when there is
// none; the database's.
func nextOccurrence(ctx context.Context, tx pgx.Tx, eventID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT o.id FROM event_occurrences o JOIN events e ON e.id = o.event_id
		WHERE e.id = $1 AND e.status = 'scheduled' AND e.published_at IS NOT NULL
		  AND o.status = 'scheduled' AND o.starts_at > now()
		ORDER BY o.starts_at LIMIT 1`, eventID).Scan(&id)
	return id, err
}

// leaveEvent cancels actor's places at the event's occurrences still to
// end (Mobilizon's Leave names the event).
func (pa *Participation) leaveEvent(ctx context.Context, tx pgx.Tx, eventID uuid.UUID, actor string) error {
	rows, err := tx.Query(ctx, `SELECT b.join_activity FROM bookings b JOIN event_occurrences o ON o.id = b.occurrence_id
		WHERE o.event_id = $1 AND b.remote_actor = $2 AND b.join_activity IS NOT NULL
		  AND b.status IN ('held', 'confirmed') AND o.ends_at > now()`, eventID, actor)
	if err != nil {
		return err
	}
	joins, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, j := range joins {
		if err := pa.cancel(ctx, tx, j); err != nil {
			return err
		}
	}
	return nil
}

// leaveJoin cancels the place booked by the Join joinID, if actor made it.
func (pa *Participation) leaveJoin(ctx context.Context, tx pgx.Tx, joinID, actor string) error {
	if joinID == "" {
		return nil
	}
	var mine bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE join_activity = $1 AND remote_actor = $2
		AND status IN ('held', 'confirmed'))`, joinID, actor).Scan(&mine); err != nil || !mine {
		return err
	}
	return pa.cancel(ctx, tx, joinID)
}

func (pa *Participation) cancel(ctx context.Context, tx pgx.Tx, joinID string) error {
	err := inSavepoint(ctx, tx, func(sp pgx.Tx) error { return pa.Attendance.CancelRemote(ctx, sp, joinID) })
	if err != nil && models.Code(err) != models.EInternal {
		return nil // nothing to cancel, or too late to: the booking stands as it is
	}
	return err
}

// answer emits an Accept or Reject of actor's Join joinID of object,
// embedding the Join (Mobilizon finds the participation by its id).
func (pa *Participation) answer(ctx context.Context, tx pgx.Tx, typ, actor, joinID, object string) error {
	local := pa.Publisher.Actor()
	join := map[string]any{"id": joinID, "type": "Join", "actor": actor, "object": object}
	_, err := delivery.Emit(ctx, tx, pa.Publisher.Jobs, delivery.Activity{
		ID: delivery.NewID(local), Actor: local, Type: typ, ObjectURI: joinID,
		Payload:    map[string]any{"@context": Context, "type": typ, "actor": local, "object": join, "to": []any{actor}},
		Recipients: []string{actor},
	})
	return err
}

// inSavepoint runs f in a savepoint of tx, rolled back when f fails (so
// that tx stays usable for the answer).
func inSavepoint(ctx context.Context, tx pgx.Tx, f func(pgx.Tx) error) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := f(sp); err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return sp.Commit(ctx)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// idOf is an id given as a string, an object with an id, or a list whose
// first item is either.
func idOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		return str(x["id"])
	case []any:
		if len(x) > 0 {
			return idOf(x[0])
		}
	}
	return ""
}
