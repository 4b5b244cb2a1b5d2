package claudetest

import (
	"math/rand/v2"
	"strings"

	"github.com/sessiond/sessiond/providers/providertest"
)

// pool is the text generated transcripts are cut from: providertest.Prose
// followed by code, paths, escapes and non-ASCII text (already escaped as
// JSON string content), so that scanning them exercises every path of a
// JSON string scanner.
var pool = providertest.NewPool(1, 2, strings.Fields(`
refactor handler config daemon watcher provider parser delta claim store
func err nil if else for range switch case default go defer make append len cap
:= != == && || <= >= -> => {} () [] ; , . : ? ! # $ % * + - / = @ ^ _ | ~
\n \n \n\n \t \n\t\t \"quoted\" \\ \\n C:\\Users\\dev \"key\": \u001b[0m \u00e9
fmt.Println(\"hello\") os.ReadFile(path) return\tnil,\terr }
naïve café résumé Größe 日本語 テスト 中文 한국어 Ωμέγα Привет 🚀 ✅ ⚠️ 🙂 ∑ → ≤ ≥
/home/dev/shop/app.py ./src/main.go internal/server.go README.md package.json
<div> </div> &amp; &lt;T&gt; https://example.com/docs?q=1&x=2 SELECT * FROM users;
`)...)

// appendText appends about n bytes of escaped text (JSON string content
// without quotes) taken from the pool at a random place.
func appendText(b []byte, r *rand.Rand, n int) []byte { return pool.AppendText(b, r, n) }
