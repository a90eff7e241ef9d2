# make test: install what the tests need (when root), check formatting,
# vet, staticcheck, type-check the web app, and run every test with -race.
GO ?= go

.PHONY: test deps lint webcheck gotest run bench

test: deps lint webcheck gotest

deps:
	@scripts/test-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

webcheck:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npx --no-install tsc -p . && node --test test/

gotest:
	$(GO) test -race -count=1 -timeout 30m ./...

run:
	$(GO) run ./cmd/lecturelink

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sfu/...
