// Package articles publishes the blog's posts on the fediverse as posts of
// the blog's actor (Notes that show title, excerpt, link and image; see
// Publisher.article for why not Articles). Sync compares a post with what was last sent about
// it and emits Create, Update or Delete in the caller's transaction, so a
// post and its announcement are saved together or not at all.
package articles

import (
	"context"
	"errors"
	"html"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	xhtml "golang.org/x/net/html"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
)

// Fresh is how recently a post must have been published for its first
// appearance to be announced with a Create. Older posts that become
// visible (a Ghost import of an archive, a backdated post) are not pushed
// into followers' timelines.
const Fresh = 48 * time.Hour

// Publisher emits the blog's Articles.
type Publisher struct {
	// BlogURL is the blog's public base URL.
	BlogURL string
	// Jobs queues the deliveries.
	Jobs *river.Client[pgx.Tx]
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Actor is the blog's actor id.
func (p *Publisher) Actor() string { return activitypub.ServiceActorID(p.BlogURL, "blog") }

// ObjectID is the Article id of a post: stable when its slug changes.
func (p *Publisher) ObjectID(postID uuid.UUID) string {
	return p.Actor() + "/articles/" + postID.String()
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

type post struct {
	ID                               uuid.UUID
	Type, Slug, Title, Excerpt, HTML string
	FeatureImage, Status             string
	Visibility                       string // members-only posts are never federated
	PublishedAt                      *time.Time
	UpdatedAt                        time.Time
	Tags                             []tag
}

type tag struct{ Slug, Name string }

// Sync brings the fediverse up to date with post id, inside tx: a post
// readers can now see is sent as Create (if fresh) or Update (if its
// content changed since last sent); a post they can no longer see (deleted,
// unpublished, made a page, made members-only) is sent as Delete, if it had been sent. Posts
// scheduled for later are sent when their time comes (SyncDue).
func (p *Publisher) Sync(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	objectID := p.ObjectID(id)
	// The post's row lock (taken by load) serializes Syncs of one post.
	po, err := load(ctx, tx, id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var lastType string
	var last map[string]any
	err = tx.QueryRow(ctx, `SELECT type, payload FROM ap_activities WHERE object_uri = $1 AND type IN ('Create', 'Update', 'Delete')
		ORDER BY created_at DESC, id DESC LIMIT 1`, objectID).Scan(&lastType, &last)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	sent := lastType == "Create" || lastType == "Update"

	visible := po.ID != uuid.Nil && po.Type == "post" && po.Status == "published" && po.Visibility == "public" &&
		po.PublishedAt != nil && !po.PublishedAt.After(p.now())
	actor := p.Actor()
	to, cc := []any{activitypub.Public}, []any{activitypub.FollowersID(actor)}
	switch {
	case !visible && sent:
		return p.emit(ctx, tx, "Delete", objectID, map[string]any{
			"@context": activitypub.ContextURL, "type": "Delete", "actor": actor, "to": to, "cc": cc,
			"object": map[string]any{"id": objectID, "type": "Tombstone", "formerType": "Note"},
		})
	case !visible:
		return nil
	}
	obj := p.article(po)
	if !sent {
		if lastType == "" && po.PublishedAt.Before(p.now().Add(-Fresh)) {
			return nil // an old post: not announced
		}
		return p.emit(ctx, tx, "Create", objectID, map[string]any{
			"@context": []any{activitypub.ContextURL, map[string]any{"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}},
			"type":     "Create", "actor": actor, "published": obj["published"], "to": to, "cc": cc, "object": obj,
		})
	}
	if prev, ok := last["object"].(map[string]any); ok && activitypub.SameObject(prev, obj) {
		return nil
	}
	obj["updated"] = po.UpdatedAt.UTC().Format(time.RFC3339)
	return p.emit(ctx, tx, "Update", objectID, map[string]any{
		"@context": []any{activitypub.ContextURL, map[string]any{"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}},
		"type":     "Update", "actor": actor, "to": to, "cc": cc, "object": obj,
	})
}

func (p *Publisher) emit(ctx context.Context, tx pgx.Tx, typ, objectID string, payload map[string]any) error {
	return delivery.EmitPublic(ctx, tx, p.Jobs, p.Actor(), typ, objectID, payload)
}

func load(ctx context.Context, tx pgx.Tx, id uuid.UUID) (post, error) {
	var po post
	err := tx.QueryRow(ctx, `SELECT id, type, slug, title, excerpt, html, feature_image, status, visibility, published_at, updated_at
		FROM posts WHERE id = $1 FOR UPDATE`, id).Scan(&po.ID, &po.Type, &po.Slug, &po.Title, &po.Excerpt, &po.HTML,
		&po.FeatureImage, &po.Status, &po.Visibility, &po.PublishedAt, &po.UpdatedAt)
	if err != nil {
		return po, err
	}
	rows, err := tx.Query(ctx, `SELECT t.slug, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE pt.post_id = $1 ORDER BY pt.position`, id)
	if err != nil {
		return po, err
	}
	po.Tags, err = pgx.CollectRows(rows, pgx.RowToStructByPos[tag])
	return po, err
}

// rootRelative finds src and href values that are paths on the blog.
var rootRelative = regexp.MustCompile(`(\s(?:src|href)=["'])/([^/])`)

// article is the post as followers' servers are sent it: a Note whose
// text is the title, the excerpt and the link, with the feature image
// attached, and neither summary nor name. Mastodon shows an Article as
// its name and a link only, and GoToSocial shows an Article's summary (or,
// lacking one, its name) as a content warning that hides the post; a Note
// so composed shows the same on both, and on the hub, as WordPress's
// ActivityPub plugin and Ghost's previews do (see docs/DECISIONS.md,
// "Blog posts on the fediverse").
func (p *Publisher) article(po post) map[string]any {
	base := strings.TrimRight(p.BlogURL, "/")
	link := base + "/" + po.Slug
	var b strings.Builder
	b.WriteString("<p><strong>" + html.EscapeString(po.Title) + "</strong></p>")
	excerpt := strings.TrimSpace(po.Excerpt)
	if excerpt == "" {
		excerpt = opening(po.HTML, maxOpening)
	}
	if excerpt != "" {
		b.WriteString("<p>" + html.EscapeString(excerpt) + "</p>")
	}
	b.WriteString(`<p><a href="` + html.EscapeString(link) + `">` + html.EscapeString(link) + `</a></p>`)
	// The whole post travels as the Note's source (the representation its
	// content was derived from, which Mastodon and GoToSocial do not show),
	// with links and images on the blog made absolute: for peers that want
	// it, and so that an edit of the text alone is sent as an Update.
	body := rootRelative.ReplaceAllString(po.HTML, "${1}"+strings.ReplaceAll(base, "$", "$$")+"/${2}")
	obj := map[string]any{
		"id":           p.ObjectID(po.ID),
		"type":         "Note",
		"source":       map[string]any{"content": body, "mediaType": "text/html"},
		"attributedTo": p.Actor(),
		"content":      b.String(),
		"mediaType":    "text/html",
		"url":          link,
		"published":    po.PublishedAt.UTC().Format(time.RFC3339),
		"to":           []any{activitypub.Public},
		"cc":           []any{activitypub.FollowersID(p.Actor())},
		"sensitive":    false,
	}
	tags := []any{}
	for _, t := range po.Tags {
		tags = append(tags, map[string]any{"type": "Hashtag", "href": base + "/tag/" + t.Slug,
			"name": "#" + hashtag(t.Name)})
	}
	obj["tag"] = tags
	if img := activitypub.AbsoluteURL(base, po.FeatureImage); img != "" {
		obj["image"] = map[string]any{"type": "Image", "url": img, "mediaType": mediaType(img)}
		obj["attachment"] = []any{map[string]any{"type": "Image", "url": img, "mediaType": mediaType(img), "name": po.Title}}
	}
	return obj
}

// maxOpening is how many characters of a post's text stand in for an
// excerpt it lacks (Ghost's own generated excerpts are of that order).
const maxOpening = 300

// opening is the start of a post's text: its HTML as plain text, spaces
// collapsed, cut at a word under max characters with an ellipsis.
func opening(body string, max int) string {
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(body))
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		switch tt {
		case xhtml.TextToken:
			b.Write(z.Text())
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			b.WriteByte(' ') // paragraphs and line breaks part words
		}
	}
	words := strings.Fields(b.String())
	text := strings.Join(words, " ")
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	cut := ""
	for _, w := range words {
		if utf8.RuneCountInString(cut)+1+utf8.RuneCountInString(w) > max-1 {
			break
		}
		cut = strings.TrimSpace(cut + " " + w)
	}
	return cut + "…"
}

// hashtag makes a tag name one word, as hashtags are.
func hashtag(name string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127)
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

func mediaType(u string) string {
	path := u
	if pu, err := url.Parse(u); err == nil {
		path = pu.Path
	}
	switch {
	case strings.HasSuffix(path, ".png"):
		return "image/png"
	case strings.HasSuffix(path, ".gif"):
		return "image/gif"
	case strings.HasSuffix(path, ".webp"):
		return "image/webp"
	case strings.HasSuffix(path, ".avif"):
		return "image/avif"
	}
	return "image/jpeg"
}

// SyncDue sends the posts whose scheduled time has come and that were not
// sent yet (and any published post whose last send is out of date with it,
// such as one changed by a Ghost sync). It returns how many it looked at.
func (p *Publisher) SyncDue(ctx context.Context, db *pgxpool.Pool) (int, error) {
	rows, err := db.Query(ctx, `
		SELECT p.id FROM posts p
		WHERE p.type = 'post' AND p.status = 'published' AND p.visibility = 'public' AND p.published_at <= $1 AND p.published_at > $2
		  AND NOT EXISTS (SELECT 1 FROM ap_activities a WHERE a.object_uri = $3 || p.id::text)`,
		p.now(), p.now().Add(-Fresh), p.Actor()+"/articles/")
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return p.Sync(ctx, tx, id) }); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
