GO ?= go
PKGS := ./...
STATICCHECK_VERSION := v0.8.2

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

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
