#!/usr/bin/env bash
# Check the Helm chart in charts/keycloak-policy-operator.
#
#   scripts/chart.sh sync    copy crds/*.yaml into the chart's crds/ (the repo's crds/ is the one source)
#   scripts/chart.sh check   helm lint --strict (rendering, the values schema and the CRD copies are
#                            tested by test/unit/chart.test.ts)
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

# Rendering, the values schema and the CRD copies are tested in test/unit/chart.test.ts (make unit).
cmd_check() {
  find_helm
  log "helm lint --strict"
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" >/dev/null
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" \
    --set metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,networkPolicy.enabled=true >/dev/null
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" --set webhook.enabled=true >/dev/null
  "$KPO_HELM" lint --strict "$chart" --namespace "$namespace" \
    --set webhook.enabled=true,webhook.certManager.enabled=true >/dev/null
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
