package cursortest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"/home/ana/shop":         "home-ana-shop",
		"/home/ana/my-app":       "home-ana-my-app",
		"/srv/site.io/data pipe": "srv-site-io-data-pipe",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRendering(t *testing.T) {
	b := Bubble{ID: "b1", Type: 2, Tool: "edit_file", ToolStatus: "error", In: 3, Out: 4, Model: "gpt-5", Created: time.Unix(1772442000, 0), Pad: 100}
	var v map[string]any
	if err := json.Unmarshal(b.JSON(), &v); err != nil {
		t.Fatal(err)
	}
	if v["type"] != 2.0 || v["toolFormerData"].(map[string]any)["status"] != "error" || v["createdAt"] != "2026-03-02T09:00:00.000Z" ||
		v["tokenCount"].(map[string]any)["inputTokens"] != 3.0 || v["modelInfo"].(map[string]any)["modelName"] != "gpt-5" {
		t.Errorf("bubble %v", v)
	}
	c := Composer{ID: "c1", Created: time.Unix(1772442000, 0), Bubbles: []Bubble{b}}
	if err := json.Unmarshal(c.JSON(), &v); err != nil {
		t.Fatal(err)
	}
	if h := v["fullConversationHeadersOnly"].([]any); len(h) != 1 || h[0].(map[string]any)["bubbleId"] != "b1" || v["createdAt"] != 1772442000000.0 {
		t.Errorf("composer %v", v)
	}
	c.Legacy = true
	if err := json.Unmarshal(c.JSON(), &v); err != nil || len(v["conversation"].([]any)) != 1 {
		t.Errorf("legacy composer %v, %v", v, err)
	}
}

// TestGenerateIsDeterministic: one seed, one tree (as counted).
func TestGenerateIsDeterministic(t *testing.T) {
	var counts [2]string
	for i := range counts {
		sum, err := Generate(filepath.Join(t.TempDir(), "same"), Options{TotalBytes: 512 << 10, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Count(sum.Layout)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != sum.Sessions || sum.Sessions == 0 || sum.Transcripts == 0 || sum.DBBytes == 0 {
			t.Fatalf("summary %+v, counted %d", sum, len(got))
		}
		s := ""
		for _, id := range Sorted(got) {
			e := got[id]
			e.CWD = filepath.Base(e.CWD) // the roots differ
			s += fmt.Sprintf("%s %+v %+v %v %s %d %d %d\n", id, e.Counts, e.Tokens, e.Models, e.CWD, e.Records, e.Malformed, e.Files)
		}
		counts[i] = s
	}
	if counts[0] != counts[1] {
		t.Errorf("two trees from one seed differ:\n%s\n%s", counts[0], counts[1])
	}
}

func TestCountEmpty(t *testing.T) {
	got, err := Count(NewLayout(filepath.Join(t.TempDir(), "none")))
	if err != nil || len(got) != 0 {
		t.Fatalf("Count of nothing: %v, %v", got, err)
	}
}
