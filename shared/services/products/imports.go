package products

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/scrape"
)

// Import statuses (product_imports.status).
const (
	// ImportPending waits for an admin's review.
	ImportPending = "pending"
	// ImportApproved is being applied (an admin approved it a moment ago).
	ImportApproved = "approved"
	// ImportRejected was turned down by an admin.
	ImportRejected = "rejected"
	// ImportApplied changed the catalogue (approved, or from a trusted source).
	ImportApplied = "applied"
)

// Refresh intervals of a source.
const (
	DefaultRefreshInterval = 24 * time.Hour
	MinRefreshInterval     = time.Hour
	MaxRefreshInterval     = 90 * 24 * time.Hour
)

// Source is a supplier page products are imported from: a product page or
// a listing (a category page, a sitemap).
type Source struct {
	ID  uuid.UUID
	URL string
	// MarketSlug and MarketName name the market its products go to; ""
	// when the market was deleted since.
	MarketSlug, MarketName string
	// CategorySlug and CategoryName name the category new products go to,
	// or "".
	CategorySlug, CategoryName string
	// Trusted sources' imports are applied without review.
	Trusted         bool
	RefreshInterval time.Duration
	// Selectors are read on pages without structured product data.
	Selectors scrape.Selectors
	// ETag and LastModified are the validators of the last fetch, for a
	// conditional GET.
	ETag, LastModified string
	LastRunAt          *time.Time
	// LastFound is how many products the last run found; LastError says
	// what went wrong in it ("" when nothing did).
	LastFound int
	LastError string
	CreatedAt time.Time
	// Pending counts its imports waiting for review.
	Pending int
}

// NextRun is when the scheduled refresh fetches the source again.
func (s Source) NextRun() time.Time {
	if s.LastRunAt == nil {
		return s.CreatedAt
	}
	return s.LastRunAt.Add(s.RefreshInterval)
}

// SourceInput is what an admin writes of a source.
type SourceInput struct {
	URL string
	// Market is the slug of the market its products go to (required);
	// Category the slug of the category new products go to, or "".
	Market, Category string
	Trusted          bool
	// RefreshInterval is how often the scheduled refresh fetches it
	// (DefaultRefreshInterval when 0; from MinRefreshInterval to
	// MaxRefreshInterval).
	RefreshInterval time.Duration
	Selectors       scrape.Selectors
}

func (in *SourceInput) validate() error {
	in.URL = strings.TrimSpace(in.URL)
	in.Market, in.Category = strings.TrimSpace(in.Market), strings.TrimSpace(in.Category)
	sel := &in.Selectors
	for _, f := range []*string{&sel.Name, &sel.Price, &sel.Currency, &sel.Image, &sel.Description, &sel.Availability, &sel.SKU} {
		*f = strings.TrimSpace(*f)
	}
	if in.RefreshInterval == 0 {
		in.RefreshInterval = DefaultRefreshInterval
	}
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "":
		return models.Errorf(models.EInvalid, "Paste the address of a supplier's product page, category page or sitemap.")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return models.Errorf(models.EInvalid, "%q is not a web address: it should start with https:// or http://.", in.URL)
	case u.User != nil:
		return models.Errorf(models.EInvalid, "The address may not carry a user name or password.")
	case len(in.URL) > 2000:
		return models.Errorf(models.EInvalid, "The address is too long (at most 2,000 characters).")
	case in.Market == "":
		return models.Errorf(models.EInvalid, "Choose the market the imported products go to.")
	case in.RefreshInterval < MinRefreshInterval:
		return models.Errorf(models.EInvalid, "Refresh a source at most every hour.")
	case in.RefreshInterval > MaxRefreshInterval:
		return models.Errorf(models.EInvalid, "Refresh a source at least every 90 days.")
	case sel.Name == "" && (sel.Price != "" || sel.Currency != "" || sel.Image != "" || sel.Description != "" || sel.Availability != "" || sel.SKU != ""):
		return models.Errorf(models.EInvalid, "CSS selectors need at least the one for the product's name.")
	}
	if err := scrape.CheckSelectors(in.Selectors); err != nil {
		return models.Errorf(models.EInvalid, "%s", errorText(err))
	}
	return nil
}

const sourceColumns = `
SELECT s.id, s.url, coalesce(m.slug, ''), coalesce(m.name, ''), coalesce(c.slug, ''), coalesce(c.name, ''), s.trusted,
       extract(epoch FROM s.refresh_interval)::bigint, s.selectors, s.etag, s.last_modified, s.last_run_at,
       s.last_found, s.last_error, s.created_at,
       (SELECT count(*) FROM product_imports i WHERE i.source_id = s.id AND i.status = 'pending')
FROM product_sources s
LEFT JOIN markets m ON m.id = s.market_id
LEFT JOIN product_categories c ON c.id = s.category_id`

func scanSource(r pgx.Row) (Source, error) {
	var s Source
	var secs int64
	var sel []byte
	err := r.Scan(&s.ID, &s.URL, &s.MarketSlug, &s.MarketName, &s.CategorySlug, &s.CategoryName, &s.Trusted, &secs,
		&sel, &s.ETag, &s.LastModified, &s.LastRunAt, &s.LastFound, &s.LastError, &s.CreatedAt, &s.Pending)
	if err != nil {
		return s, err
	}
	s.RefreshInterval = time.Duration(secs) * time.Second
	if err := json.Unmarshal(sel, &s.Selectors); err != nil {
		return s, err
	}
	return s, nil
}

// Sources returns every source, oldest first. Errors: EInternal.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.db.Query(ctx, sourceColumns+` ORDER BY s.created_at, s.id`)
	if err != nil {
		return nil, internal("sources", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Source, error) { return scanSource(r) })
	if err != nil {
		return nil, internal("sources", err)
	}
	return out, nil
}

// Source returns the source with id. Errors: ENotFound, EInternal.
func (s *Store) Source(ctx context.Context, id uuid.UUID) (Source, error) {
	src, err := scanSource(s.db.QueryRow(ctx, sourceColumns+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Source{}, models.Errorf(models.ENotFound, "There is no such source.")
	}
	if err != nil {
		return Source{}, internal("source", err)
	}
	return src, nil
}

// DueSources returns up to limit sources whose refresh is due at now
// (never run, or last run more than their interval ago), the longest
// waiting first. Errors: EInternal.
func (s *Store) DueSources(ctx context.Context, now time.Time, limit int) ([]Source, error) {
	rows, err := s.db.Query(ctx, sourceColumns+`
WHERE s.last_run_at IS NULL OR s.last_run_at + s.refresh_interval <= $1
ORDER BY s.last_run_at NULLS FIRST, s.id
LIMIT $2`, now, limit)
	if err != nil {
		return nil, internal("due sources", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Source, error) { return scanSource(r) })
	if err != nil {
		return nil, internal("due sources", err)
	}
	return out, nil
}

// CreateSource adds a source. Errors: EInvalid, ENotFound (the market or
// category), EConflict (the address is already a source), EInternal.
func (s *Store) CreateSource(ctx context.Context, in SourceInput) (Source, error) {
	if err := in.validate(); err != nil {
		return Source{}, err
	}
	sel, err := json.Marshal(in.Selectors)
	if err != nil {
		return Source{}, internal("selectors", err)
	}
	var id uuid.UUID
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		market, category, err := placeOf(ctx, tx, in.Market, in.Category)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
INSERT INTO product_sources (url, market_id, category_id, trusted, refresh_interval, selectors)
VALUES ($1, $2, $3, $4, make_interval(secs => $5), $6) RETURNING id`,
			in.URL, market, category, in.Trusted, in.RefreshInterval.Seconds(), sel).Scan(&id)
		if d := duplicate(err, "This address is already a source."); d != nil {
			return d
		}
		if err != nil {
			return internal("create source", err)
		}
		return nil
	})
	if err != nil {
		return Source{}, err
	}
	return s.Source(ctx, id)
}

// UpdateSource saves a source and forgets the validators of its last
// fetch, so that the next run reads the page whole (with the new
// selectors). Errors: EInvalid, ENotFound, EConflict (the address is
// another source's), EInternal.
func (s *Store) UpdateSource(ctx context.Context, id uuid.UUID, in SourceInput) (Source, error) {
	if err := in.validate(); err != nil {
		return Source{}, err
	}
	sel, err := json.Marshal(in.Selectors)
	if err != nil {
		return Source{}, internal("selectors", err)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		market, category, err := placeOf(ctx, tx, in.Market, in.Category)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
UPDATE product_sources SET etag = '', last_modified = '', url = $2, market_id = $3, category_id = $4, trusted = $5, refresh_interval = make_interval(secs => $6), selectors = $7
WHERE id = $1`, id, in.URL, market, category, in.Trusted, in.RefreshInterval.Seconds(), sel)
		if d := duplicate(err, "This address is already another source."); d != nil {
			return d
		}
		if err != nil {
			return internal("update source", err)
		}
		if tag.RowsAffected() == 0 {
			return models.Errorf(models.ENotFound, "There is no such source.")
		}
		return nil
	})
	if err != nil {
		return Source{}, err
	}
	return s.Source(ctx, id)
}

// DeleteSource removes a source and its imports (the products it brought
// stay). Errors: ENotFound, EInternal.
func (s *Store) DeleteSource(ctx context.Context, id uuid.UUID) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM product_sources WHERE id = $1`, id)
	if err != nil {
		return internal("delete source", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "There is no such source.")
	}
	return nil
}

// maxErrorText bounds a source's last_error.
const maxErrorText = 2000

// saveRun records what a run of a source did: when, how many products it
// found, what went wrong, and the validators of the page for the next
// conditional GET (kept on a 304; blank after a failed fetch, so that the
// next run reads the page whole).
func (s *Store) saveRun(ctx context.Context, id uuid.UUID, res RunResult, etag, lastModified string) error {
	msg := strings.Join(res.Errors, "\n")
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText-3], "") + "..."
	}
	_, err := s.db.Exec(ctx, `
UPDATE product_sources SET last_run_at = $2, last_error = $4,
       last_found = CASE WHEN $5 THEN last_found ELSE $3 END,
       etag = CASE WHEN $5 THEN etag ELSE $6 END,
       last_modified = CASE WHEN $5 THEN last_modified ELSE $7 END
WHERE id = $1`, id, s.now(), res.Found, msg, res.NotModified, etag, lastModified)
	if err != nil {
		return internal("save source run", err)
	}
	return nil
}

// errorText is an error as an admin reads it: a scraping failure's own
// message, a domain error's message, or the error.
func errorText(err error) string {
	var se *scrape.Error
	if errors.As(err, &se) && se.Message != "" {
		return se.Message + "."
	}
	if m := models.Message(err); m != "" && models.Code(err) != models.EInternal {
		return m
	}
	return err.Error()
}
