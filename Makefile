GO ?= go
PKGS := ./...
STATICCHECK_VERSION := v0.8.2
FUZZTIME ?= 10s

.PHONY: all build test lint fmt vet bench fuzz clean

all: fmt vet lint test build

build:
	$(GO) build -o bin/sessiond ./cmd/sessiond

test: vet
	$(GO) test -race -timeout 20m $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# Package benchmarks, then the end-to-end ones on the real binary (corpora
# are generated once into $$SESSIOND_BENCH_DIR, default /tmp/sessiond-bench).
bench:
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v /cmd/sessiond)
	$(GO) test -run '^$$' -bench 'ColdScan|RescanUnchanged' -benchtime 3x ./cmd/sessiond
	$(GO) test -run '^$$' -bench AppendToEvent -benchtime 500x ./cmd/sessiond
	$(GO) test -run '^$$' -bench Idle -benchtime 1x ./cmd/sessiond

# Every Fuzz target in the tree for $(FUZZTIME) each (go test fuzzes one
# target per invocation); targets are found in the _test.go files.
fuzz:
	@grep -r --include='*_test.go' --exclude-dir=testdata -o '^func Fuzz[A-Za-z0-9_]*' . | sort -u | \
	while IFS=: read -r file fn; do \
		name=$${fn#func }; pkg=$$(dirname "$$file"); \
		echo "$(GO) test -run '^\$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

clean:
	rm -rf bin
