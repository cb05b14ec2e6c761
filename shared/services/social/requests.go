package social

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"rose-ash.com/platform/shared/models"
)

// Approval is how a user's actor takes new followers: whether the user
// approves them by hand (a locked account) and how many requests wait.
type Approval struct {
	Locked  bool
	Pending int
}

const approvalQuery = `
SELECT u.fediverse_locked,
       (SELECT count(*) FROM ap_followers f WHERE f.local_actor = $2 AND f.state = 'pending')
FROM users u WHERE u.id = $1`

// Approval returns whether me approves followers by hand and how many
// follow requests of their actor wait. Pending requests are counted even
// when the account is no longer locked (unlocking accepts them, but one
// may arrive meanwhile). Errors: ENotFound (no such user), EInternal.
func (s *Store) Approval(ctx context.Context, me Actor) (Approval, error) {
	var a Approval
	err := s.db.QueryRow(ctx, approvalQuery, me.UserID, me.ID).Scan(&a.Locked, &a.Pending)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, models.Errorf(models.ENotFound, "No such account here.")
	}
	if err != nil {
		return a, internal("approval", err)
	}
	return a, nil
}

// FollowRequest is a remote (or local) actor waiting for the user to let
// them follow.
type FollowRequest struct {
	Actor ActorRef
	// FollowURI is the id of the Follow the actor sent.
	FollowURI string
	CreatedAt time.Time
}

// FollowRequestPage is one page of a user's follow requests, newest first.
type FollowRequestPage struct {
	Items   []FollowRequest
	Page    int
	HasMore bool
}

// FollowRequestsPerPage is the length of a page of follow requests.
const FollowRequestsPerPage = 40

const followRequestsQuery = `
SELECT f.actor_uri, f.follow_uri, f.created_at,
       coalesce(a.name, ''), coalesce(a.username, ''), coalesce(a.host, ''), coalesce(a.icon_url, ''), coalesce(a.url, ''),
       coalesce(u.username, ''), coalesce(u.display_name, '')
FROM ap_followers f
LEFT JOIN ap_actors a ON a.uri = f.actor_uri
LEFT JOIN users u ON starts_with(f.actor_uri, $2::text) AND u.username = substr(f.actor_uri, length($2::text) + 1)
WHERE f.local_actor = $1 AND f.state = 'pending'
ORDER BY f.created_at DESC, f.actor_uri
LIMIT $3 OFFSET $4`

// FollowRequests returns page (from 1) of the requests to follow me's
// actor that wait for an answer, newest first. Errors: EInternal.
func (s *Store) FollowRequests(ctx context.Context, me Actor, page int) (FollowRequestPage, error) {
	if page < 1 {
		page = 1
	}
	rows, err := s.db.Query(ctx, followRequestsQuery, me.ID, s.o.FederationURL+"/users/",
		FollowRequestsPerPage+1, (page-1)*FollowRequestsPerPage)
	if err != nil {
		return FollowRequestPage{}, internal("follow requests", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FollowRequest, error) {
		var (
			q                               FollowRequest
			uri                             string
			name, user, host, icon, profile string
			localUser, localName            string
		)
		err := r.Scan(&uri, &q.FollowURI, &q.CreatedAt, &name, &user, &host, &icon, &profile, &localUser, &localName)
		q.Actor = s.actorRef(uri, name, user, host, icon, profile, localUser, localName)
		return q, err
	})
	if err != nil {
		return FollowRequestPage{}, internal("follow requests", err)
	}
	p := FollowRequestPage{Page: page}
	if len(list) > FollowRequestsPerPage {
		list, p.HasMore = list[:FollowRequestsPerPage], true
	}
	p.Items = list
	return p, nil
}
