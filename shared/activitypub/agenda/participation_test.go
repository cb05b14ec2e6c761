package agenda_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub/agenda"
	"rose-ash.com/platform/shared/activitypub/aptest"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/safefetch"
	"rose-ash.com/platform/shared/services/bookings"
)

// seats is a small Attendance on the real tables, as the bookings store
// books a remote actor's place: a seat taken under the occurrence's CHECK,
// a confirmed booking of the event's first ticket type.
type seats struct{}

func (seats) BookRemote(ctx context.Context, tx pgx.Tx, occurrence uuid.UUID, actor, join string) error {
	tag, err := tx.Exec(ctx, `UPDATE event_occurrences SET taken = taken + 1 WHERE id = $1 AND (capacity IS NULL OR taken < capacity)`, occurrence)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.EConflict, "This event is full.")
	}
	_, err = tx.Exec(ctx, `INSERT INTO bookings (occurrence_id, ticket_type_id, quantity, remote_actor, join_activity, status, confirmed_at)
		SELECT $1, t.id, 1, $2, $3, 'confirmed', now() FROM ticket_types t JOIN event_occurrences o ON o.event_id = t.event_id
		WHERE o.id = $1 ORDER BY t.position LIMIT 1`, occurrence, actor, join)
	return err
}

func (seats) CancelRemote(ctx context.Context, tx pgx.Tx, join string) error {
	var occurrence uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = now(), seats_released_at = now()
		WHERE join_activity = $1 AND status IN ('held', 'confirmed') RETURNING occurrence_id`, join).Scan(&occurrence)
	if err == pgx.ErrNoRows {
		return models.Errorf(models.ENotFound, "There is no such booking.")
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE event_occurrences SET taken = taken - 1 WHERE id = $1`, occurrence)
	return err
}

// mobilizon is a remote instance whose people join our events.
type mobilizon struct {
	*aptest.Server
	site *site
}

// send posts an activity signed by the remote actor to @events's inbox
// and has the inbox handle it.
func (m mobilizon) send(t *testing.T, by *aptest.Actor, activity map[string]any) {
	t.Helper()
	ctx := context.Background()
	req, err := by.NewRequest(ctx, m.site.url+"/users/events/inbox", activity)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the inbox answered %s a %v: %d", by.ID, activity["type"], resp.StatusCode)
	}
	drain, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.site.ap.Drain(drain); err != nil {
		t.Fatal(err)
	}
}

// join is a Join as Mobilizon sends it: the event's id as object, a
// participation message.
func (m mobilizon) join(t *testing.T, by *aptest.Actor, event string) string {
	t.Helper()
	id := m.URL() + "/join/event/" + uuid.NewString()
	m.send(t, by, map[string]any{"@context": agenda.Context, "id": id, "type": "Join", "actor": by.ID, "object": event,
		"participationMessage": "See you there"})
	return id
}

// answer waits for @events's answer to the Join joinID and returns its
// type (Accept or Reject).
func (m mobilizon) answer(t *testing.T, joinID string) string {
	t.Helper()
	d := m.WaitFor(t, 20*time.Second, func(d aptest.Delivery) bool {
		obj, _ := d.Activity["object"].(map[string]any)
		return (d.Type() == "Accept" || d.Type() == "Reject") && obj["id"] == joinID
	})
	obj, _ := d.Activity["object"].(map[string]any)
	if !d.Verified || d.Activity["actor"] != m.site.pub.Actor() || obj["type"] != "Join" || obj["actor"] == nil || obj["object"] == nil {
		t.Errorf("the answer (verified %v, %s): %v", d.Verified, d.Err, d.Activity)
	}
	return d.Type()
}

// booking is the status of the booking a Join made ("" for none), and how
// many seats its event's occurrences have taken.
func (s *site) booking(t *testing.T, joinID string, event uuid.UUID) (string, int) {
	t.Helper()
	ctx := context.Background()
	var status string
	err := s.db.QueryRow(ctx, `SELECT status FROM bookings WHERE join_activity = $1`, joinID).Scan(&status)
	if err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	var taken int
	if err := s.db.QueryRow(ctx, `SELECT coalesce(sum(taken), 0) FROM event_occurrences WHERE event_id = $1`, event).Scan(&taken); err != nil {
		t.Fatal(err)
	}
	return status, taken
}

// A remote actor's Join of one of our events books a place and is
// accepted; once the event is full the next is rejected; Leave (as
// Mobilizon sends it, naming the event) and the Undo of a Join give the
// place back; only the one who joined can; a cancelled event rejects
// Joins, and a Join of something not ours is not answered.
func TestJoinsAreAcceptedWhilePlacesLastAndLeavesGiveThemBack(t *testing.T) {
	s := startSite(t)
	s.ap.SetParticipation((&agenda.Participation{Publisher: s.pub, Attendance: seats{}}).Handle)
	f := fair()
	f.Capacity = ptr(1)
	id := s.addEvent(t, f)
	s.change(t, id, "")
	event := s.pub.ObjectID(id)

	m := mobilizon{Server: aptest.NewServer(t, aptest.WithFetchClient(safefetch.New(safefetch.Options{Allow: loopback}))), site: s}
	bob, carol := m.AddActor("bob"), m.AddActor("carol")

	bobs := m.join(t, bob, event)
	if got := m.answer(t, bobs); got != "Accept" {
		t.Fatalf("bob's Join of an event with a free place: %s, want Accept", got)
	}
	if status, taken := s.booking(t, bobs, id); status != "confirmed" || taken != 1 {
		t.Errorf("after bob's Join: booking %q, %d seats taken; want confirmed, 1", status, taken)
	}

	carols := m.join(t, carol, event)
	if got := m.answer(t, carols); got != "Reject" {
		t.Errorf("carol's Join of a full event: %s, want Reject", got)
	}
	if status, taken := s.booking(t, carols, id); status != "" || taken != 1 {
		t.Errorf("after carol's rejected Join: booking %q, %d seats taken; want none, 1", status, taken)
	}

	// Bob's Join sent again is accepted again, without a second seat.
	again := m.join(t, bob, event)
	if got := m.answer(t, again); got != "Accept" {
		t.Errorf("bob's second Join: %s, want Accept", got)
	}
	if _, taken := s.booking(t, again, id); taken != 1 {
		t.Errorf("bob's second Join took a seat: %d taken", taken)
	}

	// Carol cannot undo bob's Join.
	m.send(t, carol, map[string]any{"id": m.URL() + "/undo/1", "type": "Undo", "actor": carol.ID,
		"object": map[string]any{"id": bobs, "type": "Join", "actor": bob.ID, "object": event}})
	if status, _ := s.booking(t, bobs, id); status != "confirmed" {
		t.Errorf("carol's Undo of bob's Join left his booking %q", status)
	}

	// Bob leaves (Mobilizon's Leave names the event): his place is free.
	m.send(t, bob, map[string]any{"id": m.URL() + "/leave/1", "type": "Leave", "actor": bob.ID, "object": event})
	if status, taken := s.booking(t, bobs, id); status != "cancelled" || taken != 0 {
		t.Errorf("after bob's Leave: booking %q, %d seats taken; want cancelled, 0", status, taken)
	}

	// Carol joins again and takes it, then undoes her Join.
	carols = m.join(t, carol, event)
	if got := m.answer(t, carols); got != "Accept" {
		t.Errorf("carol's Join once bob left: %s, want Accept", got)
	}
	m.send(t, carol, map[string]any{"id": m.URL() + "/undo/2", "type": "Undo", "actor": carol.ID,
		"object": map[string]any{"id": carols, "type": "Join", "actor": carol.ID, "object": event}})
	if status, taken := s.booking(t, carols, id); status != "cancelled" || taken != 0 {
		t.Errorf("after carol's Undo: booking %q, %d seats taken; want cancelled, 0", status, taken)
	}

	// A Join naming the event's page rather than its id books too.
	dave := m.AddActor("dave")
	daves := m.join(t, dave, s.url+"/events/summer-fair")
	if got := m.answer(t, daves); got != "Accept" {
		t.Errorf("a Join naming the event's page: %s, want Accept", got)
	}
	if status, taken := s.booking(t, daves, id); status != "confirmed" || taken != 1 {
		t.Errorf("after dave's Join: booking %q, %d seats taken; want confirmed, 1", status, taken)
	}

	// A cancelled event rejects Joins.
	s.change(t, id, "status = 'cancelled', cancelled_at = now()")
	late := m.join(t, bob, event)
	if got := m.answer(t, late); got != "Reject" {
		t.Errorf("a Join of a cancelled event: %s, want Reject", got)
	}

	// A Join of something not ours is left unanswered.
	stray := m.join(t, bob, m.URL()+"/events/elsewhere")
	var answers int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM ap_activities WHERE object_uri = $1`, stray).Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if answers != 0 {
		t.Errorf("a Join of another server's event was answered %d times", answers)
	}
}

// The bookings store is an Attendance: it books and cancels in the
// transaction that handles the Join or Leave.
var _ agenda.Attendance = (*bookings.Store)(nil)

// Through the bookings store: a Join gets a confirmed booking with its
// ticket and an Accept, a Join of a full event a Reject, and a Leave gives
// the place back.
func TestJoinsBookThroughTheBookingsStore(t *testing.T) {
	s := startSite(t)
	s.ap.SetParticipation((&agenda.Participation{Publisher: s.pub, Attendance: bookings.New(s.db)}).Handle)
	f := fair()
	f.Capacity = ptr(1)
	id := s.addEvent(t, f)
	s.change(t, id, "")
	event := s.pub.ObjectID(id)
	m := mobilizon{Server: aptest.NewServer(t, aptest.WithFetchClient(safefetch.New(safefetch.Options{Allow: loopback}))), site: s}
	bob, carol := m.AddActor("bob"), m.AddActor("carol")

	bobs := m.join(t, bob, event)
	if got := m.answer(t, bobs); got != "Accept" {
		t.Fatalf("bob's Join: %s, want Accept", got)
	}
	var tickets int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id
		WHERE b.join_activity = $1 AND b.status = 'confirmed' AND t.status = 'valid'`, bobs).Scan(&tickets); err != nil {
		t.Fatal(err)
	}
	if tickets != 1 {
		t.Errorf("bob's Join gave %d valid tickets, want 1", tickets)
	}
	carols := m.join(t, carol, event)
	if got := m.answer(t, carols); got != "Reject" {
		t.Errorf("carol's Join of a full event: %s, want Reject", got)
	}
	m.send(t, bob, map[string]any{"id": m.URL() + "/leave/1", "type": "Leave", "actor": bob.ID, "object": event})
	if status, taken := s.booking(t, bobs, id); status != "cancelled" || taken != 0 {
		t.Errorf("after bob's Leave: booking %q, %d seats taken; want cancelled, 0", status, taken)
	}
}
