package providertest

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Prose is the word-heavy head of every pool's vocabulary, already escaped
// as JSON string content. A pool draws one word in three from Prose alone.
var Prose = strings.Fields(`
the a to of and in is it that for on with as this be are we by or not from at an
function return error value file line test build run update check change module
package import struct interface method type string int64 bytes buffer offset parse
session token usage model assistant user request response stream cache result
implement
`)

// poolSize is the length of a pool's text.
const poolSize = 1 << 20

// Pool is a long run of words separated by spaces, built lazily from a fixed
// seed, so that text cut from it is reproducible. Cuts list where each word
// starts, so substrings between cuts never split an escape sequence or a
// UTF-8 sequence. A Pool is safe for concurrent use.
type Pool struct {
	words        []string
	seed1, seed2 uint64

	once sync.Once
	text []byte
	cuts []int
}

// NewPool returns a pool whose vocabulary is Prose followed by more (words
// already escaped as JSON string content), shuffled with the PCG seeds seed1
// and seed2.
func NewPool(seed1, seed2 uint64, more ...string) *Pool {
	return &Pool{words: append(slices.Clip(Prose), more...), seed1: seed1, seed2: seed2}
}

func (p *Pool) load() {
	r := rand.New(rand.NewPCG(p.seed1, p.seed2))
	b := make([]byte, 0, poolSize+64)
	cuts := make([]int, 0, poolSize/4)
	for len(b) < poolSize {
		cuts = append(cuts, len(b))
		w := p.words[r.IntN(len(p.words))]
		if r.IntN(3) == 0 { // prose is word-heavy
			w = p.words[r.IntN(len(Prose))]
		}
		b = append(b, w...)
		b = append(b, ' ')
	}
	p.text, p.cuts = b, cuts
}

// AppendText appends about n bytes of escaped text (JSON string content
// without quotes) taken from the pool at a place r chooses.
func (p *Pool) AppendText(b []byte, r *rand.Rand, n int) []byte {
	p.once.Do(p.load)
	for n > 0 {
		chunk := min(n, poolSize/2)
		start := p.cuts[r.IntN(len(p.cuts)/2)]
		j := sort.SearchInts(p.cuts, start+chunk)
		if j >= len(p.cuts) {
			j = len(p.cuts) - 1
		}
		if p.cuts[j] == start {
			break
		}
		b = append(b, p.text[start:p.cuts[j]]...)
		n -= p.cuts[j] - start
	}
	return b
}
