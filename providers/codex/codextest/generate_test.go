package codextest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digest(t *testing.T, paths []string) [32]byte {
	t.Helper()
	h := sha256.New()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(data)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	opt := Options{TotalBytes: 2 << 20, Seed: 7, ForkFraction: 0.4, LegacyFraction: 0.2, MalformedFraction: 0.01}
	a, b := t.TempDir(), t.TempDir()
	sa, err := Generate(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Bytes != sb.Bytes || len(sa.Paths) != len(sb.Paths) || digest(t, sa.Paths) != digest(t, sb.Paths) {
		t.Fatal("same options, different corpora")
	}
}

func TestGenerateShape(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 12 << 20, Seed: 3, ForkFraction: 0.3, SubagentFraction: 0.2,
		ArchivedFraction: 0.2, LegacyFraction: 0.15, MalformedFraction: 0.002})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Forks == 0 || sum.RefForks == 0 || sum.Subagents == 0 || sum.Archived == 0 || sum.Bare == 0 || sum.Documents == 0 ||
		sum.CacheWrites == 0 {
		sum.Paths = nil
		t.Errorf("a kind of session is missing: %+v", sum)
	}
	if sum.Sessions != sum.Files || len(sum.Paths) != sum.Files {
		t.Errorf("sessions %d, files %d, paths %d", sum.Sessions, sum.Files, len(sum.Paths))
	}
	if sum.Bytes < 10<<20 || sum.Bytes > 16<<20 {
		t.Errorf("wrote %d bytes for 12 MiB", sum.Bytes)
	}
	var size, lines, bad int64
	copies := 0
	for _, p := range sum.Paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "sessions/") && !strings.HasPrefix(rel, "archived_sessions/") {
			t.Errorf("file outside the roots: %s", rel)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		size += int64(len(data))
		if strings.HasSuffix(p, ".json") {
			if !json.Valid(data) {
				t.Errorf("%s: invalid document", rel)
			}
			continue
		}
		metas := 0
		for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			lines++
			if !json.Valid(l) {
				bad++
			}
			if bytes.Contains(l, []byte(`"type":"session_meta"`)) {
				metas++
			}
		}
		if metas > 1 {
			copies++
		}
	}
	if size != sum.Bytes || lines != sum.Lines || bad != sum.Malformed {
		t.Errorf("bytes %d/%d, lines %d/%d, malformed %d/%d", size, sum.Bytes, lines, sum.Lines, bad, sum.Malformed)
	}
	if copies == 0 {
		t.Error("no rollout holds a copied parent session_meta")
	}
	if sum.LineP50 < 200 || sum.LineMax < 10_000 {
		t.Errorf("line sizes p50 %d, max %d", sum.LineP50, sum.LineMax)
	}
}
