package main

import (
	"strings"
	"testing"
)

func TestLimitFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := parseConfig(nil, env(nil))
	if err != nil || c.MaxLectureParticipants != 0 || c.MaxMediaPeers != 0 {
		t.Fatalf("defaults: %+v, %v; want unlimited", c, err)
	}
	c, err = parseConfig([]string{"-max-media-peers", "300"}, env(map[string]string{
		"LECTURELINK_MAX_MEDIA_PEERS": "100", "LECTURELINK_MAX_LECTURE_PARTICIPANTS": "40"}))
	if err != nil || c.MaxMediaPeers != 300 || c.MaxLectureParticipants != 40 {
		t.Fatalf("flag over environment: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-max-media-peers", "-1"}, nil, "must be 0 (unlimited) or more"},
		{[]string{"-max-lecture-participants", "many"}, nil, "invalid value"},
		{nil, map[string]string{"LECTURELINK_MAX_MEDIA_PEERS": "lots"}, `LECTURELINK_MAX_MEDIA_PEERS="lots": want a whole number`},
	} {
		_, err := parseConfig(tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}
