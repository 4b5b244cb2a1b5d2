package copilottest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	opt := Options{TotalBytes: 1 << 20, Seed: 7, CopyFraction: 0.3, BothFraction: 0.5}
	a, b := t.TempDir(), t.TempDir()
	sa, err := Generate(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Paths) != len(sb.Paths) || sa.Bytes != sb.Bytes || sa.Sessions != sb.Sessions || sa.Lines != sb.Lines {
		t.Fatalf("summaries differ: %+v / %+v", sa, sb)
	}
	for i, p := range sa.Paths {
		rel, _ := filepath.Rel(a, p)
		ra, _ := filepath.Rel(b, sb.Paths[i])
		if rel != ra {
			t.Fatalf("path %d: %s / %s", i, rel, ra)
		}
		x, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(sb.Paths[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs", rel)
		}
	}
}

func TestCountFindsEverySession(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 2 << 20, Seed: 8, CopyFraction: 0.5, BothFraction: 0.5, MalformedFraction: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Count(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != sum.Sessions {
		t.Fatalf("Count found %d sessions, Generate wrote %d", len(got), sum.Sessions)
	}
	var malformed, records int64
	cwds := 0
	for _, e := range got {
		malformed += e.Malformed
		records += e.Records
		if e.CWD != "" {
			cwds++
		}
	}
	if malformed == 0 || records == 0 || cwds == 0 {
		t.Errorf("records %d, malformed %d, sessions with a cwd %d", records, malformed, cwds)
	}
}

func TestCountChatLogIncomplete(t *testing.T) {
	for _, data := range []string{"", "\n\n", `{"kind":0,"v":{}}`} {
		if _, err := CountChatLog([]byte(data)); err != ErrIncomplete {
			t.Errorf("CountChatLog(%q) err = %v", data, err)
		}
	}
}

// TestGenerateEmitsRealVariants: the shapes real agent files showed are in
// every default corpus, so the corpus and crash tests cover them.
func TestGenerateEmitsRealVariants(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{TotalBytes: 2 << 20, Seed: 1, CLIFraction: 0.8, HistoryFraction: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]*regexp.Regexp{
		"result.usage in a request":                        regexp.MustCompile(`"result":\{[^\n]*"usage":\{"completionTokens":\d+,"promptTokens":\d+`),
		"result.usage set by a later patch":                regexp.MustCompile(`"k":\["requests",\d+,"result","usage"\]`),
		"modelMetrics with a request count":                regexp.MustCompile(`"modelMetrics":\{"[^"]+":\{"requests":\d+\}\}`),
		"tokenDetails in a shutdown":                       regexp.MustCompile(`"tokenDetails":\{"cache_read":\{"tokenCount":\d+\}`),
		"shutdown with request counts alone":               regexp.MustCompile(`"modelMetrics":\{"[^"]+":\{"requests":\{"cost":1,"count":2\}\}\}`),
		"a history document's tool call":                   regexp.MustCompile(`"callId": ?"toolu_[^"]+",\s*"id"`),
		"a history document's chatMessages":                regexp.MustCompile(`"chatMessages": ?\[\s*\{`),
		"tokenDetails without output":                      regexp.MustCompile(`"tokenDetails":\{"cache_read":\{"tokenCount":\d+\},"cache_write":\{"tokenCount":\d+\},"input":\{"tokenCount":\d+\}\}`),
		"usage for one model, a request count for another": regexp.MustCompile(`"modelMetrics":\{[^\n]*"usage"[^\n]*"[^"]+":\{"requests":\{"cost":0,"count":1\}\}|"modelMetrics":\{"[^"]+":\{"requests":\{"cost":0,"count":1\}\},[^\n]*"usage"`),
		"output tokens without the model":                  regexp.MustCompile(`"messageId":"[^"]+","outputTokens":\d+,"toolRequests"`),
		"a resumed run's second shutdown":                  regexp.MustCompile(`(?s)"session\.shutdown".*"session\.resume".*"session\.shutdown"`),
		"a history document not yet a session":             regexp.MustCompile(`^\{"sessionId":"[^"]+","startTime":"[^"]+"\}$`),
	}
	found := map[string]bool{}
	for _, p := range sum.Paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for name, re := range variants {
			if !found[name] && re.Match(b) {
				found[name] = true
			}
		}
	}
	for name := range variants {
		if !found[name] {
			t.Errorf("no file holds %s", name)
		}
	}
}
