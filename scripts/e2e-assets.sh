#!/usr/bin/env bash
# The Kubernetes control-plane binaries the e2e suite runs, the envtest way: real binaries, on
# loopback, from one pinned release, in a cache folder outside the repository. Beside them, the
# tools the chart tests use: helm, and the CRDs of cert-manager and the Prometheus Operator (to
# validate the chart's Certificates, Issuers and ServiceMonitor).
#
#   scripts/e2e-assets.sh            build what is missing (or reuse the cache); print the folder
#   scripts/e2e-assets.sh --locate [NAME...]
#                                    build nothing; print NAME=PATH per asset (all, or those named),
#                                    exit 1 if any is missing
#   KUBEBUILDER_ASSETS=DIR ...       take binaries from DIR first (e.g. `setup-envtest use -p path`,
#                                    which has etcd, kube-apiserver and kubectl); the rest come from the cache
#
# kube-apiserver, kube-scheduler, kube-controller-manager and kubectl are built from the Go module
# k8s.io/kubernetes through a wrapper go.mod that `replace`s each k8s.io staging module with the
# release of the same patch version (the list is read from kubernetes' own go.mod); etcd from its
# Go module. `-trimpath -ldflags "-s -w"`, plus the version stamps kubernetes' own build sets, so
# `--version` and /version say v1.34.4 instead of v0.0.0-master.
# helm is `go install`ed from its Go module (helm.sh/helm/v4), stamped with its version as helm's
# Makefile does; the CRDs are the YAML files in the Go module github.com/cert-manager/cert-manager
# (deploy/crds) and github.com/prometheus-operator/prometheus-operator (example/), fetched with
# `go mod download`, nothing built.
# Overrides: AML_E2E_K8S_VERSION, AML_E2E_ETCD_VERSION, AML_E2E_HELM_VERSION,
# AML_E2E_CERT_MANAGER_VERSION, AML_E2E_PROMETHEUS_OPERATOR_VERSION, AML_E2E_CACHE.
set -euo pipefail

K8S_VERSION="${AML_E2E_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${AML_E2E_ETCD_VERSION:-v3.5.21}"
HELM_VERSION="${AML_E2E_HELM_VERSION:-v4.3.2}"
CERT_MANAGER_VERSION="${AML_E2E_CERT_MANAGER_VERSION:-v1.21.2}"
PROMETHEUS_OPERATOR_VERSION="${AML_E2E_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
CACHE="${AML_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aml-admission/e2e}"
OUT="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
HELM_OUT="$CACHE/helm-$HELM_VERSION"
CERT_MANAGER_OUT="$CACHE/cert-manager-$CERT_MANAGER_VERSION"
PROMETHEUS_OPERATOR_OUT="$CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
K8S_BINARIES=(kube-apiserver kube-scheduler kube-controller-manager kubectl)
BINARIES=(etcd "${K8S_BINARIES[@]}" helm cert-manager-crds.yaml prometheus-operator-crds.yaml)
# Bump when the way an asset is built changes, so caches built the old way are rebuilt.
RECIPE=2

log() { printf 'e2e-assets: %s\n' "$*" >&2; }

# Each version has its own folder: the control plane's, helm's, each CRD source's.
cached() {
  case "$1" in
    helm) echo "$HELM_OUT/helm" ;;
    cert-manager-crds.yaml) echo "$CERT_MANAGER_OUT/cert-manager-crds.yaml" ;;
    prometheus-operator-crds.yaml) echo "$PROMETHEUS_OPERATOR_OUT/prometheus-operator-crds.yaml" ;;
    *) echo "$OUT/$1" ;;
  esac
}

# Where an asset comes from: KUBEBUILDER_ASSETS when it has it, else the cache (built by this
# recipe: an asset without its stamp is from an older recipe or an interrupted build).
locate() {
  local b="$1" path
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -f "$KUBEBUILDER_ASSETS/$b" ]]; then echo "$KUBEBUILDER_ASSETS/$b"; return 0; fi
  path="$(cached "$b")"
  if [[ -f "$path" && "$(cat "$(dirname "$path")/.$b.recipe" 2>/dev/null)" == "$RECIPE" ]]; then echo "$path"; return 0; fi
  return 1
}

missing() { local b; for b in "${BINARIES[@]}"; do locate "$b" >/dev/null || echo "$b"; done; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" && ! -d "$KUBEBUILDER_ASSETS" ]]; then
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS is not a folder"
  exit 1
fi

if [[ "${1:-}" == "--locate" ]]; then
  shift
  wanted=("$@")
  [[ ${#wanted[@]} -gt 0 ]] || wanted=("${BINARIES[@]}")
  status=0
  for b in "${wanted[@]}"; do
    if [[ " ${BINARIES[*]} " != *" $b "* ]]; then log "unknown asset $b (one of: ${BINARIES[*]})"; exit 2; fi
    if path="$(locate "$b")"; then echo "$b=$path"; else log "$b is missing: run npm run e2e:assets (or set KUBEBUILDER_ASSETS)"; status=1; fi
  done
  exit "$status"
elif [[ -n "${1:-}" ]]; then
  log "usage: $0 [--locate [NAME...]]"
  exit 2
fi

mkdir -p "$OUT"
# One build at a time per cache: a second run waits, then finds the binaries built.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then log "another build holds $CACHE/.lock; waiting"; flock 9; fi

todo=($(missing))
if [[ ${#todo[@]} -eq 0 ]]; then
  from_assets=0
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    for b in "${BINARIES[@]}"; do
      log "$b: $(locate "$b")"
      [[ -x "$KUBEBUILDER_ASSETS/$b" ]] && from_assets=$((from_assets + 1))
    done
  else
    log "reusing $OUT"
  fi
  # The folder of the control-plane binaries (KUBEBUILDER_ASSETS, or the cache when it supplies any).
  if [[ $from_assets -eq ${#BINARIES[@]} ]]; then echo "$KUBEBUILDER_ASSETS"; else echo "$OUT"; fi
  exit 0
fi

command -v go >/dev/null || { log "need ${todo[*]}: install Go (1.24 or newer), or set KUBEBUILDER_ASSETS to a folder that has them"; exit 1; }
WORK="$CACHE/src"
mkdir -p "$WORK/k8s" "$WORK/etcd"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local
started=$SECONDS
wants() { [[ " ${todo[*]} " == *" $1 "* ]]; }
# Writes the binary under a temporary name, then renames it and stamps it with the recipe, so an
# interrupted build never leaves a binary that looks complete.
build() {
  local name="$1" pkg="$2" ldflags="$3"
  log "building $name"
  go build -trimpath -ldflags "-s -w $ldflags" -o "$OUT/$name.tmp" "$pkg"
  stamp "$OUT/$name.tmp" "$OUT/$name"
}
stamp() {
  local tmp="$1" path="$2"
  mv "$tmp" "$path"
  echo "$RECIPE" > "$(dirname "$path")/.$(basename "$path").recipe"
}

k8s_needed=()
for b in "${K8S_BINARIES[@]}"; do wants "$b" && k8s_needed+=("$b"); done
if [[ ${#k8s_needed[@]} -gt 0 ]]; then
  staging_version="v0.${K8S_VERSION#v1.}"
  info="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION")" || { log "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  k8s_mod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' <<<"$info")"
  k8s_info="$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p' <<<"$info")"
  release_time="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$k8s_info")"
  {
    echo "module aml-admission/e2e-assets"
    echo
    grep -m1 '^go ' "$k8s_mod"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$k8s_mod" | while read -r m; do
      echo "	$m => $m $staging_version"
    done
    echo ")"
  } > "$WORK/k8s/go.mod"
  # Imports only, so `go mod tidy` records every package the binaries need.
  cat > "$WORK/k8s/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  # What kubernetes' hack/lib/version.sh stamps; the module carries no git metadata, so no commit.
  major="${K8S_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  version_ldflags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    version_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    version_ldflags+=" -X $pkg.gitTreeState=archive -X $pkg.buildDate=${release_time:-1970-01-01T00:00:00Z}"
  done
  (
    cd "$WORK/k8s"
    log "resolving k8s.io/kubernetes $K8S_VERSION (staging modules at $staging_version)"
    go mod tidy
    for b in "${k8s_needed[@]}"; do build "$b" "k8s.io/kubernetes/cmd/$b" "$version_ldflags"; done
  )
fi

if wants etcd; then
  (
    cd "$WORK/etcd"
    [[ -f go.mod ]] || go mod init aml-admission/e2e-etcd >/dev/null 2>&1
    log "resolving etcd $ETCD_VERSION"
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    build etcd go.etcd.io/etcd/server/v3 ""
  )
fi

if wants helm; then
  # `go install pkg@version` builds from the module's own go.mod, as helm's release does.
  mkdir -p "$HELM_OUT/tmp"
  log "building helm $HELM_VERSION"
  GOBIN="$HELM_OUT/tmp" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  stamp "$HELM_OUT/tmp/helm" "$HELM_OUT/helm"
  rmdir "$HELM_OUT/tmp"
fi

# CRDs from a Go module: `crds MODULE@VERSION OUT FILE...` concatenates the module's FILEs.
crds() {
  local module="$1" out="$2" info dir
  shift 2
  info="$(go mod download -json "$module")" || { log "could not download $module"; exit 1; }
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$info")"
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && cat "$@") > "$out.tmp"
  stamp "$out.tmp" "$out"
}
# The cert-manager.io kinds (Issuer, Certificate, ...); the ACME ones are not used here.
if wants cert-manager-crds.yaml; then
  log "fetching cert-manager $CERT_MANAGER_VERSION's CRDs"
  crds "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" "$(cached cert-manager-crds.yaml)" \
    deploy/crds/cert-manager.io_certificates.yaml deploy/crds/cert-manager.io_certificaterequests.yaml \
    deploy/crds/cert-manager.io_issuers.yaml deploy/crds/cert-manager.io_clusterissuers.yaml
fi
if wants prometheus-operator-crds.yaml; then
  log "fetching the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION's CRDs"
  crds "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" "$(cached prometheus-operator-crds.yaml)" \
    example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
    example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml
fi

left=($(missing))
[[ ${#left[@]} -eq 0 ]] || { log "still missing after the build: ${left[*]}"; exit 1; }
log "built ${todo[*]} in $((SECONDS - started)) s; assets ready in $OUT"
echo "$OUT"
