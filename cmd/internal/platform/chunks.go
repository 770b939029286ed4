package platform

import "sync"

// arenaChunks is where the replay buffers' arenas take their chunks, for every
// replay in the process: memory mapped outside Go's heap (mapChunks), carved into
// chunks, handed back when a replay is done and never unmapped.
//
// Outside the heap, because the garbage collector sizes the heap from what is
// live: the arenas were a third of a replay's live heap (48 of 146 MB), so with
// GOGC at 150 they grew the heap by 120 MB more, and a fresh process pays for
// every page it grows by (11-15 µs a page on a 2-core virtual machine like CI's,
// as fresh_page in sleutel bench audit shows). A replay of a million events in a
// fresh process (sleutel audit replay) faulted 90-96 k pages, and faults 71-73 k
// so. Huge pages, where the system offers them, fault the arenas in 2 MiB at a
// time.
//
// Never unmapped, because a string or slice may still point into a chunk after
// its buffer is written (in a table's error, a sort's scratch): reused, it reads
// as other bytes, never as a fault.
var arenaChunks chunkPool

type chunkPool struct {
	mu     sync.Mutex
	free   [][]byte // chunks handed back
	region []byte   // mapped and not yet handed out
}

// chunkRegion is how much the pool maps at a time.
const chunkRegion = 32 << 20

// get returns an empty chunk with room for arenaChunk bytes.
func (p *chunkPool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c[:0]
	}
	if len(p.region) < arenaChunk {
		if p.region = mapChunks(chunkRegion); p.region == nil { // refused: from the heap, then
			return make([]byte, 0, arenaChunk)
		}
	}
	c := p.region[:0:arenaChunk]
	p.region = p.region[arenaChunk:]
	return c
}

// put hands chunks back, once nothing reads them.
func (p *chunkPool) put(chunks [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range chunks {
		p.free = append(p.free, c[:0])
	}
}
