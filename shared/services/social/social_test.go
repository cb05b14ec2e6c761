package social_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"rose-ash.com/platform/shared/activitypub"
	"rose-ash.com/platform/shared/models"
	"rose-ash.com/platform/shared/postgres/pgtest"
	"rose-ash.com/platform/shared/services/social"
)

const fed = "https://federation.example"

// env is a fresh database with a store on it.
type env struct {
	t        *testing.T
	db       *pgxpool.Pool
	st       *social.Store
	notified []uuid.UUID
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.MustPool(t)
	jobs, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db}
	e.st = social.New(db, jobs, social.Options{
		FederationURL: fed,
		ServiceActors: []string{"https://blog.example/users/blog"},
		Notified:      func(_ context.Context, id uuid.UUID) { e.notified = append(e.notified, id) },
	})
	return e
}

// user creates a local user with a username and returns their actor.
func (e *env) user(username string) social.Actor {
	e.t.Helper()
	var id uuid.UUID
	err := e.db.QueryRow(context.Background(), `INSERT INTO users (email, username, display_name) VALUES ($1, $2, $3) RETURNING id`,
		username+"@example.org", username, strings.ToUpper(username[:1])+username[1:]).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	me, err := e.st.ActorOf(models.User{ID: id, Username: username})
	if err != nil {
		e.t.Fatal(err)
	}
	return me
}

// remote stores a remote actor in ap_actors and returns its id.
func (e *env) remote(username, host string) string {
	e.t.Helper()
	uri := "https://" + host + "/users/" + username
	_, err := e.db.Exec(context.Background(), `
INSERT INTO ap_actors (uri, host, username, name, inbox, url) VALUES ($1, $2, $3, $4, $1 || '/inbox', $5)`,
		uri, host, username, strings.ToUpper(username), "https://"+host+"/@"+username)
	if err != nil {
		e.t.Fatal(err)
	}
	return uri
}

// follows records that local follows remote, in state.
func (e *env) follows(local social.Actor, remote, state string) {
	e.t.Helper()
	_, err := e.db.Exec(context.Background(), `
INSERT INTO ap_following (local_actor, actor_uri, follow_uri, state) VALUES ($1, $2, $3, $4)`,
		local.ID, remote, local.ID+"/follows/"+uuid.NewString(), state)
	if err != nil {
		e.t.Fatal(err)
	}
}

// object stores a remote post as the inbox would, published at at.
func (e *env) object(actor, visibility string, at time.Time, tags ...map[string]string) string {
	e.t.Helper()
	uri := actor + "/statuses/" + uuid.NewString()
	if tags == nil {
		tags = []map[string]string{}
	}
	b, _ := json.Marshal(tags)
	_, err := e.db.Exec(context.Background(), `
INSERT INTO ap_objects (uri, type, actor, content, visibility, published, tags) VALUES ($1, 'Note', $2, $3, $4, $5, $6)`,
		uri, actor, "<p>"+visibility+" post</p>", visibility, at, b)
	if err != nil {
		e.t.Fatal(err)
	}
	return uri
}

// activity is a row of ap_activities.
type activity struct {
	URI, Type, ObjectURI string
	Payload              map[string]any
	Listed, ToFollowers  bool
	Recipients           []string
}

// activities returns what actor emitted, oldest first, and checks that
// each has its delivery job queued when it has anyone to go to.
func (e *env) activities(actor string) []activity {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `
SELECT uri, type, object_uri, payload, listed, to_followers, recipients FROM ap_activities WHERE actor = $1
ORDER BY created_at, uri`, actor)
	if err != nil {
		e.t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (activity, error) {
		var a activity
		err := r.Scan(&a.URI, &a.Type, &a.ObjectURI, &a.Payload, &a.Listed, &a.ToFollowers, &a.Recipients)
		return a, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var jobs int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'ap_fanout'`).Scan(&jobs); err != nil {
		e.t.Fatal(err)
	}
	if jobs == 0 && len(list) > 0 {
		e.t.Errorf("%d activities but no delivery job queued", len(list))
	}
	return list
}

func (e *env) last(actor string) activity {
	e.t.Helper()
	list := e.activities(actor)
	if len(list) == 0 {
		e.t.Fatalf("%s emitted nothing", actor)
	}
	return list[len(list)-1]
}

func uris(p social.Page) []string {
	var out []string
	for _, en := range p.Entries {
		s := en.URI
		if en.BoostedBy != nil {
			s = "boost:" + s
		}
		out = append(out, s)
	}
	return out
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// The home timeline holds the posts of accepted follows (followers-only
// ones too), the user's own, the services' public posts, direct posts that
// mention the user and boosts by followed actors, newest first; nothing
// else.
func TestTimelineHoldsWhatTheUserFollowsNewestFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	friend := e.remote("bob", "social.example")
	asked := e.remote("carol", "social.example")
	stranger := e.remote("dave", "other.example")
	e.follows(me, friend, social.Accepted)
	e.follows(me, asked, social.Pending)

	t0 := time.Now().Add(-time.Hour).UTC()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	public := e.object(friend, social.Public, at(1))
	followersOnly := e.object(friend, social.Followers, at(2))
	e.object(friend, social.Direct, at(3))
	dm := e.object(stranger, social.Direct, at(4), map[string]string{"type": "Mention", "href": me.ID})
	e.object(asked, social.Public, at(5))
	strangers := e.object(stranger, social.Public, at(6))
	deleted := e.object(friend, social.Public, at(7))
	if _, err := e.db.Exec(ctx, `UPDATE ap_objects SET deleted_at = now() WHERE uri = $1`, deleted); err != nil {
		t.Fatal(err)
	}
	blog := e.object("https://blog.example/users/blog", social.Public, at(8))
	if _, err := e.db.Exec(ctx, `INSERT INTO ap_announces (uri, actor, object_uri, published) VALUES ($1, $2, $3, $4)`,
		friend+"/boosts/1", friend, strangers, at(9)); err != nil {
		t.Fatal(err)
	}
	mine, err := e.st.Compose(ctx, me, social.Draft{Text: "Hello, fediverse"})
	if err != nil {
		t.Fatal(err)
	}

	page, err := e.st.Timeline(ctx, me.ID, social.Cursor{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{mine.URI, "boost:" + strangers, blog, dm, followersOnly, public}
	if got := uris(page); !reflect.DeepEqual(got, want) {
		t.Fatalf("timeline:\n got %q\nwant %q", got, want)
	}
	if !page.Next.IsZero() {
		t.Error("a short timeline has a next page")
	}
	boost := page.Entries[1]
	if boost.BoostedBy == nil || boost.BoostedBy.URI != friend || boost.BoostedBy.Handle != "@bob@social.example" ||
		boost.Author.Handle != "@dave@other.example" {
		t.Errorf("boost entry: by %+v, author %+v", boost.BoostedBy, boost.Author)
	}
	own := page.Entries[0]
	if !own.Mine || !own.Author.Local || own.Author.Handle != "@alice@federation.example" || own.Author.DisplayName() != "Alice" {
		t.Errorf("own post entry: %+v", own)
	}
	// Someone else's timeline does not have alice's followers-only posts.
	other := e.user("erin")
	page, err = e.st.Timeline(ctx, other.ID, social.Cursor{}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := uris(page); !reflect.DeepEqual(got, []string{blog}) {
		t.Errorf("a new user's timeline = %q, want only the blog's post", got)
	}
}

// Pages follow one another without gaps or repeats, even when posts share
// a publication time.
func TestTimelinePagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	friend := e.remote("bob", "social.example")
	e.follows(me, friend, social.Accepted)
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var all []string
	for i := range 7 {
		all = append(all, e.object(friend, social.Public, base.Add(time.Duration(i/2)*time.Minute))) // pairs share a time
	}
	var got []string
	cursor := social.Cursor{}
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("pagination does not end")
		}
		p, err := e.st.Timeline(ctx, me.ID, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) > 3 {
			t.Fatalf("page of %d entries", len(p.Entries))
		}
		got = append(got, uris(p)...)
		if p.Next.IsZero() {
			break
		}
		cursor, err = social.ParseCursor(p.Next.String())
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(all) {
		t.Fatalf("pages gave %d entries, want %d: %q", len(got), len(all), got)
	}
	seen := map[string]bool{}
	for _, u := range got {
		if seen[u] {
			t.Fatalf("%s appears twice", u)
		}
		seen[u] = true
	}
	// Newest first: the last two posts made are the first two shown.
	if !slices.Contains(got[:1], all[6]) {
		t.Errorf("first entry %s, want the newest %s", got[0], all[6])
	}
	if _, err := social.ParseCursor("not a cursor"); models.Code(err) != models.EInvalid {
		t.Errorf("a damaged cursor: %v, want EInvalid", err)
	}
}

// Follow records a pending follow and sends Follow to that actor alone;
// Unfollow forgets it and sends Undo with the original Follow embedded.
func TestFollowAndUnfollow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	bob := e.remote("bob", "social.example")

	state, err := e.st.Follow(ctx, me, bob)
	if err != nil || state != social.Pending {
		t.Fatalf("Follow = %q, %v; want pending", state, err)
	}
	if s, _ := e.st.FollowState(ctx, me.ID, bob); s != social.Pending {
		t.Fatalf("follow state %q, want pending", s)
	}
	follow := e.last(me.ID)
	if follow.Type != "Follow" || follow.Payload["object"] != bob || follow.Payload["actor"] != me.ID ||
		follow.Payload["id"] != follow.URI || !reflect.DeepEqual(follow.Recipients, []string{bob}) || follow.ToFollowers || follow.Listed {
		t.Fatalf("Follow activity: %+v", follow)
	}
	var followURI string
	if err := e.db.QueryRow(ctx, `SELECT follow_uri FROM ap_following WHERE local_actor = $1`, me.ID).Scan(&followURI); err != nil || followURI != follow.URI {
		t.Fatalf("ap_following follow_uri %q, want the Follow's id %q (%v)", followURI, follow.URI, err)
	}
	// Following again sends nothing new.
	if state, err := e.st.Follow(ctx, me, bob); err != nil || state != social.Pending {
		t.Fatalf("second Follow = %q, %v", state, err)
	}
	if n := len(e.activities(me.ID)); n != 1 {
		t.Fatalf("%d activities after following twice, want 1", n)
	}

	if err := e.st.Unfollow(ctx, me, bob); err != nil {
		t.Fatal(err)
	}
	undo := e.last(me.ID)
	inner, _ := undo.Payload["object"].(map[string]any)
	if undo.Type != "Undo" || inner["type"] != "Follow" || inner["id"] != follow.URI || inner["actor"] != me.ID ||
		inner["object"] != bob || !reflect.DeepEqual(undo.Recipients, []string{bob}) {
		t.Fatalf("Undo activity: %+v", undo)
	}
	if s, _ := e.st.FollowState(ctx, me.ID, bob); s != social.NotFollowing {
		t.Fatalf("after unfollowing, state %q", s)
	}
	if err := e.st.Unfollow(ctx, me, bob); err != nil {
		t.Fatal(err)
	}
	if n := len(e.activities(me.ID)); n != 2 {
		t.Fatalf("unfollowing twice emitted %d activities, want 2 in all", n)
	}

	// A rejected follow may be asked again.
	if _, err := e.st.Follow(ctx, me, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE ap_following SET state = 'rejected'`); err != nil {
		t.Fatal(err)
	}
	if state, err := e.st.Follow(ctx, me, bob); err != nil || state != social.Pending {
		t.Fatalf("following after a rejection = %q, %v", state, err)
	}
	if last := e.last(me.ID); last.Type != "Follow" || last.URI == follow.URI {
		t.Fatalf("no fresh Follow after a rejection: %+v", last)
	}

	if _, err := e.st.Follow(ctx, me, "https://nowhere.example/users/x"); models.Code(err) != models.ENotFound {
		t.Errorf("following an unknown actor: %v, want ENotFound", err)
	}
	if _, err := e.st.Follow(ctx, me, me.ID); models.Code(err) != models.EInvalid {
		t.Errorf("following oneself: %v, want EInvalid", err)
	}
}

// Each visibility is addressed as Mastodon addresses it, and stored so.
func TestComposeAddressing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	followers := activitypub.FollowersID(me.ID)
	for _, c := range []struct {
		visibility string
		to, cc     []string
		listed     bool
	}{
		{social.Public, []string{activitypub.Public}, []string{followers}, true},
		{"", []string{activitypub.Public}, []string{followers}, true},
		{social.Unlisted, []string{followers}, []string{activitypub.Public}, true},
		{social.Followers, []string{followers}, nil, false},
	} {
		t.Run("visibility "+c.visibility, func(t *testing.T) {
			post, err := e.st.Compose(ctx, me, social.Draft{Text: "Hi <there> & welcome", Summary: "food", Visibility: c.visibility})
			if err != nil {
				t.Fatal(err)
			}
			create := e.last(me.ID)
			note, _ := create.Payload["object"].(map[string]any)
			if create.Type != "Create" || create.ObjectURI != post.URI || note["id"] != post.URI || note["type"] != "Note" {
				t.Fatalf("Create: %+v", create)
			}
			if !strings.HasPrefix(post.URI, me.ID+"/notes/") {
				t.Errorf("note id %s is not under %s/notes/", post.URI, me.ID)
			}
			if got := strs(note["to"]); !reflect.DeepEqual(got, c.to) {
				t.Errorf("to = %q, want %q", got, c.to)
			}
			if got := strs(note["cc"]); !reflect.DeepEqual(got, c.cc) {
				t.Errorf("cc = %q, want %q", got, c.cc)
			}
			if !reflect.DeepEqual(create.Payload["to"], note["to"]) || !reflect.DeepEqual(create.Payload["cc"], note["cc"]) {
				t.Errorf("the Create is not addressed as its note")
			}
			if create.Listed != c.listed || !create.ToFollowers {
				t.Errorf("listed %v to_followers %v, want %v true", create.Listed, create.ToFollowers, c.listed)
			}
			if note["content"] != "<p>Hi &lt;there&gt; &amp; welcome</p>" || note["summary"] != "food" || note["sensitive"] != true ||
				note["attributedTo"] != me.ID || note["url"] != post.URI || note["inReplyTo"] != nil || note["published"] == nil {
				t.Errorf("note: %v", note)
			}
			want := c.visibility
			if want == "" {
				want = social.Public
			}
			var vis string
			var userID uuid.UUID
			if err := e.db.QueryRow(ctx, `SELECT visibility, user_id FROM ap_objects WHERE uri = $1`, post.URI).Scan(&vis, &userID); err != nil ||
				vis != want || userID != me.UserID {
				t.Errorf("stored visibility %q user %v (%v), want %q %v", vis, userID, err, want, me.UserID)
			}
		})
	}
	for _, bad := range []social.Draft{{Text: "  "}, {Text: "x", Visibility: "direct"}, {Text: strings.Repeat("a", social.MaxText+1)}} {
		if _, err := e.st.Compose(ctx, me, bad); models.Code(err) != models.EInvalid {
			t.Errorf("Compose(%.20q, %q) = %v, want EInvalid", bad.Text, bad.Visibility, err)
		}
	}
}

// A reply is addressed to the author answered too, mentions become links
// and tags and are delivered to, and local users answered or mentioned
// are notified.
func TestReplyAndMentions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	carol := e.user("carol")
	bob := e.remote("bob", "social.example")
	e.follows(me, bob, social.Accepted)
	parent := e.object(bob, social.Public, time.Now().Add(-time.Minute))

	reply, err := e.st.Compose(ctx, me, social.Draft{InReplyTo: parent, Visibility: social.Unlisted,
		Text: "@bob@social.example agreed, cc @carol and @nobody@nowhere.example\n\nsee https://example.org/x."})
	if err != nil {
		t.Fatal(err)
	}
	create := e.last(me.ID)
	note := create.Payload["object"].(map[string]any)
	wantCC := []string{activitypub.Public, bob, carol.ID}
	if got := strs(note["cc"]); !reflect.DeepEqual(got, wantCC) {
		t.Errorf("cc = %q, want %q", got, wantCC)
	}
	if !reflect.DeepEqual(create.Recipients, []string{bob}) {
		t.Errorf("recipients %q, want only the remote %s (carol hears through her notifications)", create.Recipients, bob)
	}
	if note["inReplyTo"] != parent {
		t.Errorf("inReplyTo = %v", note["inReplyTo"])
	}
	content := note["content"].(string)
	for _, want := range []string{
		`<a href="https://social.example/@bob" class="u-url mention"`, `@<span>bob</span></a>`,
		`@<span>carol</span>`, `@nobody@nowhere.example`, `</p><p>see <a href="https://example.org/x"`, `</a>.</p>`,
	} {
		if !strings.Contains(content, want) {
			t.Errorf("content lacks %q:\n%s", want, content)
		}
	}
	tags, _ := note["tag"].([]any)
	if len(tags) != 2 {
		t.Fatalf("tags %v, want two mentions", tags)
	}
	if m := tags[0].(map[string]any); m["type"] != "Mention" || m["href"] != bob || m["name"] != "@bob@social.example" {
		t.Errorf("first tag %v", m)
	}
	var replies int
	if err := e.db.QueryRow(ctx, `SELECT reply_count FROM ap_objects WHERE uri = $1`, parent).Scan(&replies); err != nil || replies != 1 {
		t.Errorf("parent reply_count %d (%v), want 1", replies, err)
	}
	n, err := e.st.Notifications(ctx, carol.UserID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Items) != 1 || n.Items[0].Kind != social.KindMention || n.Items[0].ObjectURI != reply.URI ||
		n.Items[0].Actor.URI != me.ID || !n.Items[0].Unread || !strings.Contains(n.Items[0].Excerpt, "agreed") {
		t.Fatalf("carol's notifications: %+v", n.Items)
	}
	if !slices.Contains(e.notified, carol.UserID) {
		t.Error("Notified was not told of carol's notification")
	}

	// Carol answers alice's reply: alice is notified of a reply, once.
	e.notified = nil
	if _, err := e.st.Compose(ctx, carol, social.Draft{InReplyTo: reply.URI, Text: "@alice thanks"}); err != nil {
		t.Fatal(err)
	}
	n, err = e.st.Notifications(ctx, me.UserID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Items) != 1 || n.Items[0].Kind != social.KindReply || n.Items[0].Actor.Handle != "@carol@federation.example" {
		t.Fatalf("alice's notifications: %+v", n.Items)
	}
	if !reflect.DeepEqual(e.notified, []uuid.UUID{me.UserID}) {
		t.Errorf("notified %v, want alice", e.notified)
	}

	// Replying to a post we do not hold is refused.
	if _, err := e.st.Compose(ctx, me, social.Draft{InReplyTo: bob + "/statuses/none", Text: "?"}); models.Code(err) != models.ENotFound {
		t.Errorf("reply to an unknown post: %v, want ENotFound", err)
	}
}

// A reply mentions the author it answers even when its text does not (the
// @handle first, and a Mention tag, as Mastodon composes it): GoToSocial
// drops a reply that mentions nobody on it when nobody there follows the
// sender. The author is mentioned once however the text names them.
func TestAReplyMentionsTheAuthorItAnswers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me, carol := e.user("alice"), e.user("carol")
	bob := e.remote("bob", "social.example")
	parent := e.object(bob, social.Public, time.Now().Add(-time.Minute))

	if _, err := e.st.Compose(ctx, me, social.Draft{InReplyTo: parent, Text: "Lovely, thank you!"}); err != nil {
		t.Fatal(err)
	}
	note := e.last(me.ID).Payload["object"].(map[string]any)
	tags, _ := note["tag"].([]any)
	if len(tags) != 1 {
		t.Fatalf("the reply's tags %v, want one Mention of %s", tags, bob)
	}
	if m := tags[0].(map[string]any); m["type"] != "Mention" || m["href"] != bob || m["name"] != "@bob@social.example" {
		t.Errorf("the reply's tag %v, want a Mention of %s named @bob@social.example", m, bob)
	}
	content := note["content"].(string)
	if !strings.HasPrefix(content, `<p><span class="h-card"><a href="https://social.example/@bob" class="u-url mention"`) || !strings.Contains(content, `@<span>bob</span></a></span> Lovely`) {
		t.Errorf("the reply does not start with the @handle of bob:\n%s", content)
	}
	if !slices.Contains(strs(note["cc"]), bob) {
		t.Errorf("cc %v lacks bob", note["cc"])
	}

	// Named in the text already (anywhere), the author is not added again.
	if _, err := e.st.Compose(ctx, me, social.Draft{InReplyTo: parent, Text: "yes, @bob@social.example"}); err != nil {
		t.Fatal(err)
	}
	note = e.last(me.ID).Payload["object"].(map[string]any)
	if tags, _ := note["tag"].([]any); len(tags) != 1 || strings.Count(note["content"].(string), "@<span>bob</span>") != 1 {
		t.Errorf("a reply naming bob: tags %v, content %s", note["tag"], note["content"])
	}

	// A local author is mentioned too, and notified once, of a reply.
	mine, err := e.st.Compose(ctx, carol, social.Draft{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Compose(ctx, me, social.Draft{InReplyTo: mine.URI, Text: "hi carol"}); err != nil {
		t.Fatal(err)
	}
	note = e.last(me.ID).Payload["object"].(map[string]any)
	if tags, _ := note["tag"].([]any); len(tags) != 1 || tags[0].(map[string]any)["href"] != carol.ID {
		t.Errorf("a reply to carol's post: tags %v", note["tag"])
	}
	n, err := e.st.Notifications(ctx, carol.UserID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Items) != 1 || n.Items[0].Kind != social.KindReply {
		t.Errorf("carol's notifications: %+v, want one reply", n.Items)
	}
}

// Likes and boosts are recorded once however often they are asked for,
// sent to the author, and taken back with Undo embedding the original.
func TestLikeAndBoostAreIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	bob := e.remote("bob", "social.example")
	e.follows(me, bob, social.Accepted)
	post := e.object(bob, social.Public, time.Now().Add(-time.Minute))
	count := func(col string) int {
		var n int
		if err := e.db.QueryRow(ctx, `SELECT `+col+` FROM ap_objects WHERE uri = $1`, post).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for range 2 {
		if err := e.st.Like(ctx, me, post); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Boost(ctx, me, post); err != nil {
			t.Fatal(err)
		}
	}
	list := e.activities(me.ID)
	if len(list) != 2 || list[0].Type != "Like" || list[1].Type != "Announce" {
		t.Fatalf("activities after liking and boosting twice: %+v", list)
	}
	like, announce := list[0], list[1]
	if like.Payload["object"] != post || !reflect.DeepEqual(like.Recipients, []string{bob}) || like.ToFollowers {
		t.Errorf("Like: %+v", like)
	}
	if announce.Payload["object"] != post || !reflect.DeepEqual(announce.Recipients, []string{bob}) || !announce.ToFollowers ||
		!reflect.DeepEqual(strs(announce.Payload["to"]), []string{activitypub.Public}) ||
		!slices.Contains(strs(announce.Payload["cc"]), activitypub.FollowersID(me.ID)) {
		t.Errorf("Announce: %+v", announce)
	}
	if count("like_count") != 1 || count("announce_count") != 1 {
		t.Errorf("counts like %d announce %d, want 1 1", count("like_count"), count("announce_count"))
	}
	p, err := e.st.Post(ctx, me.ID, post)
	if err != nil || !p.LikedByMe || !p.BoostedByMe {
		t.Fatalf("post as alice sees it: %+v, %v", p, err)
	}
	// The boost shows on alice's own timeline.
	page, _ := e.st.Timeline(ctx, me.ID, social.Cursor{}, 10)
	if got := uris(page); !slices.Contains(got, "boost:"+post) {
		t.Errorf("alice's timeline %q lacks her boost", got)
	}

	for range 2 {
		if err := e.st.Unlike(ctx, me, post); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Unboost(ctx, me, post); err != nil {
			t.Fatal(err)
		}
	}
	list = e.activities(me.ID)
	if len(list) != 4 {
		t.Fatalf("%d activities after undoing twice, want 4", len(list))
	}
	for i, want := range []activity{like, announce} {
		undo := list[2+i]
		inner, _ := undo.Payload["object"].(map[string]any)
		if undo.Type != "Undo" || inner["id"] != want.URI || inner["type"] != want.Type || inner["object"] != post ||
			!reflect.DeepEqual(undo.Recipients, []string{bob}) {
			t.Errorf("Undo of %s: %+v", want.Type, undo)
		}
	}
	if count("like_count") != 0 || count("announce_count") != 0 {
		t.Errorf("counts after undoing: like %d announce %d", count("like_count"), count("announce_count"))
	}

	followersOnly := e.object(bob, social.Followers, time.Now())
	if err := e.st.Boost(ctx, me, followersOnly); models.Code(err) != models.EForbidden {
		t.Errorf("boosting a followers-only post: %v, want EForbidden", err)
	}
	stranger := e.remote("dave", "other.example")
	hidden := e.object(stranger, social.Followers, time.Now())
	if err := e.st.Like(ctx, me, hidden); models.Code(err) != models.ENotFound {
		t.Errorf("liking a post alice may not see: %v, want ENotFound", err)
	}
}

// Liking and boosting a local user's post notifies them; taking it back
// withdraws the notification.
func TestLocalLikesNotify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, bob := e.user("alice"), e.user("bob")
	post, err := e.st.Compose(ctx, alice, social.Draft{Text: "A local post"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Like(ctx, bob, post.URI); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Boost(ctx, bob, post.URI); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Like(ctx, alice, post.URI); err != nil { // one's own like notifies nobody
		t.Fatal(err)
	}
	if n, _ := e.st.UnreadCount(ctx, alice.UserID); n != 2 {
		t.Fatalf("alice has %d unread, want 2", n)
	}
	if like := e.last(bob.ID); len(like.Recipients) != 0 {
		t.Errorf("a like of a local post is delivered to %q", like.Recipients)
	}
	if err := e.st.Unlike(ctx, bob, post.URI); err != nil {
		t.Fatal(err)
	}
	n, err := e.st.Notifications(ctx, alice.UserID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Items) != 1 || n.Items[0].Kind != social.KindAnnounce || n.Items[0].Actor.DisplayName() != "Bob" {
		t.Fatalf("after the unlike: %+v", n.Items)
	}
}

// Deleting one's post hides it and sends Delete with a Tombstone to its
// audience; others' posts cannot be deleted.
func TestDeleteSendsTombstone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	bob := e.remote("bob", "social.example")
	e.follows(me, bob, social.Accepted)
	theirs := e.object(bob, social.Public, time.Now().Add(-time.Minute))
	post, err := e.st.Compose(ctx, me, social.Draft{Text: "oops @bob@social.example", InReplyTo: theirs})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.Delete(ctx, me, theirs); models.Code(err) != models.EForbidden {
		t.Fatalf("deleting someone else's post: %v, want EForbidden", err)
	}
	if err := e.st.Delete(ctx, me, post.URI); err != nil {
		t.Fatal(err)
	}
	del := e.last(me.ID)
	obj, _ := del.Payload["object"].(map[string]any)
	if del.Type != "Delete" || del.ObjectURI != post.URI || obj["type"] != "Tombstone" || obj["id"] != post.URI ||
		!del.ToFollowers || !del.Listed || !reflect.DeepEqual(del.Recipients, []string{bob}) ||
		!reflect.DeepEqual(strs(del.Payload["to"]), []string{activitypub.Public}) {
		t.Fatalf("Delete: %+v", del)
	}
	page, _ := e.st.Timeline(ctx, me.ID, social.Cursor{}, 10)
	if slices.Contains(uris(page), post.URI) {
		t.Error("the deleted post is still on the timeline")
	}
	if _, err := e.st.Post(ctx, me.ID, post.URI); models.Code(err) != models.ENotFound {
		t.Errorf("Post of a deleted post: %v, want ENotFound", err)
	}
	var replies int
	if err := e.db.QueryRow(ctx, `SELECT reply_count FROM ap_objects WHERE uri = $1`, theirs).Scan(&replies); err != nil || replies != 0 {
		t.Errorf("parent's reply_count %d after the reply was deleted", replies)
	}
	if err := e.st.Delete(ctx, me, post.URI); err != nil {
		t.Fatal(err)
	}
	if n := len(e.activities(me.ID)); n != 2 {
		t.Errorf("deleting twice: %d activities, want 2 (Create, Delete)", n)
	}
	if err := e.st.Delete(ctx, me, me.ID+"/notes/none"); models.Code(err) != models.ENotFound {
		t.Errorf("deleting nothing: %v", err)
	}
}

// Unread notifications are counted until read; marking read up to a time
// leaves later ones unread.
func TestNotificationsUnreadCount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := e.user("alice")
	bob := e.remote("bob", "social.example")
	add := func(kind string, at time.Time) {
		t.Helper()
		if _, err := e.db.Exec(ctx, `INSERT INTO ap_notifications (user_id, kind, actor, activity_uri, created_at) VALUES ($1, $2, $3, $4, $5)`,
			me.UserID, kind, bob, bob+"/activities/"+uuid.NewString(), at); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for i := range social.NotificationsPerPage + 2 {
		add(social.KindFollow, now.Add(time.Duration(-100+i)*time.Second))
	}
	if n, err := e.st.UnreadCount(ctx, me.UserID); err != nil || n != social.NotificationsPerPage+2 {
		t.Fatalf("unread %d, %v", n, err)
	}
	p1, err := e.st.Notifications(ctx, me.UserID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Items) != social.NotificationsPerPage || !p1.HasMore || p1.Items[0].Actor.Handle != "@bob@social.example" {
		t.Fatalf("page 1: %d items, more %v", len(p1.Items), p1.HasMore)
	}
	p2, _ := e.st.Notifications(ctx, me.UserID, 2)
	if len(p2.Items) != 2 || p2.HasMore {
		t.Fatalf("page 2: %d items, more %v", len(p2.Items), p2.HasMore)
	}
	if err := e.st.MarkReadUntil(ctx, me.UserID, p1.Items[0].CreatedAt); err != nil {
		t.Fatal(err)
	}
	add(social.KindLike, now.Add(time.Minute))
	if n, _ := e.st.UnreadCount(ctx, me.UserID); n != 1 {
		t.Fatalf("after marking what was shown read: %d unread, want 1", n)
	}
	if !slices.Contains(e.notified, me.UserID) {
		t.Error("Notified was not told the count changed")
	}
	if err := e.st.MarkAllRead(ctx, me.UserID); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.UnreadCount(ctx, me.UserID); n != 0 {
		t.Fatalf("after MarkAllRead: %d unread", n)
	}
}

func TestActorOfNeedsAUsername(t *testing.T) {
	st := social.New(nil, nil, social.Options{FederationURL: fed + "/"})
	if _, err := st.ActorOf(models.User{ID: uuid.New()}); models.Code(err) != models.EForbidden {
		t.Fatalf("ActorOf without a username: %v", err)
	}
	a, err := st.ActorOf(models.User{ID: uuid.New(), Username: "alice"})
	if err != nil || a.ID != fed+"/users/alice" || !st.IsLocal(a.ID) || st.IsLocal("https://social.example/users/alice") {
		t.Fatalf("ActorOf = %+v, %v", a, err)
	}
}

func TestExcerpt(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"<p>Hello &amp; <b>welcome</b></p><p>again</p>", 100, "Hello & welcome again"},
		{"<p>one two three four five</p>", 12, "one two…"},
		{"", 10, ""},
	} {
		if got := social.Excerpt(c.in, c.n); got != c.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
