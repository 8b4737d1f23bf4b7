#!/usr/bin/env bash
# Builds libcni-driver into $1 (default: ./libcni-driver) with Debian's Go and libcni sources, offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/libcni-driver}
gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/libcni-driver"
cp "$here/main.go" "$gopath/src/libcni-driver/"
GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOCACHE="${GOCACHE:-/tmp/ambient-go-cache}" \
    go build -o "$out" libcni-driver
