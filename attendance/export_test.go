package attendance

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"
)

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("export does not parse back: %v\n%s", err, b)
	}
	return recs
}

func exportRows() []Row {
	fj, ll := at(2), at(88)
	return []Row{
		{Person: Person{UserID: "u_1", Username: "ozols", DisplayName: "Jānis Ozols", SiteID: "riga", SiteName: "Rīga", GroupID: "g_1", GroupName: "LV-1"},
			Expected: true, FirstJoin: &fj, LastLeave: &ll, PresentSeconds: 86*60 + 59, Status: "P", Source: SourceAutomatic},
		{Person: Person{UserID: "u_2", Username: "evil", DisplayName: "=HYPERLINK(\"http://x\",\"y\")", SiteID: "riga", GroupID: "g_1"},
			Expected: true, Status: "A", Source: SourceAutomatic},
		{Person: Person{UserID: "u_3", Username: "plus", DisplayName: "+1 Name, with comma", SiteID: "osh", SiteName: "Osh"},
			Status: "E", Source: SourceManual},
		{Person: Person{UserID: "u_4", Username: "waiting", DisplayName: "@home"}, Expected: true},
	}
}

func TestLectureCSV(t *testing.T) {
	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	var plain, bom bytes.Buffer
	if err := WriteLectureCSV(&plain, exportRows(), riga, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteLectureCSV(&bom, exportRows(), riga, true); err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(plain.Bytes(), []byte(utf8BOM)) {
		t.Fatal("BOM written though not asked for")
	}
	if !bytes.HasPrefix(bom.Bytes(), []byte(utf8BOM)) || !bytes.Equal(bom.Bytes()[len(utf8BOM):], plain.Bytes()) {
		t.Fatal("bom=true must be the BOM followed by the same file")
	}
	recs := parseCSV(t, plain.Bytes())
	want := [][]string{
		{"username", "name", "site", "group", "first join", "last leave", "minutes", "status", "source"},
		{"ozols", "Jānis Ozols", "Rīga", "LV-1", "2026-11-27T11:02:00+02:00", "2026-11-27T12:28:00+02:00", "86", "P", "automatic"},
		{"evil", "'=HYPERLINK(\"http://x\",\"y\")", "riga", "g_1", "", "", "0", "A", "automatic"},
		{"plus", "'+1 Name, with comma", "Osh", "", "", "", "0", "E", "manual"},
		{"waiting", "'@home", "", "", "", "", "0", "", ""},
	}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Fatalf("CSV:\n%q\nwant\n%q", recs, want)
	}
}

func TestMoodleCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMoodleCSV(&b, exportRows()); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(b.String(), utf8BOM) {
		t.Fatal("Moodle export must not start with a BOM")
	}
	recs := parseCSV(t, b.Bytes())
	want := [][]string{{"username", "status"}, {"ozols", "P"}, {"evil", "A"}, {"plus", "E"}}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Fatalf("Moodle CSV %q, want %q (no line for a row without status)", recs, want)
	}
}

func TestSeriesCSV(t *testing.T) {
	pct := 50.0
	lines := []StudentLine{
		{Person: Person{Username: "ozols", DisplayName: "Jānis Ozols", SiteName: "Rīga", GroupName: "LV-1"},
			Cells: []Cell{{LectureID: "lec_2", Status: "A"}, {LectureID: "lec_1", Status: "P"}}, Percent: &pct},
		{Person: Person{Username: "new", DisplayName: "-x", SiteID: "osh"}, Cells: []Cell{{LectureID: "lec_1"}, {LectureID: "lec_2"}}},
	}
	cols := []SeriesColumn{{LectureID: "lec_1", Label: "1 2026-12-01"}, {LectureID: "lec_2", Label: "2 2026-12-08"}}
	var b bytes.Buffer
	if err := WriteSeriesCSV(&b, cols, lines, true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), utf8BOM) {
		t.Fatal("no BOM though asked for")
	}
	recs := parseCSV(t, b.Bytes()[len(utf8BOM):])
	want := [][]string{
		{"username", "name", "site", "group", "1 2026-12-01", "2 2026-12-08", "percent"},
		{"ozols", "Jānis Ozols", "Rīga", "LV-1", "P", "A", "50.0"},
		{"new", "'-x", "osh", "", "", "", ""},
	}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Fatalf("series CSV %q, want %q", recs, want)
	}
}
