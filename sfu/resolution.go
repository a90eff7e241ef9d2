package sfu

// vp8DescriptorLen returns the length of the VP8 payload descriptor at the
// start of an RTP payload (RFC 7741 section 4.2), or -1 if p is too short
// to hold it.
func vp8DescriptorLen(p []byte) int {
	if len(p) < 1 {
		return -1
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extended control bits
		if len(p) <= i {
			return -1
		}
		x := p[i]
		i++
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(p) <= i {
				return -1
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if i > len(p) {
		return -1
	}
	return i
}

// vp8Resolution reads the frame size from the first packet of a VP8
// keyframe: after the payload descriptor, the 3-byte frame tag (P bit
// clear), the start code 9d 01 2a, then width and height as 16-bit little
// endian values whose top two bits are a scaling hint (RFC 6386 section
// 9.1). ok is false for anything else. It allocates nothing.
func vp8Resolution(p []byte) (w, h int, ok bool) {
	i := vp8DescriptorLen(p)
	if i < 0 || p[0]&0x10 == 0 || p[0]&0x07 != 0 { // S set, partition 0
		return 0, 0, false
	}
	f := p[i:]
	if len(f) < 10 || f[0]&0x01 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	w = int(f[6]) | int(f[7]&0x3f)<<8
	h = int(f[8]) | int(f[9]&0x3f)<<8
	if w == 0 || h == 0 {
		return 0, 0, false
	}
	return w, h, true
}
