package social

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/activitypub/delivery"
	"rose-ash.com/platform/shared/models"
)

// Limits on what a user may write.
const (
	// MaxText is the most characters a post's text may have.
	MaxText = 5000
	// MaxSummary is the most characters of a content warning.
	MaxSummary = 500
	// maxMentions bounds the handles resolved for one post (each may cost
	// a WebFinger lookup).
	maxMentions = 10
)

// Draft is what a user writes in the compose box.
type Draft struct {
	// Text is plain text: paragraphs are separated by blank lines; links
	// and @user@host mentions become links.
	Text string
	// Summary is the content warning; when set the post is sensitive.
	Summary string
	// Visibility is Public (the default when empty), Unlisted or Followers.
	Visibility string
	// InReplyTo is the id of the post answered, "" for none.
	InReplyTo string
}

// Validate checks a draft, returning an EInvalid error that says what to
// fix.
func (d Draft) Validate() error {
	switch {
	case strings.TrimSpace(d.Text) == "":
		return models.Errorf(models.EInvalid, "Write something before posting.")
	case utf8.RuneCountInString(d.Text) > MaxText:
		return models.Errorf(models.EInvalid, "A post is at most %d characters; this one has %d.", MaxText, utf8.RuneCountInString(d.Text))
	case utf8.RuneCountInString(d.Summary) > MaxSummary:
		return models.Errorf(models.EInvalid, "A content warning is at most %d characters.", MaxSummary)
	case d.Visibility != "" && d.Visibility != Public && d.Visibility != Unlisted && d.Visibility != Followers:
		return models.Errorf(models.EInvalid, "Choose who can see the post: public, unlisted or followers only.")
	}
	return nil
}

// mention is a resolved @handle in a post.
type mention struct {
	Href, Name, URL string
}

// Compose publishes a local post (a Note) by me: stored in ap_objects and
// sent as Create(Note) in one transaction, addressed as Mastodon does for
// its visibility (public: to Public, cc followers; unlisted: to followers,
// cc Public; followers only: to followers), with the author of the post it
// answers and the actors it mentions in cc and among the recipients. Local
// users answered or mentioned are notified. Mentions are resolved before
// the transaction (known actors first, then Options.Lookup). Errors:
// EInvalid (see Draft.Validate), ENotFound (the post answered is not
// visible to me), EInternal.
func (s *Store) Compose(ctx context.Context, me Actor, d Draft) (Post, error) {
	if err := d.Validate(); err != nil {
		return Post{}, err
	}
	if d.Visibility == "" {
		d.Visibility = Public
	}
	text := strings.TrimSpace(strings.ReplaceAll(d.Text, "\r\n", "\n"))
	summary := strings.TrimSpace(d.Summary)
	tokens := tokenize(text)
	mentions, mentioned := s.resolveMentions(ctx, tokens)
	if d.InReplyTo != "" {
		// A reply mentions the author answered, its @handle first, as
		// Mastodon composes it: GoToSocial (and any server that keeps only
		// what concerns its users) drops a reply that does not mention a
		// receiver who does not follow the sender.
		author, handle, err := s.replyAuthor(ctx, me, d.InReplyTo)
		if err != nil {
			return Post{}, err
		}
		if author != "" && !slices.ContainsFunc(mentioned, func(m mention) bool { return m.Href == author }) {
			if handle != "" {
				text = handle + " " + text
				tokens = tokenize(text)
				mentions, mentioned = s.resolveMentions(ctx, tokens)
			}
			if !slices.ContainsFunc(mentioned, func(m mention) bool { return m.Href == author }) {
				// Known by its id alone (no username): a tag still tells its server.
				mentioned = append([]mention{{Href: author, Name: author, URL: author}}, mentioned...)
			}
		}
	}
	content := activitypub.SanitizeHTML(renderText(text, tokens, mentions))

	now := s.o.Now().UTC()
	id := me.ID + "/notes/" + uuid.NewString()
	post := Post{URI: id, Type: "Note", Author: ActorRef{URI: me.ID, Handle: s.LocalHandle(me.Username), Local: true},
		Summary: html.EscapeString(summary), Sensitive: summary != "", Content: content, URL: id, InReplyTo: d.InReplyTo,
		Visibility: d.Visibility, Published: now, Mine: true}

	var tags []map[string]any
	var mentionedActors []string // for cc, in the order of the text
	seen := map[string]bool{}
	for _, m := range mentioned {
		if seen[m.Href] {
			continue
		}
		seen[m.Href] = true
		tags = append(tags, map[string]any{"type": "Mention", "href": m.Href, "name": m.Name})
		mentionedActors = append(mentionedActors, m.Href)
	}
	err := s.inTx(ctx, "compose", func(tx pgx.Tx, notified *[]uuid.UUID) error {
		var parent target
		extra := slices.Clip(mentionedActors) // and the author answered
		if d.InReplyTo != "" {
			var err error
			if parent, err = visiblePost(ctx, tx, me.ID, d.InReplyTo); err != nil {
				return err
			}
			if !seen[parent.Actor] && parent.Actor != me.ID {
				extra = append(extra, parent.Actor)
			}
		}
		to, cc := addressing(me.ID, d.Visibility, extra)
		note := map[string]any{
			"id": id, "type": "Note", "attributedTo": me.ID, "content": content,
			"published": now.Format(time.RFC3339), "to": to, "cc": cc, "url": id,
			"sensitive": summary != "", "summary": nil, "inReplyTo": nil, "tag": orEmpty(tags),
		}
		if summary != "" {
			note["summary"] = summary
		}
		if d.InReplyTo != "" {
			note["inReplyTo"] = d.InReplyTo
		}
		tagsJSON, err := json.Marshal(orEmpty(tags))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO ap_objects (uri, type, actor, user_id, summary, content, url, in_reply_to, visibility, sensitive, tags, published)
VALUES ($1, 'Note', $2, $3, $4, $5, $1, $6, $7, $8, $9, $10)`,
			id, me.ID, me.UserID, html.EscapeString(summary), content, d.InReplyTo, d.Visibility, summary != "", tagsJSON, now); err != nil {
			return err
		}
		if d.InReplyTo != "" {
			if _, err := tx.Exec(ctx, `UPDATE ap_objects SET reply_count = reply_count + 1 WHERE uri = $1`, d.InReplyTo); err != nil {
				return err
			}
		}
		activityID := delivery.NewID(me.ID)
		if _, err := delivery.Emit(ctx, tx, s.jobs, delivery.Activity{
			ID: activityID, Actor: me.ID, Type: "Create", ObjectURI: id,
			Payload: map[string]any{"@context": activitypub.ContextURL, "id": activityID, "type": "Create",
				"actor": me.ID, "published": now.Format(time.RFC3339), "to": to, "cc": cc, "object": note},
			Listed: d.Visibility != Followers, ToFollowers: true, Recipients: s.remote(extra),
		}); err != nil {
			return err
		}
		// Local users answered or mentioned hear of it here; remote ones by delivery.
		told := map[uuid.UUID]bool{me.UserID: true}
		tell := func(actor, kind string) error {
			uid, ok, err := s.localUserID(ctx, tx, actor)
			if err != nil || !ok || told[uid] {
				return err
			}
			told[uid] = true
			if added, err := notify(ctx, tx, uid, kind, me.ID, id, activityID); err != nil || !added {
				return err
			}
			*notified = append(*notified, uid)
			return nil
		}
		if d.InReplyTo != "" {
			if err := tell(parent.Actor, "reply"); err != nil {
				return err
			}
		}
		for _, m := range mentioned {
			if err := tell(m.Href, "mention"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Post{}, err
	}
	return post, nil
}

// replyAuthor returns the author of the post answered and the @handle to
// mention them by (@user@host; "" when we know no username for them);
// author is "" when it is me or we do not hold the post (Compose then
// refuses the reply). Errors: EInternal.
func (s *Store) replyAuthor(ctx context.Context, me Actor, inReplyTo string) (author, handle string, err error) {
	var user, host string
	err = s.db.QueryRow(ctx, `
SELECT o.actor, coalesce(a.username, ''), coalesce(a.host, '')
FROM ap_objects o LEFT JOIN ap_actors a ON a.uri = o.actor
WHERE o.uri = $1`, inReplyTo).Scan(&author, &user, &host)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", "", nil
	case err != nil:
		return "", "", internal("reply author", err)
	case author == me.ID:
		return "", "", nil
	}
	if name := s.localUsername(author); name != "" {
		return author, s.LocalHandle(name), nil
	}
	if user == "" || host == "" {
		return author, "", nil
	}
	return author, "@" + user + "@" + host, nil
}

// addressing returns a post's to and cc for its visibility, Mastodon's
// way; extra (mentioned and answered actors) go to cc.
func addressing(actorID, visibility string, extra []string) (to, cc []string) {
	followers := activitypub.FollowersID(actorID)
	switch visibility {
	case Unlisted:
		to, cc = []string{followers}, []string{activitypub.Public}
	case Followers:
		to, cc = []string{followers}, []string{}
	default:
		to, cc = []string{activitypub.Public}, []string{followers}
	}
	return to, append(cc, extra...)
}

// remote returns the actors of list that are not our own users', without
// duplicates: delivery's recipients (local users hear of things through
// their notifications).
func (s *Store) remote(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range list {
		if a == "" || seen[a] || s.IsLocal(a) {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

func orEmpty(tags []map[string]any) []map[string]any {
	if tags == nil {
		return []map[string]any{}
	}
	return tags
}

// token is a link or a mention found in a post's text.
type token struct {
	start, end int
	link       bool
	// user and host of a mention (host "" for a local @user).
	user, host string
}

var tokenRE = regexp.MustCompile(`https?://[^\s<>"]+|@[A-Za-z0-9_]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?)?`)

// tokenize finds the links and mentions of text. A mention must not follow
// a letter, digit, _, @ or / (so an email address is not one); a link
// loses trailing punctuation.
func tokenize(text string) []token {
	var out []token
	for _, loc := range tokenRE.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		m := text[start:end]
		if strings.HasPrefix(m, "http") {
			for end > start && strings.ContainsRune(".,;:!?'", rune(text[end-1])) {
				end--
			}
			if text[end-1] == ')' && !strings.Contains(text[start:end], "(") {
				end--
			}
			out = append(out, token{start: start, end: end, link: true})
			continue
		}
		if start > 0 {
			if prev, _ := utf8.DecodeLastRuneInString(text[:start]); prev == '_' || prev == '@' || prev == '/' ||
				('a' <= prev && prev <= 'z') || ('A' <= prev && prev <= 'Z') || ('0' <= prev && prev <= '9') {
				continue
			}
		}
		user, host, _ := strings.Cut(m[1:], "@")
		for strings.HasSuffix(host, "-") {
			host = host[:len(host)-1]
			end--
		}
		out = append(out, token{start: start, end: end, user: user, host: strings.ToLower(host)})
	}
	return out
}

// resolveMentions resolves the mentions among tokens: our users, actors in
// ap_actors, then (for unknown remote ones) Options.Lookup. Those it cannot
// resolve stay text. It returns them keyed by "user@host" in lower case,
// and in the order of the text.
func (s *Store) resolveMentions(ctx context.Context, tokens []token) (map[string]mention, []mention) {
	found := map[string]mention{}
	var ordered []mention
	tried := map[string]bool{}
	for _, t := range tokens {
		if t.link {
			continue
		}
		key := strings.ToLower(t.user + "@" + t.host)
		if tried[key] || len(tried) >= maxMentions {
			continue
		}
		tried[key] = true
		if m, ok := s.resolveMention(ctx, t.user, t.host); ok {
			found[key] = m
			ordered = append(ordered, m)
		}
	}
	return found, ordered
}

func (s *Store) resolveMention(ctx context.Context, user, host string) (mention, bool) {
	if host == "" || host == s.host {
		var name string
		err := s.db.QueryRow(ctx, `SELECT username FROM users WHERE username = lower($1)`, user).Scan(&name)
		if err != nil {
			return mention{}, false
		}
		id := activitypub.UserActorID(s.o.FederationURL, name)
		return mention{Href: id, Name: s.LocalHandle(name), URL: id}, true
	}
	var a activitypub.RemoteActor
	err := s.db.QueryRow(ctx, `
SELECT uri, username, host, url FROM ap_actors
WHERE lower(username) = lower($1) AND host = $2 AND gone_at IS NULL
ORDER BY fetched_at DESC LIMIT 1`, user, host).Scan(&a.URI, &a.Username, &a.Host, &a.URL)
	if errors.Is(err, pgx.ErrNoRows) && s.o.Lookup != nil {
		a, err = s.o.Lookup(ctx, "@"+user+"@"+host)
	}
	if err != nil || a.URI == "" {
		return mention{}, false
	}
	u := a.URL
	if u == "" {
		u = a.URI
	}
	return mention{Href: a.URI, Name: "@" + a.Username + "@" + a.Host, URL: u}, true
}

// renderText turns a post's plain text into HTML: escaped text in
// paragraphs (blank lines) with line breaks, links, and the resolved
// mentions as Mastodon's h-card links.
func renderText(text string, tokens []token, mentions map[string]mention) string {
	var b strings.Builder
	pos := 0
	b.WriteString("<p>")
	writeText := func(s string) {
		for i, para := range paragraphRE.Split(s, -1) {
			if i > 0 {
				b.WriteString("</p><p>")
			}
			b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		}
	}
	for _, t := range tokens {
		writeText(text[pos:t.start])
		raw := text[t.start:t.end]
		switch {
		case t.link:
			b.WriteString(`<a href="` + html.EscapeString(raw) + `" rel="nofollow noopener noreferrer" target="_blank">` +
				html.EscapeString(raw) + `</a>`)
		default:
			m, ok := mentions[strings.ToLower(t.user+"@"+t.host)]
			if !ok {
				b.WriteString(html.EscapeString(raw))
				break
			}
			user, _, _ := strings.Cut(strings.TrimPrefix(m.Name, "@"), "@")
			b.WriteString(`<span class="h-card"><a href="` + html.EscapeString(m.URL) + `" class="u-url mention">@<span>` +
				html.EscapeString(user) + `</span></a></span>`)
		}
		pos = t.end
	}
	writeText(text[pos:])
	b.WriteString("</p>")
	return b.String()
}

var paragraphRE = regexp.MustCompile(`\n[ \t]*\n\s*`)
