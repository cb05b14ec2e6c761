// Package newsletters is the PostgreSQL home of the cooperative's mailing
// lists: lists, subscribers, subscriptions with their consent log, the
// suppression list and the bounces that feed it, and the signed links in
// every list message (confirm, unsubscribe, preferences).
//
// It owns the tables newsletter_lists, newsletter_subscribers,
// newsletter_subscriptions, newsletter_consents, newsletter_suppressions
// and newsletter_bounces. Campaigns and their sending are in
// shared/services/campaigns.
package newsletters
