package bookings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// DefaultCheckinListName is the name of the list an event gets on its
// first check-in when it has none.
const DefaultCheckinListName = "Main entrance"

const checkinListColumns = `SELECT id, event_id, occurrence_id, name, ticket_type_ids FROM checkin_lists`

func scanList(row pgx.CollectableRow) (models.CheckinList, error) {
	var (
		l   models.CheckinList
		occ *uuid.UUID
	)
	err := row.Scan(&l.ID, &l.EventID, &occ, &l.Name, &l.TicketTypeIDs)
	if occ != nil {
		l.OccurrenceID = *occ
	}
	return l, err
}

// CheckinLists returns the event's check-in lists, oldest first. Errors:
// EInternal.
func (s *Store) CheckinLists(ctx context.Context, eventID uuid.UUID) ([]models.CheckinList, error) {
	rows, err := s.db.Query(ctx, checkinListColumns+` WHERE event_id = $1 ORDER BY created_at, id`, eventID)
	if err != nil {
		return nil, internal("check-in lists", err)
	}
	lists, err := pgx.CollectRows(rows, scanList)
	if err != nil {
		return nil, internal("check-in lists", err)
	}
	return lists, nil
}

// CheckinList returns the check-in list id. Errors: ENotFound, EInternal.
func (s *Store) CheckinList(ctx context.Context, id uuid.UUID) (models.CheckinList, error) {
	rows, err := s.db.Query(ctx, checkinListColumns+` WHERE id = $1`, id)
	if err != nil {
		return models.CheckinList{}, internal("check-in list", err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, scanList)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.CheckinList{}, models.Errorf(models.ENotFound, "There is no such check-in list.")
	}
	if err != nil {
		return models.CheckinList{}, internal("check-in list", err)
	}
	return l, nil
}

const insertCheckinList = `
INSERT INTO checkin_lists (event_id, occurrence_id, name, ticket_type_ids) VALUES ($1, $2, $3, $4)
RETURNING id`

// listTargetsOfEvent says whether a list's date (none: every date) and
// ticket types are the event's.
const listTargetsOfEvent = `
SELECT $2::uuid IS NULL OR EXISTS (SELECT 1 FROM event_occurrences WHERE id = $2 AND event_id = $1),
       NOT EXISTS (SELECT 1 FROM unnest($3::uuid[]) t(id)
                   WHERE NOT EXISTS (SELECT 1 FROM ticket_types WHERE id = t.id AND event_id = $1))`

// CreateCheckinList adds the check-in list l (its ID is ignored) to its
// event and returns it: for one occurrence when l.OccurrenceID is set, for
// some ticket types when l.TicketTypeIDs is not empty. Errors: EInvalid
// (a name not of 1 to 100 characters, a date or ticket type of another
// event), EConflict (the event has a list of
// that name), ENotFound (no such event), EInternal.
func (s *Store) CreateCheckinList(ctx context.Context, l models.CheckinList) (models.CheckinList, error) {
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" || utf8.RuneCountInString(l.Name) > 100 {
		return models.CheckinList{}, models.Errorf(models.EInvalid, "A check-in list's name is 1 to 100 characters.")
	}
	if l.TicketTypeIDs == nil {
		l.TicketTypeIDs = []uuid.UUID{}
	}
	var dateOK, typesOK bool
	err := s.db.QueryRow(ctx, listTargetsOfEvent, l.EventID, nullUUID(l.OccurrenceID), l.TicketTypeIDs).Scan(&dateOK, &typesOK)
	if err != nil {
		return models.CheckinList{}, internal("check-in list targets", err)
	}
	if !dateOK || !typesOK {
		return models.CheckinList{}, models.Errorf(models.EInvalid, "Choose dates and ticket types of this event.")
	}
	var id uuid.UUID
	err = s.db.QueryRow(ctx, insertCheckinList, l.EventID, nullUUID(l.OccurrenceID), l.Name, l.TicketTypeIDs).Scan(&id)
	if isUniqueViolation(err, "checkin_lists_event_name_key") {
		return models.CheckinList{}, models.Errorf(models.EConflict, "This event has a check-in list called %q already.", l.Name)
	}
	if isForeignKeyViolation(err) {
		return models.CheckinList{}, models.Errorf(models.ENotFound, "There is no such event or date.")
	}
	if err != nil {
		return models.CheckinList{}, internal("insert check-in list", err)
	}
	return s.CheckinList(ctx, id)
}

const insertDefaultList = `
INSERT INTO checkin_lists (event_id, name) VALUES ($1, $2)
ON CONFLICT (event_id, name) DO NOTHING`

// DefaultCheckinList returns the event's first check-in list, creating
// one called DefaultCheckinListName when it has none. Errors: ENotFound
// (no such event), EInternal.
func (s *Store) DefaultCheckinList(ctx context.Context, eventID uuid.UUID) (models.CheckinList, error) {
	lists, err := s.CheckinLists(ctx, eventID)
	if err != nil {
		return models.CheckinList{}, err
	}
	if len(lists) > 0 {
		return lists[0], nil
	}
	if _, err := s.db.Exec(ctx, insertDefaultList, eventID, DefaultCheckinListName); err != nil {
		if isForeignKeyViolation(err) {
			return models.CheckinList{}, models.Errorf(models.ENotFound, "There is no such event.")
		}
		return models.CheckinList{}, internal("default check-in list", err)
	}
	lists, err = s.CheckinLists(ctx, eventID)
	if err != nil {
		return models.CheckinList{}, err
	}
	if len(lists) == 0 {
		return models.CheckinList{}, models.Errorf(models.ENotFound, "There is no such event.")
	}
	return lists[0], nil
}

// ScanRequest is one scan at the door.
type ScanRequest struct {
	ListID uuid.UUID
	// Code is the ticket's code as its QR code carries it (see
	// models.ParseTicketCode).
	Code string
	// ByUserID and ByName are who scanned.
	ByUserID uuid.UUID
	ByName   string
	// Kind is models.ScanEntry (also when empty) or models.ScanExit.
	Kind string
	// ClientScanID, when set, is the scan's own id from a browser that
	// queued it: a scan uploaded again with it counts once.
	ClientScanID string
}

const ticketBySecret = `
SELECT t.id, t.seat, t.status, b.status, b.quantity, b.name, b.email, coalesce(b.remote_actor, ''),
       tt.id, tt.name, b.occurrence_id, o.starts_at, o.ends_at, e.id, e.title, e.time_zone,
       EXISTS (SELECT 1 FROM event_occurrences x WHERE x.event_id = e.id AND x.id <> o.id)
FROM tickets t
JOIN bookings b ON b.id = t.booking_id
JOIN ticket_types tt ON tt.id = b.ticket_type_id
JOIN event_occurrences o ON o.id = b.occurrence_id
JOIN events e ON e.id = o.event_id
WHERE t.secret = $1`

const checkinByScanID = `
SELECT c.kind, c.at, c.by_name, t.secret FROM checkins c JOIN tickets t ON t.id = c.ticket_id
WHERE c.list_id = $1 AND c.client_scan_id = $2`

const entryOf = `SELECT at, by_name FROM checkins WHERE list_id = $1 AND ticket_id = $2 AND kind = 'entry'`

const insertCheckin = `
INSERT INTO checkins (list_id, ticket_id, kind, at, by_user_id, by_name, client_scan_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
RETURNING at`

// scannedTicket is a ticket as the door sees it.
type scannedTicket struct {
	id                    uuid.UUID
	seat, of              int
	status, bookingStatus string
	holder                string
	typeID                uuid.UUID
	typeName              string
	occurrenceID, eventID uuid.UUID
	startsAt, endsAt      time.Time
	eventTitle, zone      string
	// series is true when the event has other dates than the ticket's.
	series bool
}

// Scan checks the ticket with req.Code in (or out) on the list
// req.ListID, as of now. A list for every date of an event with several
// lets a ticket in only from 12 hours before its date to 12 hours after. The first entry is recorded; a second entry of
// the ticket on the list records nothing and answers "Already checked in
// at 19:02 by Ann." (the time in the event's zone); an exit is recorded;
// a scan uploaded again with its ClientScanID answers as the first time
// and records nothing. Errors: EInvalid (a malformed code or kind),
// ENotFound (no such list, no ticket with this code), EConflict (a
// cancelled or unpaid ticket, a ticket of another event, date or ticket
// type than the list's), EInternal.
func (s *Store) Scan(ctx context.Context, req ScanRequest, now time.Time) (models.ScanResult, error) {
	if req.Kind == "" {
		req.Kind = models.ScanEntry
	}
	if req.Kind != models.ScanEntry && req.Kind != models.ScanExit {
		return models.ScanResult{}, models.Errorf(models.EInvalid, "A scan is an entry or an exit.")
	}
	if len(req.ClientScanID) > 100 {
		return models.ScanResult{}, models.Errorf(models.EInvalid, "A scan's id is at most 100 characters.")
	}
	if utf8.RuneCountInString(req.ByName) > 200 {
		req.ByName = string([]rune(req.ByName)[:200])
	}
	secret, err := models.ParseTicketCode(req.Code)
	if err != nil {
		return models.ScanResult{}, err
	}
	list, err := s.CheckinList(ctx, req.ListID)
	if err != nil {
		return models.ScanResult{}, err
	}
	if req.ClientScanID != "" {
		if r, ok, err := s.scannedBefore(ctx, list.ID, req.ClientScanID); err != nil || ok {
			return r, err
		}
	}
	t, err := s.ticketBySecret(ctx, secret)
	if err != nil {
		return models.ScanResult{}, err
	}
	if err := admits(list, t, now); err != nil {
		return models.ScanResult{}, err
	}
	var at time.Time
	err = s.db.QueryRow(ctx, insertCheckin, list.ID, t.id, req.Kind, now, nullUUID(req.ByUserID), req.ByName,
		nullText(req.ClientScanID)).Scan(&at)
	if err == nil {
		return result(t, req.Kind, at, req.ByName, false), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return models.ScanResult{}, internal("insert check-in", err)
	}
	// Nothing recorded: the same scan uploaded at the same moment, or the
	// ticket entered this list before.
	if req.ClientScanID != "" {
		if r, ok, err := s.scannedBefore(ctx, list.ID, req.ClientScanID); err != nil || ok {
			return r, err
		}
	}
	var by string
	if err := s.db.QueryRow(ctx, entryOf, list.ID, t.id).Scan(&at, &by); err != nil {
		return models.ScanResult{}, internal("entry of ticket", err)
	}
	return result(t, models.ScanEntry, at, by, true), nil
}

// scannedBefore answers a scan uploaded again as its first upload was
// answered.
func (s *Store) scannedBefore(ctx context.Context, listID uuid.UUID, scanID string) (models.ScanResult, bool, error) {
	var (
		kind, by string
		at       time.Time
		secret   []byte
	)
	err := s.db.QueryRow(ctx, checkinByScanID, listID, scanID).Scan(&kind, &at, &by, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return models.ScanResult{}, false, nil
	}
	if err != nil {
		return models.ScanResult{}, false, internal("check-in by scan id", err)
	}
	t, err := s.ticketBySecret(ctx, secret)
	if err != nil {
		return models.ScanResult{}, false, err
	}
	r := result(t, kind, at, by, false)
	r.Recorded = false
	return r, true, nil
}

func (s *Store) ticketBySecret(ctx context.Context, secret []byte) (scannedTicket, error) {
	var (
		t                 scannedTicket
		name, email, actr string
	)
	err := s.db.QueryRow(ctx, ticketBySecret, secret).Scan(&t.id, &t.seat, &t.status, &t.bookingStatus, &t.of,
		&name, &email, &actr, &t.typeID, &t.typeName, &t.occurrenceID, &t.startsAt, &t.endsAt, &t.eventID, &t.eventTitle, &t.zone, &t.series)
	if errors.Is(err, pgx.ErrNoRows) {
		return scannedTicket{}, models.Errorf(models.ENotFound, "No ticket has this code: it is not one of ours.")
	}
	if err != nil {
		return scannedTicket{}, internal("ticket by secret", err)
	}
	t.holder = firstNonEmpty(name, email, actr, "a guest")
	return t, nil
}

// seriesDoorWindow is how long before its date starts and after it ends
// a ticket of an event with several dates is let in by a list for all of
// them: a ticket for next week's date is not valid tonight.
const seriesDoorWindow = 12 * time.Hour

func admits(l models.CheckinList, t scannedTicket, now time.Time) error {
	zone := models.ZoneOf(t.zone)
	otherDate := l.OccurrenceID == uuid.Nil && t.series &&
		(now.Before(t.startsAt.Add(-seriesDoorWindow)) || now.After(t.endsAt.Add(seriesDoorWindow)))
	switch {
	case t.eventID != l.EventID:
		return models.Errorf(models.EConflict, "Not valid here: this ticket is for another event, %s.", t.eventTitle)
	case otherDate || (l.OccurrenceID != uuid.Nil && t.occurrenceID != l.OccurrenceID):
		return models.Errorf(models.EConflict, "Not valid here: this ticket is for another date, %s.",
			t.startsAt.In(zone).Format("Monday 2 January 15:04"))
	case len(l.TicketTypeIDs) > 0 && !slices.Contains(l.TicketTypeIDs, t.typeID):
		return models.Errorf(models.EConflict, "Not valid here: %s tickets do not enter through %s.", t.typeName, l.Name)
	case t.status == "cancelled" || t.bookingStatus == models.BookingCancelled || t.bookingStatus == models.BookingExpired:
		return models.Errorf(models.EConflict, "This ticket was cancelled: %s, %s, ticket %d of %d.", t.holder, t.typeName, t.seat, t.of)
	case t.bookingStatus != models.BookingConfirmed:
		return models.Errorf(models.EConflict, "This ticket is not paid for yet: %s, %s.", t.holder, t.typeName)
	}
	return nil
}

func result(t scannedTicket, kind string, at time.Time, by string, already bool) models.ScanResult {
	r := models.ScanResult{Recorded: !already, Already: already, Kind: kind, At: at.UTC(), ByName: by,
		Holder: t.holder, TicketType: t.typeName, Seat: t.seat, Of: t.of}
	who := fmt.Sprintf("%s, %s, ticket %d of %d.", t.holder, t.typeName, t.seat, t.of)
	local := at.In(models.ZoneOf(t.zone))
	switch {
	case already:
		when := local.Format("15:04")
		if by = strings.TrimSpace(by); by == "" {
			by = "someone"
		}
		r.Message = fmt.Sprintf("Already checked in at %s by %s: %s", when, by, who)
	case kind == models.ScanExit:
		r.Message = "Checked out: " + who
	default:
		r.Message = "Checked in: " + who
	}
	return r
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// The dates a count covers: the list's, narrowed to the one(s) at the
// door now (12 hours either side) when there is one, so that a weekly
// series' list counts tonight's tickets.
const checkinCount = `
WITH l AS (SELECT id, event_id, occurrence_id, ticket_type_ids FROM checkin_lists WHERE id = $1),
dates AS (
    SELECT o.id, o.starts_at, o.ends_at FROM event_occurrences o, l
    WHERE o.event_id = l.event_id AND (l.occurrence_id IS NULL OR o.id = l.occurrence_id)
),
tonight AS (
    SELECT id FROM dates WHERE $2 BETWEEN starts_at - interval '12 hours' AND ends_at + interval '12 hours'
),
scope AS (
    SELECT id FROM tonight UNION ALL SELECT id FROM dates WHERE NOT EXISTS (SELECT 1 FROM tonight)
)
SELECT (SELECT count(DISTINCT c.ticket_id) FROM checkins c
        JOIN tickets t ON t.id = c.ticket_id
        JOIN bookings b ON b.id = t.booking_id
        WHERE c.list_id = l.id AND c.kind = 'entry' AND b.occurrence_id IN (SELECT id FROM scope)),
       (SELECT count(*) FROM tickets t
        JOIN bookings b ON b.id = t.booking_id
        WHERE b.occurrence_id IN (SELECT id FROM scope) AND b.status = 'confirmed' AND t.status = 'valid'
          AND (cardinality(l.ticket_type_ids) = 0 OR b.ticket_type_id = ANY (l.ticket_type_ids)))
FROM l`

// CheckinCount returns how many tickets have entered the list listID and
// how many valid tickets it admits, as of now: the door's live count. For
// a list of every date of a series, only the date at the door now (12
// hours either side) is counted when there is one. Errors: ENotFound (no
// such list), EInternal.
func (s *Store) CheckinCount(ctx context.Context, listID uuid.UUID, now time.Time) (checkedIn, booked int, err error) {
	err = s.db.QueryRow(ctx, checkinCount, listID, now).Scan(&checkedIn, &booked)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, models.Errorf(models.ENotFound, "There is no such check-in list.")
	}
	if err != nil {
		return 0, 0, internal("check-in count", err)
	}
	return checkedIn, booked, nil
}

func isForeignKeyViolation(err error) bool {
	var code string
	if pe := pgError(err); pe != nil {
		code = pe.Code
	}
	return code == "23503"
}

// EventRef names an event for its check-in page.
type EventRef struct {
	ID          uuid.UUID
	Slug        string
	Title       string
	OrganiserID uuid.UUID // uuid.Nil for none
	TimeZone    string
}

const eventRefBySlug = `SELECT id, slug, title, organiser_id, time_zone FROM events WHERE slug = $1`

// EventBySlug returns the event with that slug, of any status, for its
// check-in page (who may see it is the caller's check). Errors: ENotFound,
// EInternal.
func (s *Store) EventBySlug(ctx context.Context, slug string) (EventRef, error) {
	var (
		e         EventRef
		organiser *uuid.UUID
	)
	err := s.db.QueryRow(ctx, eventRefBySlug, slug).Scan(&e.ID, &e.Slug, &e.Title, &organiser, &e.TimeZone)
	if errors.Is(err, pgx.ErrNoRows) {
		return EventRef{}, models.Errorf(models.ENotFound, "There is no such event.")
	}
	if err != nil {
		return EventRef{}, internal("event by slug", err)
	}
	if organiser != nil {
		e.OrganiserID = *organiser
	}
	return e, nil
}
