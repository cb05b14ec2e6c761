// Package keptpages keeps pages of listings (posts, products, search
// results) in process for a moment: a page read by many signed-in members
// (the page cache serves only anonymous visitors) then costs the database
// one query per key and moment rather than one a view.
//
// The owner of the data forgets every kept page after each change it
// commits; a change made elsewhere (another replica, a sync) shows within
// the time pages are kept.
package keptpages

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Pages keeps at most a fixed number of pages of type V for a TTL. A nil
// *Pages keeps nothing. Kept pages are shared between callers, which must
// not change them.
type Pages[V any] struct {
	// gen counts the changes; a page computed before the latest one is
	// not served, even if it was stored after it.
	gen   atomic.Uint64
	pages *expirable.LRU[string, kept[V]]
}

type kept[V any] struct {
	page V
	gen  uint64
}

// New returns Pages keeping at most size pages for ttl each.
func New[V any](size int, ttl time.Duration) *Pages[V] {
	return &Pages[V]{pages: expirable.NewLRU[string, kept[V]](size, nil, ttl)}
}

// Get returns the page kept under key, and the generation to Add a page
// computed now with.
func (p *Pages[V]) Get(key string) (page V, ok bool, gen uint64) {
	if p == nil {
		return page, false, 0
	}
	gen = p.gen.Load()
	if got, found := p.pages.Get(key); found && got.gen == gen {
		return got.page, true, gen
	}
	return page, false, gen
}

// Add keeps page under key, computed in generation gen (from Get).
func (p *Pages[V]) Add(key string, page V, gen uint64) {
	if p != nil {
		p.pages.Add(key, kept[V]{page: page, gen: gen})
	}
}

// Forget drops every kept page; a page computed before it is not kept.
func (p *Pages[V]) Forget() {
	if p != nil {
		p.gen.Add(1)
		p.pages.Purge()
	}
}
