-- ActivityPub: the site's keypair, the remote actors we know, follows both
-- ways, what our actors emitted and received, and what the social hub shows
-- (notes and articles, likes, boosts, notifications).
--
-- Local actors are identified by their id URI (https://blog.example/users/blog,
-- https://federation.example/users/alice): activities name them that way.

-- The one site keypair every actor signs with. Generated once; never rotated
-- silently, because remote servers cache keys.
CREATE TABLE ap_keypair (
    id              boolean     PRIMARY KEY DEFAULT true CHECK (id),
    private_key_pem text        NOT NULL,
    public_key_pem  text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Actors of other servers (and our own actors, as seen from outside) that
-- we fetched: where to deliver to them and the key they sign with.
CREATE TABLE ap_actors (
    uri             text        PRIMARY KEY,
    host            text        NOT NULL,
    type            text        NOT NULL DEFAULT 'Person',
    username        text        NOT NULL DEFAULT '',
    name            text        NOT NULL DEFAULT '',
    summary         text        NOT NULL DEFAULT '',
    icon_url        text        NOT NULL DEFAULT '',
    url             text        NOT NULL DEFAULT '',
    inbox           text        NOT NULL,
    shared_inbox    text        NOT NULL DEFAULT '',
    outbox          text        NOT NULL DEFAULT '',
    followers       text        NOT NULL DEFAULT '',
    following       text        NOT NULL DEFAULT '',
    key_id          text        NOT NULL DEFAULT '',
    public_key_pem  text        NOT NULL DEFAULT '',
    locked          boolean     NOT NULL DEFAULT false,
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    -- Set when the actor was deleted or its server answered 410 Gone.
    gone_at         timestamptz
);
CREATE INDEX ap_actors_key_id_idx ON ap_actors (key_id);
CREATE INDEX ap_actors_handle_idx ON ap_actors (lower(username), host);

-- Who follows our actors. follow_uri is the Follow's id, which an Undo names.
CREATE TABLE ap_followers (
    local_actor  text        NOT NULL,
    actor_uri    text        NOT NULL REFERENCES ap_actors (uri) ON DELETE CASCADE,
    follow_uri   text        NOT NULL,
    state        text        NOT NULL DEFAULT 'accepted' CHECK (state IN ('pending', 'accepted')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (local_actor, actor_uri)
);
CREATE INDEX ap_followers_actor_uri_idx ON ap_followers (actor_uri);

-- Whom our actors follow, and whether they have accepted.
CREATE TABLE ap_following (
    local_actor  text        NOT NULL,
    actor_uri    text        NOT NULL REFERENCES ap_actors (uri) ON DELETE CASCADE,
    follow_uri   text        NOT NULL UNIQUE,
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (local_actor, actor_uri)
);
CREATE INDEX ap_following_actor_uri_idx ON ap_following (actor_uri);

-- Every activity our actors emit, written in the same transaction as the
-- change that caused it (a delivery job is queued in that transaction too).
-- Recipients: the actor's followers when to_followers, plus the actors named
-- in recipients (their inboxes are looked up at delivery).
CREATE TABLE ap_activities (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    uri           text        NOT NULL UNIQUE,
    actor         text        NOT NULL,
    type          text        NOT NULL,
    object_uri    text        NOT NULL DEFAULT '',
    payload       jsonb       NOT NULL,
    -- Listed in the actor's outbox (public and unlisted activities).
    listed        boolean     NOT NULL DEFAULT true,
    to_followers  boolean     NOT NULL DEFAULT true,
    recipients    text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ap_activities_actor_created_idx ON ap_activities (actor, created_at DESC);
CREATE INDEX ap_activities_object_uri_idx ON ap_activities (object_uri);

-- The outcome of delivering an activity to one inbox (a shared inbox
-- stands for all the followers behind it). River holds the retry schedule.
CREATE TABLE ap_deliveries (
    activity_id  uuid        NOT NULL REFERENCES ap_activities (id) ON DELETE CASCADE,
    inbox        text        NOT NULL,
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'gone')),
    attempts     integer     NOT NULL DEFAULT 0,
    last_status  integer,
    last_error   text        NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (activity_id, inbox)
);

-- Activities received, by id: a second delivery of the same id is ignored.
CREATE TABLE ap_inbox (
    activity_uri  text        PRIMARY KEY,
    actor         text        NOT NULL,
    type          text        NOT NULL,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ap_inbox_received_at_idx ON ap_inbox (received_at);

-- Notes, articles and other objects the hub shows: those of followed actors
-- (arrived in an inbox) and our users' own posts. content is sanitized HTML.
CREATE TABLE ap_objects (
    uri             text        PRIMARY KEY,
    type            text        NOT NULL,
    actor           text        NOT NULL,
    -- The local author, for our users' own posts.
    user_id         uuid        REFERENCES users (id) ON DELETE CASCADE,
    name            text        NOT NULL DEFAULT '',
    summary         text        NOT NULL DEFAULT '',
    content         text        NOT NULL DEFAULT '',
    url             text        NOT NULL DEFAULT '',
    in_reply_to     text        NOT NULL DEFAULT '',
    visibility      text        NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
    sensitive       boolean     NOT NULL DEFAULT false,
    attachments     jsonb       NOT NULL DEFAULT '[]',
    tags            jsonb       NOT NULL DEFAULT '[]',
    published       timestamptz NOT NULL DEFAULT now(),
    updated         timestamptz,
    deleted_at      timestamptz,
    like_count      integer     NOT NULL DEFAULT 0,
    announce_count  integer     NOT NULL DEFAULT 0,
    reply_count     integer     NOT NULL DEFAULT 0
);
CREATE INDEX ap_objects_actor_published_idx ON ap_objects (actor, published DESC);
CREATE INDEX ap_objects_in_reply_to_idx ON ap_objects (in_reply_to) WHERE in_reply_to <> '';
CREATE INDEX ap_objects_user_id_idx ON ap_objects (user_id) WHERE user_id IS NOT NULL;

-- Likes and boosts (Announce), ours and others', one per actor and object.
CREATE TABLE ap_likes (
    uri         text        PRIMARY KEY,
    actor       text        NOT NULL,
    object_uri  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor, object_uri)
);
CREATE TABLE ap_announces (
    uri         text        PRIMARY KEY,
    actor       text        NOT NULL,
    object_uri  text        NOT NULL,
    published   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor, object_uri)
);
CREATE INDEX ap_announces_actor_published_idx ON ap_announces (actor, published DESC);

-- What happened to a local user's actor: follows, likes, boosts, replies,
-- mentions. Unread until read_at is set.
CREATE TABLE ap_notifications (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text        NOT NULL CHECK (kind IN ('follow', 'like', 'announce', 'reply', 'mention')),
    actor         text        NOT NULL,
    object_uri    text        NOT NULL DEFAULT '',
    activity_uri  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    read_at       timestamptz,
    UNIQUE (user_id, activity_uri, kind)
);
CREATE INDEX ap_notifications_user_created_idx ON ap_notifications (user_id, created_at DESC);
CREATE INDEX ap_notifications_unread_idx ON ap_notifications (user_id) WHERE read_at IS NULL;
