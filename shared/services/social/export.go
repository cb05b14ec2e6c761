package social

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// HubExport is a member's part of the social hub as "Download my data"
// gives it: their handle, what they posted (deleted posts left out),
// whom they follow and who follows them (with the state of each), and
// what they liked and boosted.
type HubExport struct {
	Handle    string           `json:"handle"`
	Actor     string           `json:"actor"`
	Posts     []ExportedPost   `json:"posts"`
	Following []ExportedFollow `json:"following"`
	Followers []ExportedFollow `json:"followers"`
	Likes     []ExportedAction `json:"likes"`
	Boosts    []ExportedAction `json:"boosts"`
}

// ExportedPost is one of the member's hub posts.
type ExportedPost struct {
	URI        string     `json:"uri"`
	Summary    string     `json:"content_warning"`
	Content    string     `json:"content_html"`
	Visibility string     `json:"visibility"`
	InReplyTo  string     `json:"in_reply_to"`
	Published  time.Time  `json:"published"`
	Updated    *time.Time `json:"updated"`
}

// ExportedFollow is one follow, either way: the other actor and whether
// it was accepted.
type ExportedFollow struct {
	Actor string    `json:"actor"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// ExportedAction is a like or a boost of a post.
type ExportedAction struct {
	Object string    `json:"object"`
	At     time.Time `json:"at"`
}

const (
	exportPostsQuery = `
SELECT uri, summary, content, visibility, in_reply_to, published, updated
FROM ap_objects WHERE user_id = $1 AND actor = $2 AND deleted_at IS NULL ORDER BY published, uri`
	exportFollowingQuery = `SELECT actor_uri, state, created_at FROM ap_following WHERE local_actor = $1 ORDER BY created_at, actor_uri`
	exportFollowersQuery = `SELECT actor_uri, state, created_at FROM ap_followers WHERE local_actor = $1 ORDER BY created_at, actor_uri`
	exportLikesQuery     = `SELECT object_uri, created_at FROM ap_likes WHERE actor = $1 ORDER BY created_at, object_uri`
	exportBoostsQuery    = `SELECT object_uri, published FROM ap_announces WHERE actor = $1 ORDER BY published, object_uri`
)

// Export returns me's hub data for their data download; every read is by
// me's user id or actor id, so nothing of another member is in it (the
// posts they replied to or liked are named by address only).
// Errors: EInternal.
func (s *Store) Export(ctx context.Context, me Actor) (HubExport, error) {
	x := HubExport{Handle: s.LocalHandle(me.Username), Actor: me.ID}
	var err error
	if x.Posts, err = exportRows(ctx, s, "hub posts", exportPostsQuery, func(r pgx.Row) (p ExportedPost, err error) {
		err = r.Scan(&p.URI, &p.Summary, &p.Content, &p.Visibility, &p.InReplyTo, &p.Published, &p.Updated)
		return p, err
	}, me.UserID, me.ID); err != nil {
		return x, err
	}
	follow := func(r pgx.Row) (f ExportedFollow, err error) {
		err = r.Scan(&f.Actor, &f.State, &f.Since)
		return f, err
	}
	if x.Following, err = exportRows(ctx, s, "hub following", exportFollowingQuery, follow, me.ID); err != nil {
		return x, err
	}
	if x.Followers, err = exportRows(ctx, s, "hub followers", exportFollowersQuery, follow, me.ID); err != nil {
		return x, err
	}
	action := func(r pgx.Row) (a ExportedAction, err error) {
		err = r.Scan(&a.Object, &a.At)
		return a, err
	}
	if x.Likes, err = exportRows(ctx, s, "hub likes", exportLikesQuery, action, me.ID); err != nil {
		return x, err
	}
	if x.Boosts, err = exportRows(ctx, s, "hub boosts", exportBoostsQuery, action, me.ID); err != nil {
		return x, err
	}
	return x, nil
}

// exportRows runs query and scans each row with scan; never nil, so the
// JSON says [] for nothing.
func exportRows[T any](ctx context.Context, s *Store, what, query string, scan func(pgx.Row) (T, error), args ...any) ([]T, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, internal(what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, internal(what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}
