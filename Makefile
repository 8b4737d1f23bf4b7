# Ambient: build, test, demo and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
DOTNET ?= dotnet
OUT := out/bin
CONFIG ?= Release

# Debian packages the tests, demo and benchmarks use (installed idempotently by `make deps`).
DEB_PACKAGES := python3 python3-grpcio python3-protobuf protobuf-compiler curl procps \
	iproute2 iptables nftables util-linux containernetworking-plugins clang-14 \
	golang-go golang-github-appc-cni-dev python3-h2 tcpdump tshark openssl

.PHONY: all build test demo demo-controlplane bench deps clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "make deps: all Debian packages present"; fi

# Each program is published into out/<name>/ (their dependency sets differ) and linked from out/bin/.
PROGRAMS := controlplane/Ambient.ControlPlane:ambient-controlplane agent/Ambient.Agent:ambient-agent ctl/Ambient.Ctl:ambientctl

build:
	$(DOTNET) build Ambient.sln -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly
	@rm -rf $(OUT) && mkdir -p $(OUT)
	@for p in $(PROGRAMS); do proj=$${p%%:*}; exe=$${p##*:}; \
		$(DOTNET) publish $$proj -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly -o out/$$exe || exit 1; \
		ln -sfn ../$$exe/$$exe $(OUT)/$$exe; done
	$(DOTNET) publish cni/Ambient.Cni -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly -o $(OUT)
	@echo "built: $$(ls $(OUT) | tr '\n' ' ')"

test: deps build
	scripts/run-tests.sh $(CONFIG)

demo: deps build
	scripts/demo.sh

demo-controlplane: deps build
	scripts/demo-controlplane.sh

# Control-plane bench, the data-path/CNI bench (bench/datapath.sh, ~4 min), then the cross-node mTLS bench
# (bench/mtls.sh, ~6.5 min); all run, any failing fails the target.
bench: deps build
	@rc=0; $(DOTNET) run -c Release --project bench/Ambient.Bench -- all || rc=$$?; \
	bench/datapath.sh || rc=$$?; \
	bench/mtls.sh || rc=$$?; exit $$rc

clean:
	rm -rf out artifacts
