package sfu

import "sync"

// cacheSlotSize is the largest packet the cache keeps. Browsers send RTP well
// under 1,200 bytes; anything larger is simply not retransmittable.
const cacheSlotSize = 1500

// packetCache keeps the last packets of one published track, indexed by RTP
// sequence number, so that subscribers' NACKs can be answered from one shared
// copy instead of one copy per subscriber (which is what pion's NACK
// responder would keep). All memory is allocated up front: storing a packet
// is one copy into a fixed slot.
type packetCache struct {
	mu    sync.Mutex
	mask  uint16
	slots []cacheSlot
	buf   []byte // len(slots) * cacheSlotSize
}

type cacheSlot struct {
	seq   uint16
	n     uint16
	valid bool
}

// newPacketCache returns a cache of size slots. size must be a power of two
// no larger than 65536, so that seq%size stays consistent across the 16-bit
// sequence number wrap.
func newPacketCache(size int) *packetCache {
	if size <= 0 || size > 1<<16 || size&(size-1) != 0 {
		panic("sfu: packet cache size must be a power of two <= 65536")
	}
	return &packetCache{
		mask:  uint16(size - 1),
		slots: make([]cacheSlot, size),
		buf:   make([]byte, size*cacheSlotSize),
	}
}

// store copies pkt into the slot for seq, replacing whatever was there.
func (c *packetCache) store(seq uint16, pkt []byte) {
	i := int(seq & c.mask)
	c.mu.Lock()
	s := &c.slots[i]
	if len(pkt) > cacheSlotSize {
		// Too big to keep: make sure an older packet is not served for seq.
		s.valid = false
		c.mu.Unlock()
		return
	}
	copy(c.buf[i*cacheSlotSize:], pkt)
	s.seq, s.n, s.valid = seq, uint16(len(pkt)), true
	c.mu.Unlock()
}

// get copies the packet with sequence number seq into dst and returns its
// length, or false if the packet is no longer (or never was) in the cache.
func (c *packetCache) get(seq uint16, dst []byte) (int, bool) {
	i := int(seq & c.mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[i]
	if !s.valid || s.seq != seq || int(s.n) > len(dst) {
		return 0, false
	}
	return copy(dst, c.buf[i*cacheSlotSize:i*cacheSlotSize+int(s.n)]), true
}
