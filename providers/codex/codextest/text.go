package codextest

import (
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
)

// words are the pieces generated text is made of, already escaped as JSON
// string content: prose, code, shell output, paths, escapes and non-ASCII
// text, so that scanning them exercises every path of a JSON scanner.
var words = strings.Fields(`
the a to of and in is it that for on with as this be are we by or not from at an
function return error value file line test build run update check change module
package import struct interface method type string int64 bytes buffer offset parse
session token usage model assistant user request response stream cache result
implement refactor handler config daemon watcher provider parser delta rollout
func err nil if else for range switch case default go defer make append len cap
:= != == && || <= >= -> => {} () [] ; , . : ? ! # $ % * + - / = @ ^ _ | ~
\n \n \n\n \t \n\t\t \"quoted\" \\ \\n C:\\Users\\dev \"key\": \u001b[0m \u00e9
fmt.Println(\"hello\") os.ReadFile(path) return\tnil,\terr } drwxr-xr-x total 48
naïve café résumé Größe 日本語 テスト 中文 한국어 Ωμέγα Привет 🚀 ✅ ⚠️ 🙂 ∑ → ≤ ≥
/home/dev/shop/app.py ./src/main.go internal/server.go README.md package.json
PASS FAIL ok --- RUN: TestParse (0.01s) Traceback (most recent call last):
<div> </div> &amp; &lt;T&gt; https://example.com/docs?q=1&x=2 SELECT * FROM users;
`)

// pool is a long run of words separated by spaces; cuts lists where each
// word starts, so substrings between cuts never split an escape sequence or
// a UTF-8 sequence.
var pool struct {
	once sync.Once
	text []byte
	cuts []int
}

const poolSize = 1 << 20

func loadPool() {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 0, poolSize+64)
	cuts := make([]int, 0, poolSize/4)
	for len(b) < poolSize {
		cuts = append(cuts, len(b))
		w := words[r.IntN(len(words))]
		if r.IntN(3) == 0 { // prose is word-heavy
			w = words[r.IntN(60)]
		}
		b = append(b, w...)
		b = append(b, ' ')
	}
	pool.text, pool.cuts = b, cuts
}

// appendText appends about n bytes of escaped text (JSON string content
// without quotes) taken from the pool at a random place.
func appendText(b []byte, r *rand.Rand, n int) []byte {
	pool.once.Do(loadPool)
	for n > 0 {
		chunk := min(n, poolSize/2)
		start := pool.cuts[r.IntN(len(pool.cuts)/2)]
		j := sort.SearchInts(pool.cuts, start+chunk)
		if j >= len(pool.cuts) {
			j = len(pool.cuts) - 1
		}
		if pool.cuts[j] == start {
			break
		}
		b = append(b, pool.text[start:pool.cuts[j]]...)
		n -= pool.cuts[j] - start
	}
	return b
}

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
