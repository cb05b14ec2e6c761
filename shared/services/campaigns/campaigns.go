// Package campaigns is the PostgreSQL home of newsletter campaigns: an
// admin composes a message (subject and editor HTML), picks one or more
// lists and sends it now or at a set time; a River job then delivers it to
// every confirmed, unsuppressed subscriber of those lists, once each, at a
// bounded rate.
//
// It owns the tables newsletter_campaigns, newsletter_campaign_lists and
// newsletter_campaign_recipients. It reads (never writes) the lists,
// subscribers, subscriptions, consents, suppressions and bounces of
// shared/services/newsletters.
//
// Delivery is at most once: a recipient's row is claimed ('sending',
// committed) before its message goes to the relay, so a row found still
// 'sending' after a worker died becomes 'uncertain' and is never resent
// (SMTP cannot tell whether the relay took it, and a duplicate newsletter
// is worse than a missed one). A graceful stop lets messages already
// handed to the relay finish and records them, and returns the rest of its
// claim to 'pending', so a restart reaches every recipient exactly once.
package campaigns

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/microcosm-cc/bluemonday"

	"rose-ash.com/platform/shared/models"
)

// Campaign states (newsletter_campaigns.status).
const (
	StatusDraft     = "draft"
	StatusScheduled = "scheduled"
	StatusSending   = "sending"
	StatusPaused    = "paused"
	StatusSent      = "sent"
	StatusCancelled = "cancelled"
)

// Notes shown beside a paused campaign's status.
const (
	NotePausedByAdmin    = "paused by an admin"
	NoteRelayUnreachable = "the mail relay is unreachable"
)

// Campaign is one newsletter campaign.
type Campaign struct {
	ID          uuid.UUID
	Subject     string
	BodyHTML    string
	BodyText    string
	Status      string
	StatusNote  string
	ScheduledAt *time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	Archived    bool
	Slug        string
	CreatedBy   uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
	// ListIDs are the lists it goes to.
	ListIDs []uuid.UUID
}

// Editable reports whether the campaign's content may still change
// (before it starts).
func (c Campaign) Editable() bool {
	return c.Status == StatusDraft || c.Status == StatusScheduled
}

// Input is what the admin form submits. Version is the version the form
// was opened at (0 for a new campaign).
type Input struct {
	Subject string
	HTML    string
	ListIDs []uuid.UUID
	Archive bool
	Version int
}

// List is a newsletter list as the campaign form offers it.
type List struct {
	ID          uuid.UUID
	Slug        string
	Name        string
	Public      bool
	Subscribers int // confirmed
}

// Store reads and writes campaigns.
type Store struct {
	db     *pgxpool.Pool
	policy *bluemonday.Policy
}

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db, policy: Policy()} }

// Policy is the HTML policy for what the editor submits, the blog's post
// policy: user-generated content (no scripts, styles, event handlers or
// javascript: links) plus the class a code block's language is carried in.
// (It is the same rule as blog/internal's postPolicy, which another
// service cannot import.)
func Policy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre")
	return p
}

// Sanitize returns html as the policy allows it.
func (s *Store) Sanitize(html string) string { return s.policy.Sanitize(html) }

// ErrStale is in the chain of the error Update returns when the campaign
// was saved by someone else since the form was opened (code EConflict).
var ErrStale = errors.New("campaigns: stale version")

// validate checks in and returns it sanitized, with its plain text.
func (s *Store) validate(in Input) (Input, string, error) {
	in.Subject = strings.TrimSpace(in.Subject)
	switch {
	case in.Subject == "":
		return in, "", models.Errorf(models.EInvalid, "Give the campaign a subject.")
	case len([]rune(in.Subject)) > 200:
		return in, "", models.Errorf(models.EInvalid, "The subject is too long: keep it to 200 characters.")
	case strings.ContainsAny(in.Subject, "\r\n"):
		return in, "", models.Errorf(models.EInvalid, "The subject must be a single line.")
	}
	in.HTML = strings.TrimSpace(s.policy.Sanitize(in.HTML))
	text := HTMLToText(in.HTML)
	switch {
	case text == "":
		return in, "", models.Errorf(models.EInvalid, "Write the message: its text is empty.")
	case len(in.HTML) > 500000 || len(text) > 500000:
		return in, "", models.Errorf(models.EInvalid, "The message is too long.")
	case len(in.ListIDs) == 0:
		return in, "", models.Errorf(models.EInvalid, "Choose at least one list to send it to.")
	}
	slices.SortFunc(in.ListIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	in.ListIDs = slices.Compact(in.ListIDs)
	return in, text, nil
}

const sqlCreate = `
INSERT INTO newsletter_campaigns (subject, body_html, body_text, archived, slug, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id`

// Create saves a new draft campaign by admin by. Errors: EInvalid with a
// sentence for the form (also for a list that does not exist).
func (s *Store) Create(ctx context.Context, in Input, by uuid.UUID) (uuid.UUID, error) {
	in, text, err := s.validate(in)
	if err != nil {
		return uuid.Nil, err
	}
	var id uuid.UUID
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var creator *uuid.UUID
		if by != uuid.Nil {
			creator = &by
		}
		if err := tx.QueryRow(ctx, sqlCreate, in.Subject, in.HTML, text, in.Archive, slugFor(in.Subject), creator).Scan(&id); err != nil {
			return fmt.Errorf("campaigns: create: %w", err)
		}
		return setLists(ctx, tx, id, in.ListIDs)
	})
	return id, err
}

const sqlUpdate = `
UPDATE newsletter_campaigns SET subject = $2, body_html = $3, body_text = $4, archived = $5,
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $6 AND status IN ('draft', 'scheduled')
RETURNING version`

const sqlState = `SELECT status, version FROM newsletter_campaigns WHERE id = $1`

// Update saves in over campaign id if nobody saved it since version
// in.Version. Errors: EInvalid (form sentences), ENotFound, EConflict
// (wrapping ErrStale) for a stale version, EConflict once it has started.
func (s *Store) Update(ctx context.Context, id uuid.UUID, in Input) error {
	in, text, err := s.validate(in)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var v int
		err := tx.QueryRow(ctx, sqlUpdate, id, in.Subject, in.HTML, text, in.Archive, in.Version).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			var status string
			var cur int
			if err := tx.QueryRow(ctx, sqlState, id).Scan(&status, &cur); errors.Is(err, pgx.ErrNoRows) {
				return models.Errorf(models.ENotFound, "There is no such campaign.")
			} else if err != nil {
				return fmt.Errorf("campaigns: update: %w", err)
			}
			if status != StatusDraft && status != StatusScheduled {
				return models.Errorf(models.EConflict, "This campaign has started: its message can no longer change.")
			}
			return models.Wrap(models.EConflict, "Someone else saved this campaign after you opened it. Your text is below: copy what you need, reload, and save again.", ErrStale)
		}
		if err != nil {
			return fmt.Errorf("campaigns: update: %w", err)
		}
		return setLists(ctx, tx, id, in.ListIDs)
	})
}

// setLists replaces a campaign's lists.
func setLists(ctx context.Context, tx pgx.Tx, id uuid.UUID, lists []uuid.UUID) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM newsletter_lists WHERE id = ANY($1)`, lists).Scan(&n); err != nil {
		return fmt.Errorf("campaigns: lists: %w", err)
	}
	if n != len(lists) {
		return models.Errorf(models.EInvalid, "One of the chosen lists no longer exists: choose again.")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM newsletter_campaign_lists WHERE campaign_id = $1`, id); err != nil {
		return fmt.Errorf("campaigns: lists: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO newsletter_campaign_lists (campaign_id, list_id) SELECT $1, unnest($2::uuid[])`, id, lists); err != nil {
		return fmt.Errorf("campaigns: lists: %w", err)
	}
	return nil
}

const campaignColumns = `c.id, c.subject, c.body_html, c.body_text, c.status, c.status_note, c.scheduled_at,
    c.started_at, c.finished_at, c.archived, c.slug, coalesce(c.created_by, '00000000-0000-0000-0000-000000000000'),
    c.created_at, c.updated_at, c.version,
    coalesce((SELECT array_agg(l.list_id ORDER BY l.list_id) FROM newsletter_campaign_lists l WHERE l.campaign_id = c.id), '{}')`

func scanCampaign(row pgx.Row) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.Subject, &c.BodyHTML, &c.BodyText, &c.Status, &c.StatusNote, &c.ScheduledAt,
		&c.StartedAt, &c.FinishedAt, &c.Archived, &c.Slug, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.Version, &c.ListIDs)
	return c, err
}

// Get returns campaign id. Errors: ENotFound.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (Campaign, error) {
	c, err := scanCampaign(s.db.QueryRow(ctx, `SELECT `+campaignColumns+` FROM newsletter_campaigns c WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, models.Errorf(models.ENotFound, "There is no such campaign.")
	}
	if err != nil {
		return c, fmt.Errorf("campaigns: get: %w", err)
	}
	return c, nil
}

// Lists returns every newsletter list with its confirmed subscribers, by name.
func (s *Store) Lists(ctx context.Context) ([]List, error) {
	rows, err := s.db.Query(ctx, `
SELECT l.id, l.slug, l.name, l.public,
       (SELECT count(*) FROM newsletter_subscriptions s WHERE s.list_id = l.id AND s.status = 'confirmed')
FROM newsletter_lists l ORDER BY l.name, l.slug`)
	if err != nil {
		return nil, fmt.Errorf("campaigns: lists: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (List, error) {
		var l List
		return l, r.Scan(&l.ID, &l.Slug, &l.Name, &l.Public, &l.Subscribers)
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns: lists: %w", err)
	}
	return out, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugFor makes a campaign's archive address from its subject, with a
// random suffix so two campaigns with one subject never collide.
func slugFor(subject string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(subject), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
	if s == "" {
		return suffix
	}
	return s + "-" + suffix
}
