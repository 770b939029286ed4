package esdb

import (
	"container/list"
	"sync"

	"sleutel/domain/es"
)

// streamHead is an event known to be in a stream: its revision and H4 hash. Such a
// fact never changes; whether it is still the stream's last event may.
type streamHead struct {
	rev  uint64
	hash es.Hash
}

// headCache keeps the newest known event of the most recently used streams, so an
// append usually finds the previous hash without a read.
type headCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type headEntry struct {
	stream string
	head   streamHead
}

func newHeadCache(max int) *headCache {
	return &headCache{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *headCache) get(stream string) (streamHead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[stream]
	if !ok {
		return streamHead{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*headEntry).head, true
}

// put records h unless a newer event of the stream is already known.
func (c *headCache) put(stream string, h streamHead) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		e := el.Value.(*headEntry)
		if h.rev >= e.head.rev {
			e.head = h
		}
		c.order.MoveToFront(el)
		return
	}
	c.items[stream] = c.order.PushFront(&headEntry{stream: stream, head: h})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*headEntry).stream)
	}
}

func (c *headCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		c.order.Remove(el)
		delete(c.items, stream)
	}
}
