package calendars

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/teambition/rrule-go"

	"rose-ash.com/platform/shared/models"
)

// Horizon is how far ahead a recurring event's occurrences are written;
// ExtendHorizons keeps it ahead as time passes.
const Horizon = 365 * 24 * time.Hour

// MaxOccurrences bounds the occurrences written for a recurring event in
// one go (a daily event over the horizon fits).
const MaxOccurrences = 400

// parseRule returns e's recurrence as a set expanded from its first start
// in its own time zone (so a weekly 19:00 stays 19:00 across DST changes),
// its added dates included and its exceptions taken out; nil for a one-off
// event. Errors: EInvalid with a sentence for the organiser.
func parseRule(e models.EventEntry) (*rrule.Set, error) {
	if !e.Recurring() {
		return nil, nil
	}
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		return nil, models.Errorf(models.EInvalid, "%q is not a time zone we know: use a name such as Europe/London.", e.TimeZone)
	}
	first := e.StartsAt.In(loc)
	set := &rrule.Set{}
	if e.RRule != "" {
		rule := strings.TrimPrefix(strings.TrimSpace(e.RRule), "RRULE:")
		bad := models.Errorf(models.EInvalid, "The repeat rule %q is not one we can read: write it as in a calendar, for example FREQ=WEEKLY;BYDAY=TH.", e.RRule)
		if strings.Contains(strings.ToUpper(rule), "DTSTART") || strings.ContainsAny(rule, "\r\n") {
			return nil, bad
		}
		opt, err := rrule.StrToROptionInLocation(rule, loc)
		if err != nil {
			return nil, bad
		}
		if opt.Freq > rrule.DAILY { // HOURLY, MINUTELY, SECONDLY
			return nil, models.Errorf(models.EInvalid, "An event repeats at most daily: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")
		}
		opt.Dtstart = first
		r, err := rrule.NewRRule(*opt)
		if err != nil {
			return nil, bad
		}
		set.RRule(r)
	}
	set.RDate(first) // the first start is always an occurrence
	for _, d := range e.RDates {
		set.RDate(d.In(loc))
	}
	for _, d := range e.ExDates {
		set.ExDate(d.In(loc))
	}
	return set, nil
}

// occurrenceStarts returns the starts (UTC) of e's occurrences from from up
// to until, at most MaxOccurrences: the first start alone for a one-off
// event (whatever the window).
func occurrenceStarts(e models.EventEntry, from, until time.Time) ([]time.Time, error) {
	set, err := parseRule(e)
	if err != nil {
		return nil, err
	}
	if set == nil {
		return []time.Time{e.StartsAt.UTC()}, nil
	}
	var out []time.Time
	next := set.Iterator()
	for len(out) < MaxOccurrences {
		t, ok := next()
		if !ok || t.After(until) {
			break
		}
		if !t.Before(from) {
			out = append(out, t.UTC())
		}
	}
	return out, nil
}

// window is where a save of e (re)writes its occurrences: all of a one-off
// event's; a recurring event's from a day before now (or its first start,
// if later) to the horizon. Occurrences before the window are history and
// left as they are.
func window(e models.EventEntry, now time.Time) (from, until time.Time) {
	until = now.Add(Horizon)
	if !e.Recurring() {
		return time.Time{}, until
	}
	from = now.Add(-24 * time.Hour)
	if e.StartsAt.After(from) {
		from = e.StartsAt
	}
	return from, until
}

type occRow struct {
	id     uuid.UUID
	starts time.Time
	taken  int
	status string
}

const occurrencesFrom = `
SELECT id, starts_at, taken, status FROM event_occurrences
WHERE event_id = $1 AND starts_at >= $2
ORDER BY starts_at
FOR UPDATE`

const updateOccurrence = `
UPDATE event_occurrences SET starts_at = $2, ends_at = $3, capacity = $4, status = $5, updated_at = now()
WHERE id = $1`

// An occurrence nobody booked or waited for is deleted; one with seats
// taken or bookings (history) is cancelled instead.
const deleteOccurrence = `
DELETE FROM event_occurrences o
WHERE o.id = $1 AND o.taken = 0
  AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.occurrence_id = o.id)
  AND NOT EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.occurrence_id = o.id)`

const cancelOccurrence = `
UPDATE event_occurrences SET status = 'cancelled', updated_at = now() WHERE id = $1 AND status <> 'cancelled'`

const insertOccurrences = `
INSERT INTO event_occurrences (event_id, starts_at, ends_at, capacity, status)
SELECT $1, s, e, $4, $5 FROM unnest($2::timestamptz[], $3::timestamptz[]) AS t(s, e)
ON CONFLICT (event_id, starts_at) DO NOTHING`

// syncOccurrences writes e's occurrences in tx (e.ID set, e validated):
// rows that still match a start are kept with their seats taken (their end
// and capacity updated), new starts are added, and rows no longer in the
// rule are deleted when nobody booked them, cancelled otherwise. A one-off
// event's one row moves with the event. A cancelled event's rows are all
// cancelled. It returns how many rows it added.
func syncOccurrences(ctx context.Context, tx pgx.Tx, e models.EventEntry, now time.Time) (int, error) {
	from, until := window(e, now)
	starts, err := occurrenceStarts(e, from, until)
	if err != nil {
		return 0, err
	}
	status := models.EventScheduled
	if e.Status == models.EventCancelled {
		status = models.EventCancelled
	}
	length := e.EndsAt.Sub(e.StartsAt)
	rows, err := tx.Query(ctx, occurrencesFrom, e.ID, from)
	if err != nil {
		return 0, internal("occurrences", err)
	}
	existing, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (occRow, error) {
		var o occRow
		err := r.Scan(&o.id, &o.starts, &o.taken, &o.status)
		return o, err
	})
	if err != nil {
		return 0, internal("occurrences", err)
	}
	want := map[int64]time.Time{}
	for _, s := range starts {
		want[s.UnixMicro()] = s
	}
	if !e.Recurring() && len(existing) > 0 {
		// Keep one row, the one already at the start or else the one with
		// the most seats taken, and move it.
		keep := 0
		for i, o := range existing {
			if _, ok := want[o.starts.UnixMicro()]; ok {
				keep = i
				break
			}
			if o.taken > existing[keep].taken {
				keep = i
			}
		}
		o := existing[keep]
		if _, err := tx.Exec(ctx, updateOccurrence, o.id, starts[0], starts[0].Add(length), e.Capacity, status); err != nil {
			return 0, seatsError(err, e)
		}
		existing = slices.Delete(existing, keep, keep+1)
		clear(want)
	}
	for _, o := range existing {
		if s, ok := want[o.starts.UnixMicro()]; ok {
			if _, err := tx.Exec(ctx, updateOccurrence, o.id, s, s.Add(length), e.Capacity, status); err != nil {
				return 0, seatsError(err, e)
			}
			delete(want, o.starts.UnixMicro())
			continue
		}
		tag, err := tx.Exec(ctx, deleteOccurrence, o.id)
		if err != nil {
			return 0, internal("delete occurrence", err)
		}
		if tag.RowsAffected() == 0 {
			if _, err := tx.Exec(ctx, cancelOccurrence, o.id); err != nil {
				return 0, internal("cancel occurrence", err)
			}
		}
	}
	if len(want) == 0 {
		return 0, nil
	}
	var ss, es []time.Time
	for _, s := range starts {
		if _, ok := want[s.UnixMicro()]; ok {
			ss, es = append(ss, s), append(es, s.Add(length))
		}
	}
	tag, err := tx.Exec(ctx, insertOccurrences, e.ID, ss, es, e.Capacity, status)
	if err != nil {
		return 0, internal("add occurrences", err)
	}
	return int(tag.RowsAffected()), nil
}

// seatsError turns the seats CHECK (a booking took seats between the
// capacity check and the update) into the organiser's sentence.
func seatsError(err error, e models.EventEntry) error {
	if constraintOf(err) == "event_occurrences_seats_check" {
		return models.Errorf(models.EInvalid, "The capacity of %d is below the seats already taken at one of the event's dates.", deref(e.Capacity))
	}
	return internal("update occurrence", err)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// Recurring events, and events saved before occurrences existed (none).
const recurringEvents = `
SELECT id FROM events e WHERE status = 'scheduled'
  AND (rrule <> '' OR cardinality(rdates) > 0
       OR NOT EXISTS (SELECT 1 FROM event_occurrences o WHERE o.event_id = e.id))
ORDER BY id`

// ExtendHorizons writes, for every scheduled recurring event, the
// occurrences that have come within the horizon since it was saved, and
// the one occurrence of an event saved before occurrences existed (run it
// daily: River's periodic job in the events service, or by hand). It
// changes no event and announces nothing; it returns how many occurrences
// it added. Errors: EInternal.
func (s *Store) ExtendHorizons(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, recurringEvents)
	if err != nil {
		return 0, internal("recurring events", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, internal("recurring events", err)
	}
	added := 0
	for _, id := range ids {
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			e, err := eventByID(ctx, tx, id, true)
			if err != nil {
				return err
			}
			n, err := syncOccurrences(ctx, tx, e, s.now())
			added += n
			return err
		})
		if err != nil {
			return added, fmt.Errorf("calendars: extend %s: %w", id, err)
		}
	}
	return added, nil
}
