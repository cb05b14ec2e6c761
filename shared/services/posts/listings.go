package posts

import (
	"fmt"
	"time"

	"rose-ash.com/platform/shared/contracts"
	"rose-ash.com/platform/shared/keptpages"
)

// Listings read by many signed-in members are kept a moment (see
// keptpages); every change made through the Store forgets them all, as do
// a Ghost sync (Forget), and a scheduled post coming due shows within the
// time they are kept.

// maxListings bounds how many pages are kept.
const maxListings = 256

// CacheListings makes the Store keep pages of published posts for ttl.
// The pages are shared between callers, which must not change them.
func (s *Store) CacheListings(ttl time.Duration) {
	s.listings = keptpages.New[contracts.PostPage](maxListings, ttl)
}

// Forget drops the kept pages (a change the Store did not make, such as a
// Ghost sync, is done).
func (s *Store) Forget() {
	s.listings.Forget()
}

func listingKey(typ string, q contracts.PostQuery, page, perPage int) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d\x00%t", typ, q.TagSlug, q.AuthorUsername, page, perPage, q.Bodies)
}
