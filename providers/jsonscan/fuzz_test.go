package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzScanner: the scanner accepts exactly what encoding/json accepts as
// valid, WholeValue trims exactly the surrounding whitespace, and a valid
// string's Text is what encoding/json decodes.
func FuzzScanner(f *testing.F) {
	for _, in := range branchInputs() {
		if len(in) < 1000 {
			f.Add([]byte(in))
		}
	}
	for _, l := range testLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		v, ok := WholeValue(b)
		if ok != want {
			t.Fatalf("WholeValue(%q) valid = %v, encoding/json says %v", b, ok, want)
		}
		if !ok {
			return
		}
		if trimmed := bytes.Trim(b, " \t\r\n"); !bytes.Equal(v, trimmed) {
			t.Fatalf("WholeValue(%q) = %q, want %q", b, v, trimmed)
		}
		if v[0] == '"' {
			s, e := ScanStr(v, 0, 0)
			if e != len(v) || !s.OK {
				t.Fatalf("ScanStr(%q) = %v, %d", v, s, e)
			}
			var dec string
			if err := json.Unmarshal(v, &dec); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Text(nil); string(got) != dec || (utf8.Valid(s.Raw) && !s.Is(dec)) {
				t.Fatalf("Text(%q) = %q, encoding/json decodes %q", v, got, dec)
			}
			for _, n := range []int{0, 1, 3, len(dec) / 2, len(dec)} {
				if n <= len(dec) && !s.HasPrefix(dec[:n]) && utf8.ValidString(dec[:n]) {
					t.Fatalf("%q.HasPrefix(%q) = false", v, dec[:n])
				}
			}
			if s.HasPrefix(dec + "x") {
				t.Fatalf("%q.HasPrefix(%q) = true", v, dec+"x")
			}
		}
	})
}
