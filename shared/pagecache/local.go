package pagecache

import (
	"sync"
	"time"
)

// localBudget bounds the bytes of pages one process keeps in memory.
const localBudget = 32 << 20

// cachedPage is a page as stored: its Content-Type and body.
type cachedPage struct {
	ctype string
	body  []byte
}

// local keeps, in this process, the last page it rendered for each key and
// the last one rendered in full. They are used only when Redis cannot
// answer: the page while it is fresh (the cache's TTL, DegradedTTL for a
// degraded one), the full one as the saved copy (SavedTTL) when the
// database is away as well.
//
// Why not in front of Redis all the time: pages are purged through Redis
// by whichever process changes content (another replica, another service,
// a Ghost sync), and an in-process copy served first would outlive those
// purges. Used only while Redis is away, a copy can at worst be one TTL
// old, which is what the page cache promises anyway, and purges cannot
// reach Redis during the outage either. Redis hits do not touch it, so the
// cached path costs nothing more while Redis is up.
type local struct {
	mu     sync.RWMutex
	budget int
	size   int
	pages  map[string]*localEntry
}

type localEntry struct {
	page       cachedPage
	freshUntil time.Time
	full       cachedPage // zero when no full render was kept
	savedUntil time.Time
}

func (e *localEntry) bytes() int { return len(e.page.body) + len(e.full.body) }

func newLocal(budget int) *local {
	return &local{budget: budget, pages: map[string]*localEntry{}}
}

// page returns the page kept for key while it is fresh.
func (l *local) page(key string, now time.Time) (cachedPage, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.pages[key]
	if !ok || !now.Before(e.freshUntil) {
		return cachedPage{}, false
	}
	return e.page, true
}

// saved returns the last full render kept for key, within SavedTTL.
func (l *local) saved(key string, now time.Time) (cachedPage, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.pages[key]
	if !ok || e.full.body == nil || !now.Before(e.savedUntil) {
		return cachedPage{}, false
	}
	return e.full, true
}

// put keeps p as key's page for ttl and, when full, as its saved copy.
// Over budget it drops what has expired, then other pages (in Go's map
// order, which is arbitrary): a process that renders many pages keeps a
// changing sample of them, never more than the budget.
func (l *local) put(key string, p cachedPage, ttl time.Duration, full bool, now time.Time) {
	if len(p.body) > l.budget/4 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.pages[key]
	if !ok {
		e = &localEntry{}
		l.pages[key] = e
	}
	l.size -= e.bytes()
	e.page, e.freshUntil = p, now.Add(ttl)
	if full {
		e.full, e.savedUntil = p, now.Add(SavedTTL)
	}
	l.size += e.bytes()
	if l.size <= l.budget {
		return
	}
	for k, o := range l.pages {
		if k != key && !now.Before(o.freshUntil) && !now.Before(o.savedUntil) {
			l.size -= o.bytes()
			delete(l.pages, k)
		}
	}
	for k, o := range l.pages {
		if l.size <= l.budget {
			break
		}
		if k != key {
			l.size -= o.bytes()
			delete(l.pages, k)
		}
	}
}

// clear forgets every page (after a purge by this process).
func (l *local) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.pages)
	l.size = 0
}
