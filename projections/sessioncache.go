package projections

import (
	"sync"

	"github.com/google/uuid"
)

// sessionCache keeps the sessions in use in memory, so that authenticating a
// request costs a map lookup. loadMu orders a load (read rows, then insert)
// against a drop, so that a drop between the two cannot leave a stale entry.
type sessionCache struct {
	loadMu    sync.Mutex
	mu        sync.RWMutex
	max       int
	byDigest  map[string]cachedSession
	byAccount map[uuid.UUID]map[string]struct{}
}

type cachedSession struct {
	session SessionRow
	account AccountRow
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, byDigest: map[string]cachedSession{}, byAccount: map[uuid.UUID]map[string]struct{}{}}
}

func (c *sessionCache) get(digest string) (cachedSession, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.byDigest[digest]
	return s, ok
}

// load fills the entry of digest from fetch, unless another load did.
func (c *sessionCache) load(digest string, fetch func() (cachedSession, bool, error)) (cachedSession, bool, error) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	if s, ok := c.get(digest); ok {
		return s, true, nil
	}
	s, ok, err := fetch()
	if err != nil || !ok {
		return s, ok, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byDigest) >= c.max {
		clear(c.byDigest) // crude but bounded: entries reload on their next use
		clear(c.byAccount)
	}
	c.byDigest[digest] = s
	if c.byAccount[s.account.ID] == nil {
		c.byAccount[s.account.ID] = map[string]struct{}{}
	}
	c.byAccount[s.account.ID][digest] = struct{}{}
	return s, true, nil
}

// drop forgets one session (digest) or every session of an account.
func (c *sessionCache) drop(digest string, account uuid.UUID) {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if digest != "" {
		if s, ok := c.byDigest[digest]; ok {
			delete(c.byAccount[s.account.ID], digest)
			delete(c.byDigest, digest)
		}
	}
	if account != uuid.Nil {
		for d := range c.byAccount[account] {
			delete(c.byDigest, d)
		}
		delete(c.byAccount, account)
	}
}

func (c *sessionCache) clear() {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byDigest)
	clear(c.byAccount)
}
