package social

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Post is an object the hub shows: a note or article of a remote actor,
// one of our services' posts, or a local user's own post.
type Post struct {
	URI    string
	Type   string
	Author ActorRef
	// Name is an article's title ("" for notes).
	Name string
	// Summary is the content warning, sanitized HTML like Content (it is
	// usually plain text; ours are stored escaped); Sensitive hides the
	// content behind it.
	Summary   string
	Sensitive bool
	// Content is HTML, sanitized before it was stored.
	Content    string
	URL        string
	InReplyTo  string
	Visibility string
	Published  time.Time
	Likes      int
	Boosts     int
	Replies    int
	// Mine: the viewer wrote it. LikedByMe, BoostedByMe: the viewer's
	// like or boost of it.
	Mine, LikedByMe, BoostedByMe bool
}

// Boostable reports whether the post may be boosted: only public and
// unlisted posts may (as on Mastodon).
func (p Post) Boostable() bool { return p.Visibility == Public || p.Visibility == Unlisted }

// Entry is one line of a timeline: a post, or a boost of one.
type Entry struct {
	Post
	// BoostedBy is who boosted the post, nil for the post itself.
	BoostedBy *ActorRef
	// At is when the entry happened (published or boosted).
	At  time.Time
	key string
}

// Cursor marks a place in a timeline: the entries strictly older than it
// come next. The zero Cursor is the start (the newest entries).
type Cursor struct {
	At  time.Time
	Key string
}

// IsZero reports whether c is the start of the timeline.
func (c Cursor) IsZero() bool { return c.At.IsZero() }

// String encodes the cursor for a URL query ("" for the zero cursor).
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.At.UTC().Format(time.RFC3339Nano) + " " + c.Key))
}

// ParseCursor decodes Cursor.String; "" is the zero cursor. Errors: EInvalid.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := models.Errorf(models.EInvalid, "That page link is damaged; start from the newest posts.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	at, key, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || key == "" {
		return Cursor{}, bad
	}
	return Cursor{At: t, Key: key}, nil
}

// Page is a page of a timeline, newest first; Next is the cursor of the
// following (older) page, zero when there is none.
type Page struct {
	Entries []Entry
	Next    Cursor
}

// MaxPage is the most entries one page may hold.
const MaxPage = 100

// The columns of an entry, in scanEntry's order. e is the entries CTE (object_uri,
// boosted_by, at, key), o the object; $1 is the viewer's actor id and $2
// federation's users' base (".../users/").
const entryColumns = `
SELECT o.uri, o.type, o.actor, o.name, o.summary, o.sensitive, o.content, o.url, o.in_reply_to, o.visibility,
       o.published, o.like_count, o.announce_count, o.reply_count,
       o.actor = $1 AS mine,
       EXISTS (SELECT 1 FROM ap_likes l WHERE l.actor = $1 AND l.object_uri = o.uri) AS liked,
       EXISTS (SELECT 1 FROM ap_announces b WHERE b.actor = $1 AND b.object_uri = o.uri) AS boosted,
       coalesce(aa.name, ''), coalesce(aa.username, ''), coalesce(aa.host, ''), coalesce(aa.icon_url, ''), coalesce(aa.url, ''),
       coalesce(au.username, ''), coalesce(au.display_name, ''),
       e.boosted_by,
       coalesce(ba.name, ''), coalesce(ba.username, ''), coalesce(ba.host, ''), coalesce(ba.icon_url, ''), coalesce(ba.url, ''),
       coalesce(bu.username, ''), coalesce(bu.display_name, ''),
       e.at, e.key
FROM entries e
JOIN ap_objects o ON o.uri = e.object_uri AND o.deleted_at IS NULL
LEFT JOIN ap_actors aa ON aa.uri = o.actor
LEFT JOIN users au ON starts_with(o.actor, $2::text) AND au.username = substr(o.actor, length($2::text) + 1)
LEFT JOIN ap_actors ba ON e.boosted_by <> '' AND ba.uri = e.boosted_by
LEFT JOIN users bu ON starts_with(e.boosted_by, $2::text) AND bu.username = substr(e.boosted_by, length($2::text) + 1)`

// The page's keyset condition and order; $3 and $4 are the cursor (NULL at
// the start), $5 the limit.
const entryPage = `
WHERE ($3::timestamptz IS NULL OR (e.at, e.key) < ($3::timestamptz, $4::text))
  AND (e.boosted_by = '' OR o.visibility IN ('public', 'unlisted'))
ORDER BY e.at DESC, e.key DESC
LIMIT $5`

// timelineEntries is the home timeline of actor $1: posts of the actors
// it follows (accepted follows only; their followers-only posts included),
// its own posts, the platform services' public posts ($6), direct posts
// that mention it, and boosts by it and by the actors it follows.
const timelineEntries = `
WITH followed AS (
    SELECT actor_uri FROM ap_following WHERE local_actor = $1 AND state = 'accepted'
), entries AS (
    SELECT o.uri AS object_uri, '' AS boosted_by, o.published AS at, o.uri AS key
    FROM ap_objects o
    WHERE o.deleted_at IS NULL
      AND (o.actor = $1
           OR (o.actor IN (SELECT actor_uri FROM followed) AND o.visibility <> 'direct')
           OR (o.actor = ANY($6::text[]) AND o.visibility IN ('public', 'unlisted'))
           OR (o.visibility = 'direct'
               AND o.tags @> jsonb_build_array(jsonb_build_object('type', 'Mention', 'href', $1::text))))
    UNION ALL
    SELECT a.object_uri, a.actor, a.published, a.uri
    FROM ap_announces a
    WHERE a.actor = $1 OR a.actor IN (SELECT actor_uri FROM followed)
)`

// actorEntries are the posts we hold of actor $6 that viewer $1 may see:
// public and unlisted ones, followers-only ones when $1 follows $6 (or is
// $6), direct ones that mention $1.
const actorEntries = `
WITH entries AS (
    SELECT o.uri AS object_uri, '' AS boosted_by, o.published AS at, o.uri AS key
    FROM ap_objects o
    WHERE o.deleted_at IS NULL AND o.actor = $6` + visibleTo + `
)`

// visibleTo restricts objects o to those viewer $1 may see.
const visibleTo = `
      AND (o.actor = $1 OR o.visibility IN ('public', 'unlisted')
           OR (o.visibility = 'followers' AND EXISTS (
                   SELECT 1 FROM ap_following f WHERE f.local_actor = $1 AND f.actor_uri = o.actor AND f.state = 'accepted'))
           OR (o.visibility = 'direct'
               AND o.tags @> jsonb_build_array(jsonb_build_object('type', 'Mention', 'href', $1::text))))`

// oneEntry is object $6 if viewer $1 may see it.
const oneEntry = `
WITH entries AS (
    SELECT o.uri AS object_uri, '' AS boosted_by, o.published AS at, o.uri AS key
    FROM ap_objects o
    WHERE o.deleted_at IS NULL AND o.uri = $6` + visibleTo + `
)`

// Timeline returns a page of actorID's home timeline (see timelineEntries
// for what it holds), newest first, strictly older than before. Deleted
// posts never show; a boost shows only when the boosted post is one we
// hold. A post and a boost of it both show. Errors: EInternal.
func (s *Store) Timeline(ctx context.Context, actorID string, before Cursor, limit int) (Page, error) {
	return s.entries(ctx, "timeline", timelineEntries, actorID, before, limit, s.o.ServiceActors)
}

// ActorPosts returns a page of the posts we hold of actorURI that viewer
// (an actor id) may see, newest first. Errors: EInternal.
func (s *Store) ActorPosts(ctx context.Context, viewer, actorURI string, before Cursor, limit int) (Page, error) {
	return s.entries(ctx, "actor posts", actorEntries, viewer, before, limit, actorURI)
}

// Post returns the object uri as viewer (an actor id) sees it. Errors:
// ENotFound when we do not hold it, it was deleted, or viewer may not see
// it; EInternal.
func (s *Store) Post(ctx context.Context, viewer, uri string) (Post, error) {
	page, err := s.entries(ctx, "post", oneEntry, viewer, Cursor{}, 1, uri)
	if err != nil {
		return Post{}, err
	}
	if len(page.Entries) == 0 {
		return Post{}, models.Errorf(models.ENotFound, "That post is not here: it was deleted, or we never received it.")
	}
	return page.Entries[0].Post, nil
}

func (s *Store) entries(ctx context.Context, what, cte, viewer string, before Cursor, limit int, arg6 any) (Page, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	var at *time.Time
	if !before.IsZero() {
		at = &before.At
	}
	rows, err := s.db.Query(ctx, cte+entryColumns+entryPage, viewer, s.o.FederationURL+"/users/", at, before.Key, limit+1, arg6)
	if err != nil {
		return Page{}, internal(what, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return s.scanEntry(r) })
	if err != nil {
		return Page{}, internal(what, err)
	}
	var p Page
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		p.Next = Cursor{At: last.At, Key: last.key}
	}
	p.Entries = list
	return p, nil
}

func (s *Store) scanEntry(r pgx.Row) (Entry, error) {
	var (
		e                                Entry
		aName, aUser, aHost, aIcon, aURL string
		auUser, auName                   string
		boostedBy                        string
		bName, bUser, bHost, bIcon, bURL string
		buUser, buName                   string
	)
	err := r.Scan(&e.URI, &e.Type, &e.Author.URI, &e.Name, &e.Summary, &e.Sensitive, &e.Content, &e.URL,
		&e.InReplyTo, &e.Visibility, &e.Published, &e.Likes, &e.Boosts, &e.Replies, &e.Mine, &e.LikedByMe, &e.BoostedByMe,
		&aName, &aUser, &aHost, &aIcon, &aURL, &auUser, &auName,
		&boostedBy, &bName, &bUser, &bHost, &bIcon, &bURL, &buUser, &buName, &e.At, &e.key)
	if err != nil {
		return e, err
	}
	e.Author = s.actorRef(e.Author.URI, aName, aUser, aHost, aIcon, aURL, auUser, auName)
	if boostedBy != "" {
		b := s.actorRef(boostedBy, bName, bUser, bHost, bIcon, bURL, buUser, buName)
		e.BoostedBy = &b
	}
	return e, nil
}

// actorRef builds an ActorRef from a local user's columns when there is
// one, else from ap_actors' columns.
func (s *Store) actorRef(uri, name, user, host, icon, profile, localUser, localName string) ActorRef {
	if localUser != "" {
		return ActorRef{URI: uri, Name: localName, Handle: s.LocalHandle(localUser), Local: true}
	}
	a := ActorRef{URI: uri, Name: name, IconURL: icon, URL: profile}
	if user != "" && host != "" {
		a.Handle = "@" + user + "@" + host
	}
	return a
}

// target is what an action needs of the post it acts on.
type target struct {
	URI, Type, Actor, Visibility, InReplyTo string
	UserID                                  *uuid.UUID
	Mentions                                []string
}

// visiblePost loads object uri for an action by viewer, locking its row.
// Errors: ENotFound as Post; others unwrapped.
func visiblePost(ctx context.Context, tx pgx.Tx, viewer, uri string) (target, error) {
	var t target
	err := tx.QueryRow(ctx, `
SELECT o.uri, o.type, o.actor, o.visibility, o.in_reply_to, o.user_id,
       coalesce((SELECT array_agg(m->>'href') FROM jsonb_array_elements(CASE jsonb_typeof(o.tags) WHEN 'array' THEN o.tags ELSE '[]' END) m
                 WHERE m->>'type' = 'Mention' AND m->>'href' IS NOT NULL), '{}')
FROM ap_objects o
WHERE o.deleted_at IS NULL AND o.uri = $2`+visibleTo+`
FOR UPDATE OF o`, viewer, uri).Scan(&t.URI, &t.Type, &t.Actor, &t.Visibility, &t.InReplyTo, &t.UserID, &t.Mentions)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, models.Errorf(models.ENotFound, "That post is not here: it was deleted, or we never received it.")
	}
	return t, err
}
