package ghostsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres"
	"rose-ash.com/platform/shared/services/identity"
)

// ghostAuthor is a Ghost author's fields as the blog stores them; it is
// also what users.ghost_author_synced records, so that a later sync copies
// only the fields that changed in Ghost and keeps edits made in the blog.
type ghostAuthor struct {
	Name   string `json:"name"`
	Slug   string `json:"slug"`
	Bio    string `json:"bio"`
	Avatar string `json:"avatar"`
}

// authorFields cleans a Ghost author's fields to what the users table
// accepts: a name of at most 100 characters without control characters
// (the slug when empty), a biography of at most models.MaxBio, and an
// absolute http(s) avatar (relative ones resolved against the site).
func (s *syncer) authorFields(a Author) ghostAuthor {
	name := strings.Join(strings.FieldsFunc(a.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
	name = truncate(strings.TrimSpace(name), 100)
	if name == "" {
		name = truncate(a.Slug, 100)
	}
	bio := strings.TrimSpace(strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, strings.ReplaceAll(a.Bio, "\r\n", "\n")))
	g := ghostAuthor{Name: name, Slug: a.Slug, Bio: truncate(bio, models.MaxBio)}
	switch img := a.ProfileImage; {
	case strings.HasPrefix(img, "https://") || strings.HasPrefix(img, "http://"):
		g.Avatar = img
	case strings.HasPrefix(img, "/") && !strings.HasPrefix(img, "//"):
		g.Avatar = s.clean.base + img
	}
	if len(g.Avatar) > 2000 || strings.ContainsAny(g.Avatar, " \t\r\n") {
		g.Avatar = ""
	}
	return g
}

// user is g as identity stores it for the Ghost author ghostID, with its
// record snapshot.
func (g ghostAuthor) user(ghostID string, snapshot []byte) identity.GhostAuthor {
	return identity.GhostAuthor{GhostID: ghostID, DisplayName: g.Name, Bio: g.Bio, AvatarURL: g.Avatar, Synced: snapshot}
}

var notUsername = regexp.MustCompile(`[^a-z0-9_]+`)

// usernameBase turns a Ghost slug into a username: dashes become
// underscores, anything else outside a-z 0-9 _ is dropped, at most 30
// characters; too short, it gets "author_" in front.
func usernameBase(slug string) string {
	u := notUsername.ReplaceAllString(strings.ReplaceAll(strings.ToLower(slug), "-", "_"), "")
	u = strings.Trim(u, "_")
	if len(u) < 3 {
		u = strings.TrimSuffix("author_"+u, "_")
	}
	return u[:min(len(u), 30)]
}

// freeUsername returns base, or base with _2, _3... (shortened to fit 30
// characters), whichever no other user than self has.
func freeUsername(ctx context.Context, tx pgx.Tx, base string, self uuid.UUID) (string, error) {
	for n := 1; n < 1000; n++ {
		cand := base
		if n > 1 {
			suffix := "_" + strconv.Itoa(n)
			cand = strings.TrimRight(base[:min(len(base), 30-len(suffix))], "_") + suffix
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE username = $1 AND id <> $2)`, cand, self).
			Scan(&taken); err != nil {
			return "", err
		}
		if !taken {
			return cand, nil
		}
	}
	return "", fmt.Errorf("no free username like %q", base)
}

// creditAuthor returns the user credited for Ghost author a, within tx: the
// user linked to a's Ghost id; else the user whose username is a's slug
// with underscores for dashes (now linked to it); else a new user made for
// the author (placeholder email, see models.GhostAuthorEmailDomain). For a
// linked user, the fields that changed in Ghost since the last sync are
// copied (a username only for users the sync created: members keep the
// one they chose). changed reports whether the user was created, linked or
// updated.
func (s *syncer) creditAuthor(ctx context.Context, tx pgx.Tx, a Author) (id uuid.UUID, changed bool, err error) {
	g := s.authorFields(a)
	snapshot, _ := json.Marshal(g)
	var (
		email    string
		username *string
		prevRaw  []byte
	)
	err = tx.QueryRow(ctx, `SELECT id, email, username, ghost_author_synced FROM users WHERE ghost_author_id = $1 FOR UPDATE`, a.ID).
		Scan(&id, &email, &username, &prevRaw)
	switch {
	case err == nil:
		var prev ghostAuthor
		if prevRaw != nil && json.Unmarshal(prevRaw, &prev) == nil && prev == g {
			return id, false, nil
		}
		return id, true, s.updateAuthor(ctx, tx, id, email, username, prevRaw, prev, g, snapshot)
	case !errors.Is(err, pgx.ErrNoRows):
		return id, false, err
	}

	// Not linked yet: a member whose username is the slug is this author.
	if name := strings.ReplaceAll(a.Slug, "-", "_"); models.ValidateUsername(name) == nil {
		var linked bool
		id, linked, err = identity.LinkGhostAuthor(ctx, tx, name, g.user(a.ID, snapshot))
		if err != nil {
			return id, false, err
		}
		if linked {
			slog.InfoContext(ctx, "ghost sync: linked a Ghost author to a user", "ghost_author", a.Slug, "username", name)
			return id, true, nil
		}
	}

	name, err := freeUsername(ctx, tx, usernameBase(a.Slug), uuid.Nil)
	if err != nil {
		return id, false, err
	}
	id, err = identity.AddGhostAuthor(ctx, tx, placeholderEmail(a.ID), name, g.user(a.ID, snapshot))
	if err == nil {
		slog.InfoContext(ctx, "ghost sync: created a user for a Ghost author", "ghost_author", a.Slug, "username", name)
	}
	return id, err == nil, err
}

// placeholderEmail is the undeliverable address of a user made for a Ghost
// author.
func placeholderEmail(ghostID string) string {
	return "ghost-" + strings.ToLower(ghostID) + "@" + models.GhostAuthorEmailDomain
}

// updateAuthor copies to a linked user the fields of g that differ from
// prev, what Ghost said at the last sync (all of them when nothing was
// recorded), and records g.
func (s *syncer) updateAuthor(ctx context.Context, tx pgx.Tx, id uuid.UUID, email string, username *string,
	prevRaw []byte, prev, g ghostAuthor, snapshot []byte) error {
	all := prevRaw == nil
	createdBySync := strings.HasSuffix(strings.ToLower(email), "@"+models.GhostAuthorEmailDomain)
	newUsername := username
	if createdBySync && (all || prev.Slug != g.Slug) {
		base := usernameBase(g.Slug)
		if username == nil || *username != base {
			name, err := freeUsername(ctx, tx, base, id)
			if err != nil {
				return err
			}
			newUsername = &name
		}
	}
	return identity.UpdateGhostAuthor(ctx, tx, id, newUsername, g.user("", snapshot), identity.GhostAuthorCopy{
		Name: all || prev.Name != g.Name, Bio: all || prev.Bio != g.Bio, Avatar: all || prev.Avatar != g.Avatar,
	})
}

// refreshAuthors copies changes made in Ghost to its authors (name, slug,
// bio, picture) to the users linked to them: in Ghost such changes do not
// touch the posts, so the post sync alone would not see them. Authors not
// linked yet are left for the sync of their posts. Changed users are
// counted in the summary.
func (s *syncer) refreshAuthors(ctx context.Context, c *Client) error {
	for page := 1; ; page++ {
		list, pg, err := c.ListAuthors(ctx, page)
		if err != nil {
			return err
		}
		for _, a := range list {
			if a.ID == "" {
				continue
			}
			var did bool
			err := postgres.InTx(ctx, s.db, func(tx pgx.Tx) error {
				var linked bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE ghost_author_id = $1)`, a.ID).Scan(&linked); err != nil || !linked {
					return err
				}
				var err error
				_, did, err = s.creditAuthor(ctx, tx, a)
				return err
			})
			if err != nil {
				return fmt.Errorf("ghost sync: update author %s (%s): %w", a.ID, a.Slug, err)
			}
			s.countAuthor(&a, did)
		}
		if pg.Next == nil || len(list) == 0 {
			return nil
		}
	}
}
