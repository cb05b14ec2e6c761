package posts

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/models"
)

// TagsWithCounts lists every tag by name. Errors: EInternal.
func (s *Store) TagsWithCounts(ctx context.Context) ([]contracts.TagCount, error) {
	rows, err := s.db.Query(ctx, `
		SELECT t.slug, t.name, t.description, count(pt.post_id)::int
		FROM tags t LEFT JOIN post_tags pt ON pt.tag_id = t.id
		GROUP BY t.id ORDER BY t.name`)
	if err != nil {
		return nil, internal("tags with counts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contracts.TagCount, error) {
		var tc contracts.TagCount
		err := r.Scan(&tc.Tag.Slug, &tc.Tag.Name, &tc.Tag.Description, &tc.Posts)
		return tc, err
	})
	if err != nil {
		return nil, internal("tags with counts", err)
	}
	return list, nil
}

// UpdateTag renames a tag and sets its description (its slug stays).
// Errors: EInvalid, ENotFound, EInternal.
func (s *Store) UpdateTag(ctx context.Context, slug, name, description string) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	name, description = strings.TrimSpace(name), strings.TrimSpace(description)
	if name == "" || utf8.RuneCountInString(name) > 191 {
		return models.Errorf(models.EInvalid, "A tag's name is 1 to 191 characters.")
	}
	if utf8.RuneCountInString(description) > 500 {
		return models.Errorf(models.EInvalid, "A tag's description is at most 500 characters.")
	}
	tag, err := s.db.Exec(ctx, `UPDATE tags SET name = $2, description = $3 WHERE slug = $1`, slug, name, description)
	if err != nil {
		return internal("update tag", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "No such tag.")
	}
	return nil
}

// DeleteTag deletes a tag; posts keep their other tags. Errors:
// ENotFound, EInternal.
func (s *Store) DeleteTag(ctx context.Context, slug string) error {
	defer s.Forget() // after the commit: kept pages may hold what it changed
	tag, err := s.db.Exec(ctx, `DELETE FROM tags WHERE slug = $1`, slug)
	if err != nil {
		return internal("delete tag", err)
	}
	if tag.RowsAffected() == 0 {
		return models.Errorf(models.ENotFound, "No such tag.")
	}
	return nil
}
