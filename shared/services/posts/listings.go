package posts

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"rose-ash.com/platform/shared/contracts"
)

// listings keeps pages of published posts for a moment: a home page or a
// tag page read by many signed-in members (the page cache serves only
// anonymous readers) then costs the database one query a second rather
// than one a view. Every change made through the Store forgets them all;
// a change made elsewhere (another replica, a Ghost sync) shows within
// the time they are kept, as does a scheduled post coming due.
type listings struct {
	// gen counts the changes; a page computed before the latest one is
	// not served, even if it was stored after it.
	gen   atomic.Uint64
	pages *expirable.LRU[string, listing]
}

type listing struct {
	page contracts.PostPage
	gen  uint64
}

// maxListings bounds how many pages are kept.
const maxListings = 256

// CacheListings makes the Store keep pages of published posts for ttl.
// The pages are shared between callers, which must not change them.
func (s *Store) CacheListings(ttl time.Duration) {
	s.listings = &listings{pages: expirable.NewLRU[string, listing](maxListings, nil, ttl)}
}

// Forget drops the kept pages (a change the Store did not make, such as a
// Ghost sync, is done).
func (s *Store) Forget() {
	if s.listings != nil {
		s.listings.gen.Add(1)
		s.listings.pages.Purge()
	}
}

func listingKey(typ string, q contracts.PostQuery, page, perPage int) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d\x00%t", typ, q.TagSlug, q.AuthorUsername, page, perPage, q.Bodies)
}

// cached returns the kept page for key, and the generation a page
// computed now belongs to.
func (l *listings) cached(key string) (contracts.PostPage, bool, uint64) {
	gen := l.gen.Load()
	if got, ok := l.pages.Get(key); ok && got.gen == gen {
		return got.page, true, gen
	}
	return contracts.PostPage{}, false, gen
}
