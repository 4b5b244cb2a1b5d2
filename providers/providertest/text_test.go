package providertest

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestProseIsSixtyWords(t *testing.T) {
	// The kits' corpora (and the figures their tests pin) depend on the
	// first 60 words being the prose the pools favour.
	if len(Prose) != 60 {
		t.Fatalf("Prose has %d words, want 60", len(Prose))
	}
}

func TestPoolReproducibleAndWhole(t *testing.T) {
	a := NewPool(1, 2, "extra", "日本語")
	b := NewPool(1, 2, "extra", "日本語")
	x := a.AppendText(nil, rand.New(rand.NewPCG(7, 8)), 4000)
	y := b.AppendText(nil, rand.New(rand.NewPCG(7, 8)), 4000)
	if !bytes.Equal(x, y) {
		t.Fatal("two pools with the same seeds gave different text")
	}
	if len(x) < 4000 || len(x) > 4200 {
		t.Errorf("asked for 4000 bytes, got %d", len(x))
	}
	if !utf8.Valid(x) || x[len(x)-1] != ' ' {
		t.Errorf("text is not cut at word boundaries: ends %q", x[max(0, len(x)-20):])
	}
	if got := a.AppendText([]byte("k"), rand.New(rand.NewPCG(7, 8)), 0); string(got) != "k" {
		t.Errorf("AppendText(n=0) = %q, want the input unchanged", got)
	}
	c := NewPool(3, 4).AppendText(nil, rand.New(rand.NewPCG(7, 8)), 4000)
	if bytes.Equal(x, c) {
		t.Error("pools with different seeds gave the same text")
	}
}
