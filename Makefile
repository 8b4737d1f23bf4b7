# Ambient: build, test, demo and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
DOTNET ?= dotnet
OUT := out/bin
CONFIG ?= Release

# Debian packages the tests, demo and benchmarks use (installed idempotently by `make deps`).
DEB_PACKAGES := python3 python3-grpcio python3-protobuf protobuf-compiler curl procps

.PHONY: all build test demo bench deps clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "make deps: all Debian packages present"; fi

build:
	$(DOTNET) build Ambient.sln -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly
	$(DOTNET) publish controlplane/Ambient.ControlPlane -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly -o $(OUT)
	@echo "built: $$(ls $(OUT) | grep -E '^ambient-' | grep -v '\.' | tr '\n' ' ')"

test: deps build
	scripts/run-tests.sh $(CONFIG)

demo: deps build
	scripts/demo.sh

bench: deps build
	$(DOTNET) run -c Release --project bench/Ambient.Bench -- all

clean:
	rm -rf out artifacts
