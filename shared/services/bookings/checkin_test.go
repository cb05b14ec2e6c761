package bookings_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/bookings"
)

func TestScanChecksATicketInOnce(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustPool(t)
	f := mustEvent(t, db, "concert", seats(10))
	other := mustEvent(t, db, "other-concert", nil)
	door := mustUser(t, db, "door@example.com", "Dora")

	list, err := f.st.DefaultCheckinList(ctx, f.eventID)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.st.DefaultCheckinList(ctx, f.eventID); err != nil || again.ID != list.ID || list.Name != bookings.DefaultCheckinListName {
		t.Fatalf("default list twice: %+v %+v %v", list, again, err)
	}
	b, err := f.st.Book(ctx, guest(f, 2, "Ann Lee"), now)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := f.st.Book(ctx, guest(f, 1, "Cal Cancelled"), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Cancel(ctx, gone.ID, now); err != nil {
		t.Fatal(err)
	}
	elsewhere, err := other.st.Book(ctx, guest(other, 1, "Eli Elsewhere"), now)
	if err != nil {
		t.Fatal(err)
	}

	count := func() (int, int) {
		t.Helper()
		in, booked, err := f.st.CheckinCount(ctx, list.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		return in, booked
	}
	if in, booked := count(); in != 0 || booked != 2 {
		t.Fatalf("count %d/%d, want 0/2", in, booked)
	}

	// 19:02 in London in June is 18:02 UTC.
	at := time.Date(2026, 6, 3, 18, 2, 0, 0, time.UTC)
	scan := func(code, kind, scanID string, when time.Time) (models.ScanResult, error) {
		return f.st.Scan(ctx, bookings.ScanRequest{ListID: list.ID, Code: code, ByUserID: door, ByName: "Dora",
			Kind: kind, ClientScanID: scanID}, when)
	}
	first := b.Tickets[0].Code()
	r, err := scan(first, "", "scan-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Recorded || r.Already || r.Message != "Checked in: Ann Lee, Standard, ticket 1 of 2." {
		t.Fatalf("first scan %+v", r)
	}
	r, err = scan(strings.ToLower(first), models.ScanEntry, "scan-2", at.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r.Recorded || !r.Already || !strings.HasPrefix(r.Message, "Already checked in at 19:02 by Dora") {
		t.Fatalf("second scan %+v", r)
	}
	// The first scan uploaded again from a queue counts once.
	r, err = scan(first, "", "scan-1", at.Add(10*time.Minute))
	if err != nil || r.Recorded || r.Message != "Checked in: Ann Lee, Standard, ticket 1 of 2." {
		t.Fatalf("re-uploaded scan %+v, %v", r, err)
	}
	if in, booked := count(); in != 1 || booked != 2 {
		t.Fatalf("count %d/%d, want 1/2", in, booked)
	}
	var rows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM checkins`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d check-ins recorded, want 1 (%v)", rows, err)
	}

	// An exit is recorded; coming back in is still "already".
	if r, err := scan(first, models.ScanExit, "", at.Add(time.Hour)); err != nil || !r.Recorded || !strings.HasPrefix(r.Message, "Checked out") {
		t.Fatalf("exit %+v %v", r, err)
	}
	if r, _ := scan(first, "", "", at.Add(2*time.Hour)); !r.Already {
		t.Fatalf("re-entry %+v", r)
	}

	// Refusals, each clear, none recorded.
	_, err = scan(gone.Tickets[0].Code(), "", "", at)
	wantError(t, err, models.EConflict, "This ticket was cancelled")
	_, err = scan(elsewhere.Tickets[0].Code(), "", "", at)
	wantError(t, err, models.EConflict, "another event, Event other-concert")
	_, err = scan(models.TicketCode(make([]byte, 16)), "", "", at)
	wantError(t, err, models.ENotFound, "No ticket has this code")
	_, err = scan("hello", "", "", at)
	wantError(t, err, models.EInvalid, "not a ticket code")
	_, err = f.st.Scan(ctx, bookings.ScanRequest{ListID: uuid.New(), Code: first}, at)
	wantError(t, err, models.ENotFound, "check-in list")

	// When the event has another date, a ticket is let in on its own day
	// only.
	var nextWeek uuid.UUID
	if err := db.QueryRow(ctx, `INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity) VALUES ($1, $2, $3, 10) RETURNING id`,
		f.eventID, f.startsAt.Add(7*24*time.Hour), f.startsAt.Add(7*24*time.Hour+2*time.Hour)).Scan(&nextWeek); err != nil {
		t.Fatal(err)
	}
	later, err := f.st.Book(ctx, bookings.Request{OccurrenceID: nextWeek, TicketTypeID: f.free, Quantity: 1, Name: "Lee Later", Email: "lee@example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = scan(later.Tickets[0].Code(), "", "", at)
	wantError(t, err, models.EConflict, "another date, Wednesday 10 June 13:00")
	if r, err := scan(later.Tickets[0].Code(), "", "", f.startsAt.Add(7*24*time.Hour-time.Hour)); err != nil || !r.Recorded {
		t.Fatalf("next week's ticket next week: %+v, %v", r, err)
	}
	if r, err := scan(b.Tickets[1].Code(), "", "", at); err != nil || !r.Recorded {
		t.Fatalf("tonight's ticket tonight: %+v, %v", r, err)
	}
	// The count at the door is tonight's: 2 of 2, then next week 1 of 1.
	if in, booked, err := f.st.CheckinCount(ctx, list.ID, at); err != nil || in != 2 || booked != 2 {
		t.Fatalf("tonight's count %d/%d, %v", in, booked, err)
	}
	if in, booked, err := f.st.CheckinCount(ctx, list.ID, f.startsAt.Add(7*24*time.Hour)); err != nil || in != 1 || booked != 1 {
		t.Fatalf("next week's count %d/%d, %v", in, booked, err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM checkins WHERE ticket_id IN ($1, $2)`, later.Tickets[0].ID, b.Tickets[1].ID); err != nil {
		t.Fatal(err)
	}

	// A VIP-only list refuses a Standard ticket.
	vip := f.mustTicketType(t, "VIP", 0, nil)
	vipList, err := f.st.CreateCheckinList(ctx, models.CheckinList{EventID: f.eventID, Name: "VIP door", TicketTypeIDs: []uuid.UUID{vip}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.st.Scan(ctx, bookings.ScanRequest{ListID: vipList.ID, Code: b.Tickets[1].Code()}, at)
	wantError(t, err, models.EConflict, "Standard tickets do not enter through VIP door")
	_, err = f.st.CreateCheckinList(ctx, models.CheckinList{EventID: f.eventID, Name: "VIP door"})
	wantError(t, err, models.EConflict, "already")
	if in, booked := count(); in != 1 || booked != 3 {
		t.Fatalf("count after refusals %d/%d", in, booked)
	}
}
