package newsletters

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"rose-ash.com/platform/shared/models"
)

// List is a mailing list people subscribe to.
type List struct {
	ID          uuid.UUID `db:"id"`
	Slug        string    `db:"slug"`
	Name        string    `db:"name"`
	Description string    `db:"description"`
	// Public lists are offered on /newsletters and in widgets; a private
	// one only keeps who is on it.
	Public bool `db:"public"`
	// DoubleOptIn lists count a subscription only once its address
	// confirmed by a mailed link.
	DoubleOptIn bool      `db:"double_opt_in"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// ListInput is what an admin sets on a list.
type ListInput struct {
	Slug        string
	Name        string
	Description string
	Public      bool
	DoubleOptIn bool
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate returns an EInvalid error with a sentence for the first thing
// wrong with in, after trimming it.
func (in *ListInput) Validate() error {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Name == "":
		return models.Errorf(models.EInvalid, "Please give the list a name.")
	case utf8.RuneCountInString(in.Name) > 120:
		return models.Errorf(models.EInvalid, "The list's name is too long: at most 120 characters.")
	case in.Slug == "":
		return models.Errorf(models.EInvalid, "Please give the list a short name for its address (letters, digits and hyphens).")
	case !slugRE.MatchString(in.Slug):
		return models.Errorf(models.EInvalid, "The list's short name may only have lower-case letters, digits and hyphens, start with a letter or digit, and be at most 63 characters.")
	case utf8.RuneCountInString(in.Description) > 2000:
		return models.Errorf(models.EInvalid, "The list's description is too long: at most 2000 characters.")
	}
	return nil
}

const listColumns = `id, slug, name, description, public, double_opt_in, created_at, updated_at`

const listByIDSQL = `SELECT ` + listColumns + ` FROM newsletter_lists WHERE id = $1`

// ListByID returns the list with id. Errors: ENotFound.
func (s *Store) ListByID(ctx context.Context, id uuid.UUID) (List, error) {
	return s.oneList(ctx, s.db, listByIDSQL, id)
}

const listBySlugSQL = `SELECT ` + listColumns + ` FROM newsletter_lists WHERE slug = $1`

// ListBySlug returns the list with slug. Errors: ENotFound.
func (s *Store) ListBySlug(ctx context.Context, slug string) (List, error) {
	return s.oneList(ctx, s.db, listBySlugSQL, strings.ToLower(strings.TrimSpace(slug)))
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) oneList(ctx context.Context, q querier, sql string, arg any) (List, error) {
	rows, _ := q.Query(ctx, sql, arg)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[List])
	if errors.Is(err, pgx.ErrNoRows) {
		return List{}, models.Errorf(models.ENotFound, "There is no such newsletter.")
	}
	if err != nil {
		return List{}, fmt.Errorf("newsletters: read list: %w", err)
	}
	return l, nil
}

const listsSQL = `SELECT ` + listColumns + ` FROM newsletter_lists
WHERE public OR NOT $1 ORDER BY created_at, lower(name), slug`

// PublicLists returns the lists offered to everyone, oldest first (the
// order an admin made them in).
func (s *Store) PublicLists(ctx context.Context) ([]List, error) {
	return s.lists(ctx, true)
}

// Lists returns every list, public and private, oldest first (for admins).
func (s *Store) Lists(ctx context.Context) ([]List, error) {
	return s.lists(ctx, false)
}

func (s *Store) lists(ctx context.Context, publicOnly bool) ([]List, error) {
	rows, _ := s.db.Query(ctx, listsSQL, publicOnly)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[List])
	if err != nil {
		return nil, fmt.Errorf("newsletters: read lists: %w", err)
	}
	return out, nil
}

// Lists are listed in the order they were made: clock_timestamp(), as
// now() is the same for every list a transaction (a seed) makes.
const createListSQL = `INSERT INTO newsletter_lists (slug, name, description, public, double_opt_in, created_at)
VALUES ($1, $2, $3, $4, $5, clock_timestamp()) RETURNING ` + listColumns

// CreateList makes a list. Errors: EInvalid (with a sentence), EConflict
// when another list has the slug.
func (s *Store) CreateList(ctx context.Context, in ListInput) (List, error) {
	if err := in.Validate(); err != nil {
		return List{}, err
	}
	rows, _ := s.db.Query(ctx, createListSQL, in.Slug, in.Name, in.Description, in.Public, in.DoubleOptIn)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[List])
	return l, listWriteError("create list", err)
}

const updateListSQL = `UPDATE newsletter_lists SET slug = $2, name = $3, description = $4, public = $5,
double_opt_in = $6, updated_at = now() WHERE id = $1 RETURNING ` + listColumns

// UpdateList changes the list with id. Errors: EInvalid, EConflict (slug
// taken), ENotFound.
func (s *Store) UpdateList(ctx context.Context, id uuid.UUID, in ListInput) (List, error) {
	if err := in.Validate(); err != nil {
		return List{}, err
	}
	rows, _ := s.db.Query(ctx, updateListSQL, id, in.Slug, in.Name, in.Description, in.Public, in.DoubleOptIn)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[List])
	if errors.Is(err, pgx.ErrNoRows) {
		return List{}, models.Errorf(models.ENotFound, "There is no such newsletter.")
	}
	return l, listWriteError("update list", err)
}

const deleteListSQL = `DELETE FROM newsletter_lists WHERE id = $1`

// DeleteList deletes the list with id with its subscriptions and their
// consent log. Errors: ENotFound.
func (s *Store) DeleteList(ctx context.Context, id uuid.UUID) error {
	tag, err := s.db.Exec(ctx, deleteListSQL, id)
	if err != nil {
		return fmt.Errorf("newsletters: delete list: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "There is no such newsletter.")
	}
	return nil
}

const ensureListSQL = `INSERT INTO newsletter_lists (slug, name, description, public, double_opt_in, created_at)
VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING ` + listColumns

// EnsureList returns the list with in's slug, making it from in when there
// is none (an existing list is left as it is): for idempotent seeds.
// Errors: EInvalid.
func (s *Store) EnsureList(ctx context.Context, in ListInput) (List, error) {
	return ensureList(ctx, s.db, in)
}

// EnsureListTx is EnsureList in tx (the demo seed's transaction).
func EnsureListTx(ctx context.Context, tx pgx.Tx, in ListInput) (List, error) {
	return ensureList(ctx, tx, in)
}

func ensureList(ctx context.Context, q querier, in ListInput) (List, error) {
	if err := in.Validate(); err != nil {
		return List{}, err
	}
	rows, _ := q.Query(ctx, ensureListSQL, in.Slug, in.Name, in.Description, in.Public, in.DoubleOptIn)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[List])
	return l, listWriteError("ensure list", err)
}

func listWriteError(what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return models.Errorf(models.EConflict, "Another list already has that short name.")
	}
	return fmt.Errorf("newsletters: %s: %w", what, err)
}
