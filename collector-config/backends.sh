#!/usr/bin/env bash
# Build (or reuse) the real backends framescope's `backends` tests run against:
#   otelcol-framescope  built with ocb from distribution/manifest.yaml
#   jaeger (v2)         built as a Go tool inside a scratch module
#   prometheus          Debian's package, installed when missing
#
# Prints one line per program:  otelcol=PATH  jaeger=PATH  prometheus=PATH
# Everything built lands in a cache outside the tracked files, keyed by version (and, for
# the Collector, by the manifest's content), so a second run only checks and prints
# (well under a second).  Concurrent runs wait for each other instead of building twice.
#
#   FRAMESCOPE_BACKENDS_CACHE   cache folder (default ~/.cache/framescope-backends)
#   FRAMESCOPE_SKIP_PROMETHEUS  1: do not apt-get install prometheus when it is missing
#
# Needs the Go toolchain (only when something must be built) and network access to the Go
# module proxy; Prometheus comes from apt (root or sudo).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${FRAMESCOPE_BACKENDS_CACHE:-$HOME/.cache/framescope-backends}"
builder_version="v0.165.0"
jaeger_version="v1.76.0"   # the Jaeger v2 binary of release v2.13.0
manifest="$here/distribution/manifest.yaml"

log() { echo "backends.sh: $*" >&2; }
need_go() {
  command -v go >/dev/null && return
  log "the Go toolchain is needed to build the Collector and Jaeger (https://go.dev/doc/install)"
  exit 1
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # one build at a time; a second run waits and then finds everything built

work=""
cleanup() { [[ -n "$work" ]] && rm -rf "$work"; return 0; }
trap cleanup EXIT
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

manifest_key="$(sha256sum "$manifest" | cut -c1-12)"
otelcol_dir="$cache/otelcol-$builder_version-$manifest_key"
otelcol="$otelcol_dir/otelcol-framescope"
if [[ ! -x "$otelcol" ]]; then
  need_go
  log "building otelcol-framescope ($builder_version, manifest $manifest_key) into $otelcol_dir"
  mkdir -p "$cache/bin"
  builder="$cache/bin/builder-$builder_version"
  if [[ ! -x "$builder" ]]; then
    work="$(mktemp -d "$cache/builder-install.XXXXXX")"
    GOBIN="$work" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
    mv "$work/builder" "$builder"
    rm -rf "$work"; work=""
  fi
  work="$(mktemp -d "$cache/otelcol-build.XXXXXX")"
  sed "s#output_path: ./_build#output_path: $work/out#" "$manifest" > "$work/manifest.yaml"
  "$builder" --config "$work/manifest.yaml" >&2
  mkdir -p "$otelcol_dir" && mv "$work/out/otelcol-framescope" "$otelcol.tmp" && mv "$otelcol.tmp" "$otelcol"
  rm -rf "$work"; work=""
fi

jaeger_dir="$cache/jaeger-$jaeger_version"
jaeger="$jaeger_dir/jaeger"
if [[ ! -x "$jaeger" ]]; then
  need_go
  log "building jaeger $jaeger_version into $jaeger_dir"
  work="$(mktemp -d "$cache/jaeger-build.XXXXXX")"
  (
    cd "$work"
    go mod init framescope.local/jaeger-tool >/dev/null 2>&1
    go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$jaeger_version" >&2
    go build -o "$work/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger >&2
  )
  mkdir -p "$jaeger_dir" && mv "$work/jaeger" "$jaeger.tmp" && mv "$jaeger.tmp" "$jaeger"
  rm -rf "$work"; work=""
fi

prometheus="$(command -v prometheus || true)"
if [[ -z "$prometheus" && "${FRAMESCOPE_SKIP_PROMETHEUS:-0}" != "1" ]]; then
  log "installing prometheus from Debian's packages"
  sudo_cmd=""; [[ "$(id -u)" != 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends prometheus >&2
  # The package may start a system service on :9090; the tests run their own instances on
  # free ports, so stop it (harmless where there is no service manager).
  { $sudo_cmd systemctl stop prometheus || $sudo_cmd service prometheus stop || true; } >/dev/null 2>&1
  prometheus="$(command -v prometheus || true)"
fi
[[ -n "$prometheus" ]] || { log "prometheus is missing (apt-get install prometheus)"; exit 1; }

echo "otelcol=$otelcol"
echo "jaeger=$jaeger"
echo "prometheus=$prometheus"
