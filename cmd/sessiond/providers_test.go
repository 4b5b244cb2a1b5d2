package main

import (
	"slices"
	"testing"

	"github.com/sessiond/sessiond/config"
)

// Every provider of the build can be named in the config, and only those.
func TestProvidersMatchConfig(t *testing.T) {
	var ids []string
	for _, p := range allProviders() {
		ids = append(ids, string(p.ID()))
	}
	slices.Sort(ids)
	known := slices.Clone(config.KnownProviders)
	slices.Sort(known)
	if !slices.Equal(ids, known) {
		t.Fatalf("providers %v, config knows %v", ids, known)
	}
}
