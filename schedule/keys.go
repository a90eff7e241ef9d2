package schedule

// Index keys. Every key that lists many lectures, and every series key,
// carries the hash tag {sched}: they all live in one Redis Cluster slot, so
// one WATCH/MULTI can check and change them together on a single server,
// Sentinel or Cluster alike. They hold only ids and scores (a few MB for
// tens of thousands of lectures), so one slot is plenty. Lecture hashes stay
// in their own {lec_…} slots next to their attendance keys; they are
// written before the index entries that point at them, so a crash in
// between leaves an unreachable hash, never an entry pointing at nothing.
const (
	keyByStart          = "ll:{sched}:lectures:by-start"     // zset: every lecture, score = start ms
	keyOpen             = "ll:{sched}:lectures:open"         // zset: lectures with neither groups nor participating sites
	keyBySitePrefix     = "ll:{sched}:lectures:by-site:"     // + site id: zset, origin or participating
	keyByLecturerPrefix = "ll:{sched}:lectures:by-lecturer:" // + user id: zset
	keyByGroupPrefix    = "ll:{sched}:lectures:by-group:"    // + group id: zset
	keySeriesAll        = "ll:{sched}:series"                // set of series ids
	keySeriesPrefix     = "ll:{sched}:series:"               // + id: JSON of Series; + id + ":lectures": zset, score = index
)

func bySiteKey(id string) string     { return keyBySitePrefix + id }
func byLecturerKey(id string) string { return keyByLecturerPrefix + id }
func byGroupKey(id string) string    { return keyByGroupPrefix + id }
func seriesKey(id string) string     { return keySeriesPrefix + id }
func seriesLecturesKey(id string) string {
	return keySeriesPrefix + id + ":lectures"
}

// indexKeys lists every index l belongs in.
func indexKeys(l Lecture) []string {
	keys := []string{keyByStart, byLecturerKey(l.LecturerID)}
	for _, site := range l.Sites() {
		keys = append(keys, bySiteKey(site))
	}
	for _, g := range l.GroupIDs {
		keys = append(keys, byGroupKey(g))
	}
	if len(l.GroupIDs) == 0 && len(l.SiteIDs) == 0 {
		keys = append(keys, keyOpen)
	}
	return keys
}

// resourceKeys lists the indexes a conflict check of l reads: its
// lecturer's and its sites'.
func resourceKeys(l Lecture) []string {
	keys := []string{byLecturerKey(l.LecturerID)}
	for _, site := range l.Sites() {
		keys = append(keys, bySiteKey(site))
	}
	return keys
}
