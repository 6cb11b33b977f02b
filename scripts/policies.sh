#!/usr/bin/env bash
# Check and build the Rego policies in policies/.
#
#   scripts/policies.sh check          opa fmt (no diff), opa check --strict, opa test with coverage >= 90%
#   scripts/policies.sh build          compile to wasm (entrypoint kpo/decision) into build/policy/
#   scripts/policies.sh capabilities   regenerate policies/capabilities.json (run after an OPA or opa-wasm upgrade)
#   scripts/policies.sh all            check, then build
#
# opa comes from $KPO_OPA, else from `scripts/tools.sh --env`. The build is limited by
# policies/capabilities.json to the builtins @open-policy-agent/opa-wasm can run, so a policy using
# an unsupported builtin (http.send, time.now_ns, crypto.*) fails here and never reaches the operator.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

policy_dir=policies
capabilities=$policy_dir/capabilities.json
# The JSON Schema of the data the policies read: not data itself, so opa must not load it. The
# build ships it in the bundle next to data.json, where the operator checks data and overrides.
data_schema=$policy_dir/data.schema.json
out_dir=build/policy
min_coverage=${KPO_POLICY_MIN_COVERAGE:-90}

log() { printf '[policies] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_opa() {
  if [ -n "${KPO_OPA:-}" ]; then return; fi
  KPO_OPA=$(bash scripts/tools.sh --env | sed -n 's/^KPO_OPA=//p')
  [ -x "$KPO_OPA" ] || die "opa not found at '$KPO_OPA'; run scripts/tools.sh to build it, or set KPO_OPA"
}

cmd_check() {
  log "opa fmt"
  local unformatted
  unformatted=$("$KPO_OPA" fmt -l "$policy_dir")
  [ -z "$unformatted" ] || die "not formatted (run: $KPO_OPA fmt -w $policy_dir): $unformatted"

  log "opa check --strict"
  "$KPO_OPA" check --strict --ignore data.schema.json "$policy_dir"
  # Policies (not tests, which run only under `opa test`) must stay within what opa-wasm can run.
  "$KPO_OPA" check --strict --capabilities "$capabilities" --ignore '*_test.rego' --ignore data.schema.json "$policy_dir"

  log "opa test --coverage"
  local report
  report=$(mktemp)
  trap 'rm -f "$report"' RETURN
  # Run once for readable pass/fail output, once for the coverage report (JSON).
  "$KPO_OPA" test --ignore data.schema.json "$policy_dir" || die "policy tests failed"
  "$KPO_OPA" test --ignore data.schema.json "$policy_dir" --coverage --format json >"$report" || die "policy tests failed"
  node -e '
    const fs = require("node:fs");
    const report = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const min = Number(process.argv[2]);
    // Coverage of the policies only: test files cover themselves and would inflate the figure.
    let covered = 0, notCovered = 0;
    for (const [file, f] of Object.entries(report.files ?? {})) {
      if (file.endsWith("_test.rego")) continue;
      covered += f.covered_lines ?? 0;
      notCovered += f.not_covered_lines ?? 0;
      const missed = [...new Set((f.not_covered ?? []).map((r) => r.start.row === r.end.row ? r.start.row : `${r.start.row}-${r.end.row}`))];
      console.error(`[policies]   ${(f.coverage ?? 0).toFixed(1).padStart(5)}%  ${file}${missed.length ? "  (not covered: lines " + missed.join(", ") + ")" : ""}`);
    }
    const total = covered + notCovered === 0 ? 0 : (100 * covered) / (covered + notCovered);
    console.error(`[policies] coverage of policies ${total.toFixed(2)}% (minimum ${min}%)`);
    if (!(total >= min)) process.exit(1);
  ' "$report" "$min_coverage" || die "coverage below ${min_coverage}%: add tests for the lines listed above"
}

cmd_build() {
  log "opa build -t wasm -e kpo/decision"
  rm -rf "$out_dir"
  mkdir -p "$out_dir/bundle"
  # The revision is a hash of the policy sources and data, so the same policies always build the
  # same revision and the operator can tell a real change from a re-mounted copy.
  local revision
  revision=$(find "$policy_dir" -type f \( -name '*.rego' ! -name '*_test.rego' -o -name 'data.json' \) -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  "$KPO_OPA" build -t wasm -e kpo/decision --capabilities "$capabilities" --revision "$revision" \
    --ignore '*_test.rego' --ignore 'capabilities.json' --ignore 'data.schema.json' \
    "$policy_dir" -o "$out_dir/bundle.tar.gz"
  tar -xzf "$out_dir/bundle.tar.gz" -C "$out_dir/bundle" --no-same-owner --no-same-permissions \
    /.manifest /data.json /policy.wasm 2>/dev/null ||
    tar -xzf "$out_dir/bundle.tar.gz" -C "$out_dir/bundle" --no-same-owner .manifest data.json policy.wasm
  cp "$data_schema" "$out_dir/bundle/data.schema.json"
  chmod 0644 "$out_dir/bundle/.manifest" "$out_dir/bundle/data.json" "$out_dir/bundle/policy.wasm" \
    "$out_dir/bundle/data.schema.json"
  log "built $out_dir/bundle.tar.gz and $out_dir/bundle/ (revision $revision)"
}

cmd_capabilities() {
  local wasm_caps=node_modules/@open-policy-agent/opa-wasm/capabilities.json
  [ -f "$wasm_caps" ] || die "$wasm_caps not found; run npm ci first"
  "$KPO_OPA" capabilities --current | node -e '
    const fs = require("node:fs");
    const opa = JSON.parse(fs.readFileSync(0, "utf8"));
    const sdk = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const supported = new Set(sdk.builtins.map((b) => b.name));
    // Keep OPA'"'"'s own declarations (current signatures) of the builtins the JS SDK can run,
    // natively in wasm or in its JavaScript builtins; everything else is refused at build time.
    const caps = {
      builtins: opa.builtins.filter((b) => supported.has(b.name)),
      future_keywords: opa.future_keywords,
      features: opa.features,
      wasm_abi_versions: sdk.wasm_abi_versions,
    };
    fs.writeFileSync(process.argv[2], JSON.stringify(caps, null, 2) + "\n");
    console.error(`[policies] ${caps.builtins.length} builtins allowed (of ${opa.builtins.length})`);
  ' "$wasm_caps" "$capabilities"
}

find_opa
case "${1:-all}" in
  check) cmd_check ;;
  build) cmd_build ;;
  capabilities) cmd_capabilities ;;
  all) cmd_check && cmd_build ;;
  *) die "unknown command '$1' (use check, build, capabilities or all)" ;;
esac
