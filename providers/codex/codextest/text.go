package codextest

import (
	"math/rand/v2"
	"strings"

	"github.com/sessiond/sessiond/providers/providertest"
)

// pool is the text generated transcripts are cut from: providertest.Prose
// followed by code, shell output, paths, escapes and non-ASCII text (already
// escaped as JSON string content), so that scanning them exercises every
// path of a JSON scanner.
var pool = providertest.NewPool(3, 4, strings.Fields(`
refactor handler config daemon watcher provider parser delta rollout
func err nil if else for range switch case default go defer make append len cap
:= != == && || <= >= -> => {} () [] ; , . : ? ! # $ % * + - / = @ ^ _ | ~
\n \n \n\n \t \n\t\t \"quoted\" \\ \\n C:\\Users\\dev \"key\": \u001b[0m \u00e9
fmt.Println(\"hello\") os.ReadFile(path) return\tnil,\terr } drwxr-xr-x total 48
naïve café résumé Größe 日本語 テスト 中文 한국어 Ωμέγα Привет 🚀 ✅ ⚠️ 🙂 ∑ → ≤ ≥
/home/dev/shop/app.py ./src/main.go internal/server.go README.md package.json
PASS FAIL ok --- RUN: TestParse (0.01s) Traceback (most recent call last):
<div> </div> &amp; &lt;T&gt; https://example.com/docs?q=1&x=2 SELECT * FROM users;
`)...)

// appendText appends about n bytes of escaped text (JSON string content
// without quotes) taken from the pool at a random place.
func appendText(b []byte, r *rand.Rand, n int) []byte { return pool.AppendText(b, r, n) }

// appendEscaped appends s (JSON string content) escaped once more, so that
// it can sit inside a JSON text that is itself a JSON string's content.
func appendEscaped(b, s []byte) []byte {
	for _, c := range s {
		if c == '\\' || c == '"' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}

// appendBase64ish appends n characters of base64 alphabet (encrypted
// reasoning content).
func appendBase64ish(b []byte, r *rand.Rand, n int) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for range n {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return b
}
