package sfu

// SetDisplaySize tells the SFU how large p shows the track trackID of the
// stream streamID (the ids p's client sees), in CSS pixels times the
// device pixel ratio; 0×0 means unknown (no cap). A layer larger than
// needed is not sent when a smaller one is enough.
func (p *Peer) SetDisplaySize(streamID, trackID string, width, height int) {
	_, _, _, _ = streamID, trackID, width, height
}
