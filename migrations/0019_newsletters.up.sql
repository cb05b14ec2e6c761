-- Newsletters (issue 19): lists, their subscribers and subscriptions with a
-- consent log, a suppression list fed by bounces and complaints, and
-- campaigns with one row per recipient recording its delivery.
--
-- Owners: shared/services/newsletters writes newsletter_lists,
-- newsletter_subscribers, newsletter_subscriptions, newsletter_consents,
-- newsletter_suppressions and newsletter_bounces;
-- shared/services/campaigns writes newsletter_campaigns,
-- newsletter_campaign_lists and newsletter_campaign_recipients.

CREATE TABLE newsletter_lists (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug          text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name          text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    description   text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    -- A private list is not offered on /newsletters nor in widgets: only an
    -- admin adds people to it (or they were on it before it went private).
    public        boolean     NOT NULL DEFAULT true,
    -- Double opt-in: a subscription counts only once its address confirmed
    -- by a signed link; single opt-in: at once.
    double_opt_in boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per address (stored lower-cased), whether or not it belongs to
-- a member; user_id links a member's own address.
CREATE TABLE newsletter_subscribers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text        NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
    user_id    uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX newsletter_subscribers_user_idx ON newsletter_subscribers (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE newsletter_subscriptions (
    subscriber_id   uuid        NOT NULL REFERENCES newsletter_subscribers (id) ON DELETE CASCADE,
    list_id         uuid        NOT NULL REFERENCES newsletter_lists (id) ON DELETE CASCADE,
    status          text        NOT NULL CHECK (status IN ('unconfirmed', 'confirmed', 'unsubscribed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    unsubscribed_at timestamptz,
    -- When the last confirmation mail went out (resends are rate limited),
    -- and when the welcome message went (it goes once).
    confirm_sent_at timestamptz,
    welcome_sent_at timestamptz,
    PRIMARY KEY (subscriber_id, list_id)
);
CREATE INDEX newsletter_subscriptions_list_idx ON newsletter_subscriptions (list_id, status);

-- The consent log: every subscribe, confirm and unsubscribe with where and
-- from which address it came. Kept while the subscriber exists.
CREATE TABLE newsletter_consents (
    id            bigserial   PRIMARY KEY,
    subscriber_id uuid        NOT NULL REFERENCES newsletter_subscribers (id) ON DELETE CASCADE,
    list_id       uuid        NOT NULL REFERENCES newsletter_lists (id) ON DELETE CASCADE,
    action        text        NOT NULL CHECK (action IN ('subscribe', 'confirm', 'unsubscribe', 'admin_add', 'admin_remove')),
    -- The page the form was on, or how it happened ("one-click", "preferences", "dashboard").
    source        text        NOT NULL DEFAULT '' CHECK (length(source) <= 2000),
    ip            inet,
    user_agent    text        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500),
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX newsletter_consents_subscriber_idx ON newsletter_consents (subscriber_id, at);

-- Addresses never mailed again by a newsletter (hard bounce, complaint,
-- too many soft bounces, or an admin's decision).
CREATE TABLE newsletter_suppressions (
    email      text        PRIMARY KEY CHECK (email = lower(email)),
    reason     text        NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'soft_bounces', 'manual')),
    detail     text        NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE newsletter_campaigns (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    subject      text        NOT NULL CHECK (length(btrim(subject)) BETWEEN 1 AND 200 AND subject !~ '[\r\n]'),
    -- Sanitized HTML from the editor (the blog's policy) and the plain text
    -- derived from it when the campaign was saved.
    body_html    text        NOT NULL DEFAULT '' CHECK (length(body_html) <= 500000),
    body_text    text        NOT NULL DEFAULT '' CHECK (length(body_text) <= 500000),
    status       text        NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'sent', 'cancelled')),
    -- Why a campaign is paused ("paused by an admin", "the mail relay is unreachable").
    status_note  text        NOT NULL DEFAULT '' CHECK (length(status_note) <= 500),
    scheduled_at timestamptz,
    started_at   timestamptz,
    finished_at  timestamptz,
    -- Shown on the public archive when true (after it was sent).
    archived     boolean     NOT NULL DEFAULT false,
    slug         text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,100}$'),
    created_by   uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer     NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE TABLE newsletter_campaign_lists (
    campaign_id uuid NOT NULL REFERENCES newsletter_campaigns (id) ON DELETE CASCADE,
    list_id     uuid NOT NULL REFERENCES newsletter_lists (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, list_id)
);

-- One row per recipient of a campaign, made when sending starts (the
-- confirmed, unsuppressed subscribers of its lists then, each once).
-- state: pending (not tried), sending (handed to a sender: written and
-- committed before the message goes to SMTP), sent, failed (refused for
-- good), uncertain (left in sending by a worker that died: never resent),
-- skipped (suppressed or unsubscribed after the campaign started).
CREATE TABLE newsletter_campaign_recipients (
    campaign_id   uuid        NOT NULL REFERENCES newsletter_campaigns (id) ON DELETE CASCADE,
    subscriber_id uuid        NOT NULL REFERENCES newsletter_subscribers (id) ON DELETE CASCADE,
    -- The list it reaches them through (its List-Id and unsubscribe link).
    list_id       uuid        NOT NULL REFERENCES newsletter_lists (id) ON DELETE CASCADE,
    state         text        NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'skipped')),
    attempts      integer     NOT NULL DEFAULT 0,
    next_try_at   timestamptz,
    claimed_by    text        NOT NULL DEFAULT '',
    claimed_at    timestamptz,
    sent_at       timestamptz,
    error         text        NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    PRIMARY KEY (campaign_id, subscriber_id)
);
CREATE INDEX newsletter_campaign_recipients_todo_idx ON newsletter_campaign_recipients (campaign_id, state)
    WHERE state IN ('pending', 'sending');
-- The sliding-window cap counts what went out recently, across campaigns.
CREATE INDEX newsletter_campaign_recipients_sent_idx ON newsletter_campaign_recipients (sent_at)
    WHERE sent_at IS NOT NULL;

-- Bounces and complaints reported by the relay's webhook.
CREATE TABLE newsletter_bounces (
    id          bigserial   PRIMARY KEY,
    email       text        NOT NULL CHECK (email = lower(email)),
    kind        text        NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    campaign_id uuid        REFERENCES newsletter_campaigns (id) ON DELETE SET NULL,
    detail      text        NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX newsletter_bounces_email_idx ON newsletter_bounces (email, kind);
CREATE INDEX newsletter_bounces_campaign_idx ON newsletter_bounces (campaign_id) WHERE campaign_id IS NOT NULL;
