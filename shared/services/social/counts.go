package social

import "context"

// FollowCounts are how many accounts follow a user's actor and how many it
// follows (accepted follows only: requests still waiting do not count).
type FollowCounts struct {
	Followers, Following int
}

const followCountsQuery = `
SELECT (SELECT count(*) FROM ap_followers WHERE local_actor = $1 AND state = 'accepted'),
       (SELECT count(*) FROM ap_following WHERE local_actor = $1 AND state = 'accepted')`

// FollowCounts returns me's followers and followings, as their actor's
// followers and following collections count them. Errors: EInternal.
func (s *Store) FollowCounts(ctx context.Context, me Actor) (FollowCounts, error) {
	var c FollowCounts
	if err := s.db.QueryRow(ctx, followCountsQuery, me.ID).Scan(&c.Followers, &c.Following); err != nil {
		return c, internal("follow counts", err)
	}
	return c, nil
}
