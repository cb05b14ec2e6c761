package activitypub

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Hooks are the social hub's part in handling what arrives. The processor
// checks an activity (its signature was verified at the door; here, that
// its object comes from where it claims) and keeps the followers of our
// own actors; what an activity means to the hub (posts, likes, boosts,
// follows of remote actors, notifications) it hands to Hooks, inside the
// transaction that handles the activity, so both commit or neither does.
// services/social implements it and owns the tables it writes; with nil
// Hooks an inbox keeps followers and nothing else.
type Hooks interface {
	// Followed is told that actor asked to follow the actor of local user
	// userID with the Follow followID; pending when the user approves
	// followers by hand. Errors: the database's.
	Followed(ctx context.Context, tx pgx.Tx, userID uuid.UUID, actor, followID string, pending bool) error
	// FollowRequestAnswered is told that the user answered the follow
	// request followID (accepted or rejected). Errors: the database's.
	FollowRequestAnswered(ctx context.Context, tx pgx.Tx, followID string) error
	// FollowAnswered is told that actor accepted (or rejected) a follow
	// by one of ours: the Follow followID, or, when the answer names its
	// follower but not its id, the follow of actor by follower ("" when
	// unknown). Errors: the database's.
	FollowAnswered(ctx context.Context, tx pgx.Tx, actor, followID, follower string, accepted bool) error
	// ObjectReceived keeps a post (Create or Update); notify says whether
	// the local users it replies to or mentions are told (not for posts
	// backfilled from an outbox). It reports whether the post was new.
	// Errors: the database's.
	ObjectReceived(ctx context.Context, tx pgx.Tx, o Object, notify bool) (bool, error)
	// ObjectDeleted is told that actor deleted its post objectURI;
	// tombstone says that a post not held yet may be buried (its Create
	// may still arrive). Errors: the database's.
	ObjectDeleted(ctx context.Context, tx pgx.Tx, actor, objectURI string, tombstone bool) error
	// Liked is told that actor liked objectURI with the Like id.
	// Errors: the database's.
	Liked(ctx context.Context, tx pgx.Tx, id, actor, objectURI string) error
	// Announced is told that actor boosted objectURI with the Announce id
	// at published. Errors: the database's.
	Announced(ctx context.Context, tx pgx.Tx, id, actor, objectURI string, published time.Time) error
	// ReactionUndone is told that actor took back its Like or Announce id
	// (or, when id is unknown, the one of objectURI; "" when not given).
	// Errors: the database's.
	ReactionUndone(ctx context.Context, tx pgx.Tx, actor, id, objectURI string) error
	// ActorDeleted is told that actor deleted itself: what the hub holds
	// of it goes. Errors: the database's.
	ActorDeleted(ctx context.Context, tx pgx.Tx, actor string) error
}

// Object is a post (Note, Article, Page, Event, Question) as it arrived,
// read and sanitized for the hub: what Hooks.ObjectReceived keeps.
type Object struct {
	// URI is the object's id; Type its type; Actor its author.
	URI, Type, Actor string
	// ActivityURI is the activity that carried it (its own id when none).
	ActivityURI string
	// Update says it came in an Update: a post held is changed, never
	// added.
	Update bool
	// Name is its title ("" for a Question); Summary and Content are
	// sanitized HTML.
	Name, Summary, Content string
	// URL is its page on its own server.
	URL string
	// InReplyTo is the post it answers ("" for none).
	InReplyTo string
	// Visibility is public, unlisted, followers or direct.
	Visibility string
	Sensitive  bool
	// Attachments are its media with http(s) URLs; Tags its hashtags,
	// mentions and emoji.
	Attachments []Attachment
	Tags        []Tag
	// Mentions are the ids of the actors it mentions.
	Mentions  []string
	Published time.Time
}

// Attachment is a post's medium, as the hub stores it.
type Attachment struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType"`
	URL       string `json:"url"`
	Name      string `json:"name"`
}

// Tag is a post's tag (Hashtag, Mention, Emoji), as the hub stores it.
type Tag struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Href string `json:"href"`
}
