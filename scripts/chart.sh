#!/usr/bin/env bash
# Check the Helm chart in charts/keycloak-policy-operator.
#
#   scripts/chart.sh sync    copy crds/*.yaml into the chart's crds/ (the repo's crds/ is the one source)
#   scripts/chart.sh check   CRD copies identical, helm lint --strict, helm template of notable value
#                            combinations, and typo'd / mistyped values that must be rejected
#
# helm comes from $KPO_HELM, else from `scripts/tools.sh --env`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

chart=charts/keycloak-policy-operator
release=kpo
namespace=kpo-system

log() { printf '[chart] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_helm() {
  if [ -n "${KPO_HELM:-}" ]; then return; fi
  KPO_HELM=$(bash scripts/tools.sh --env | sed -n 's/^KPO_HELM=//p')
  [ -x "$KPO_HELM" ] || die "helm not found at '$KPO_HELM'; run scripts/tools.sh to build it, or set KPO_HELM"
}

cmd_sync() {
  rm -f "$chart"/crds/*.yaml
  cp crds/*.yaml "$chart/crds/"
  log "copied $(ls crds/*.yaml | wc -l) CRDs into $chart/crds"
}

check_crds() {
  local f
  for f in crds/*.yaml; do
    cmp -s "$f" "$chart/crds/$(basename "$f")" || die "$chart/crds/$(basename "$f") differs from $f; run: bash scripts/chart.sh sync"
  done
  for f in "$chart"/crds/*.yaml; do
    [ -f "crds/$(basename "$f")" ] || die "$f has no source in crds/; run: bash scripts/chart.sh sync"
  done
}

# render <name> [helm args...]: helm template must succeed with these values.
render() {
  local name=$1
  shift
  log "helm template: $name"
  "$KPO_HELM" template "$release" "$chart" --namespace "$namespace" "$@" >/dev/null ||
    die "helm template failed for the combination '$name'"
}

# reject <name> <expected message part> [helm args...]: helm template must fail with that message.
reject() {
  local name=$1 expected=$2 out
  shift 2
  log "helm template must reject: $name"
  if out=$("$KPO_HELM" template "$release" "$chart" --namespace "$namespace" "$@" 2>&1); then
    die "'$name' was accepted; the values schema must reject it"
  fi
  grep -qF -- "$expected" <<<"$out" || die "'$name' failed, but not with '$expected': $out"
}

cmd_check() {
  find_helm
  check_crds
  log "helm lint --strict"
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" >/dev/null
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" \
    --set metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,networkPolicy.enabled=true >/dev/null

  render default
  render watchNamespaces --set 'watchNamespaces={team-a,team-b}'
  render "serviceMonitor+prometheusRule" --set metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true
  render networkPolicy --set networkPolicy.enabled=true --set 'networkPolicy.apiServer.cidrs={10.0.0.1/32}'
  render "policyData+single replica" --set replicaCount=1,leaderElection.enabled=false \
    --set-json 'policyData={"kpo":{"quota":{"defaults":{"maxClientsPerNamespace":50}}}}'

  reject "typo at the top level" "additional properties 'replicaCont' not allowed" --set replicaCont=3
  reject "typo in a nested value" "additional properties 'enabeld' not allowed" --set metrics.serviceMonitor.enabeld=true
  reject "wrong type" "replicaCount" --set replicaCount=two
  reject "bad enum" "logLevel" --set operator.logLevel=verbose
  reject "bad namespace name" "watchNamespaces" --set 'watchNamespaces={Team_A}'
  reject "serviceMonitor without its Service" "needs metrics.service.enabled" \
    --set metrics.serviceMonitor.enabled=true,metrics.service.enabled=false
  log "ok"
}

case "${1:-}" in
  sync) cmd_sync ;;
  check) cmd_check ;;
  *)
    echo "usage: $0 sync|check" >&2
    exit 2
    ;;
esac
