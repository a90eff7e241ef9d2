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

func TestUDPPortFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		port    int
		min     uint16
		wantErr string
	}{
		{port: 0},
		{args: []string{"-udp-port", "40000"}, port: 40000},
		{env: map[string]string{"LECTURELINK_UDP_PORT": "40001"}, port: 40001},
		{args: []string{"-udp-port", "40002"}, env: map[string]string{"LECTURELINK_UDP_PORT": "40001"}, port: 40002},
		{args: []string{"-udp-ports", "40000-40099"}, port: -1, min: 40000},
		{args: []string{"-udp-port", "-1", "-udp-ports", "40000-40099"}, port: -1, min: 40000},
		{args: []string{"-udp-port", "40000", "-udp-ports", "40000-40099"}, wantErr: "exclude each other"},
		{args: []string{"-udp-port", "70000"}, wantErr: "want a port number"},
		{args: []string{"-udp-port", "-2"}, wantErr: "want a port number"},
		{args: []string{"-fanout-writers", "9"}, wantErr: "want 0 to 8"},
		{env: map[string]string{"LECTURELINK_UDP_PORT": "x"}, wantErr: "LECTURELINK_UDP_PORT"},
	} {
		c, err := parseConfig(tc.args, env(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v %v: err = %v, want %q", tc.args, tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.UDPPort != tc.port || c.UDPPortMin != tc.min {
			t.Errorf("%v %v: port %d min %d err %v, want port %d min %d", tc.args, tc.env, c.UDPPort, c.UDPPortMin, err, tc.port, tc.min)
		}
	}
}
