package sfu

import "time"

// keyframer turns any number of keyframe requests for one published video
// track into at most one PLI to the publisher per interval. The first request
// after a quiet period is sent at once (a late joiner should not wait);
// requests arriving during the interval are coalesced into a single PLI sent
// when the interval ends, so none is lost and the publisher's encoder is not
// flooded when a hundred students join in the same second.
type keyframer struct {
	interval time.Duration
	req      chan struct{} // capacity 1: a pending request
	send     func()        // sends one PLI to the publisher
}

func newKeyframer(interval time.Duration, send func()) *keyframer {
	return &keyframer{interval: interval, req: make(chan struct{}, 1), send: send}
}

// request asks for a keyframe. It never blocks.
func (k *keyframer) request() {
	select {
	case k.req <- struct{}{}:
	default: // one is already pending; it will cover this one
	}
}

// run sends PLIs until done is closed.
func (k *keyframer) run(done <-chan struct{}) {
	t := time.NewTimer(k.interval)
	t.Stop()
	for {
		select {
		case <-done:
			return
		case <-k.req:
		}
		k.send()
		t.Reset(k.interval)
		select {
		case <-done:
			t.Stop()
			return
		case <-t.C:
		}
	}
}
