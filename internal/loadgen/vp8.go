package loadgen

// Synthetic VP8 as RFC 7741 packetises it. Every packet starts with the
// extended payload descriptor browsers send (X=1, I=1, 15-bit PictureID);
// the first packet of a frame has S=1, PID=0 and then the VP8 payload
// header: the 3-byte frame tag (P bit clear on a keyframe) and, on a
// keyframe, the start code 9d 01 2a and the 14-bit width and height. The
// frame data after it is filler: a server forwards it, no decoder sees it.

const (
	vp8DescLen   = 4  // descriptor: X|S|PID, I, PictureID (M=1, 15 bits)
	vp8KeyHdrLen = 10 // frame tag + start code + width + height
	vp8HdrLen    = 3  // frame tag alone
	// maxPayload keeps packets the size browsers send (~1,200 bytes of RTP).
	maxPayload = 1160
)

// vp8Frame writes the packets of one frame into bufs (reused by the
// caller) and returns how many it wrote. size is the frame's payload bytes
// (descriptors excluded); each packet ends with a stamp the caller fills.
func vp8Frame(bufs [][]byte, size int, key bool, pictureID uint16, width, height int) int {
	perPacket := maxPayload - vp8DescLen
	n := (size + perPacket - 1) / perPacket
	n = max(1, min(n, len(bufs)))
	chunk := min(size/n, perPacket)
	for i := range n {
		plen := vp8DescLen + max(chunk, vp8KeyHdrLen+stampLen)
		b := bufs[i][:plen]
		clear(b)
		b[0] = 0x80 // X
		if i == 0 {
			b[0] |= 0x10 // S, PID 0
		}
		b[1] = 0x80 // I: PictureID present
		b[2] = 0x80 | byte(pictureID>>8)&0x7f
		b[3] = byte(pictureID)
		if i == 0 {
			h := b[vp8DescLen:]
			// Frame tag: bit 0 P (0 = key frame), bits 1-3 version 0,
			// bit 4 show_frame, bits 5-23 first partition size.
			part := uint32(chunk) & 0x7ffff
			tag := part<<5 | 1<<4
			if !key {
				tag |= 1
			}
			h[0], h[1], h[2] = byte(tag), byte(tag>>8), byte(tag>>16)
			if key {
				h[3], h[4], h[5] = 0x9d, 0x01, 0x2a
				h[6], h[7] = byte(width), byte(width>>8)&0x3f
				h[8], h[9] = byte(height), byte(height>>8)&0x3f
			}
		}
		bufs[i] = b
	}
	return n
}

// opusPacket fills p (the caller sizes it) as one 20 ms Opus packet: TOC
// byte config 31 (CELT fullband, 20 ms), mono, one frame, then filler.
func opusPacket(p []byte) {
	clear(p)
	p[0] = 31 << 3 // config 31; s (stereo) and c (frame count code) 0
}
