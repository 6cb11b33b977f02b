# keycloak-policy-operator — the two commands a newcomer needs:
#   make dev    run the operator against a local control plane + Keycloak with the examples applied
#   make test   install what is missing, lint, then unit, policy, integration and e2e tests
#
# External tools (kube-apiserver, etcd, opa, helm, Keycloak) are pinned in tools.versions and built
# from package registries into $(KPO_CACHE_DIR) (default ~/.cache/kpo) by scripts/tools.sh.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
export npm_config_loglevel ?= error
export npm_config_update_notifier := false

NODE_STAMP := node_modules/.package-lock.json

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NODE_STAMP) ## Install npm dependencies (from package-lock.json)

.PHONY: tools
tools: ## Build/fetch the pinned external tools into the cache (idempotent)
	bash scripts/tools.sh >/dev/null

.PHONY: lint
lint: deps ## Type-check, eslint and prettier
	npx tsc -p tsconfig.json --noEmit
	npx eslint .
	npx prettier --check .

.PHONY: policy-check
policy-check: tools ## opa fmt, opa check --strict, opa test with coverage >= 90%
	bash scripts/policies.sh check

.PHONY: policies
policies: tools ## Build the standard policy bundle (wasm) into build/policy/
	bash scripts/policies.sh build

.PHONY: chart-check
chart-check: tools ## helm lint --strict (rendering and values are tested in make unit)
	bash scripts/chart.sh check

.PHONY: crd-check
crd-check: deps tools ## The CRDs in a real kube-apiserver: schemas accepted, examples stored, every CEL rule and bound refuses what it should
	npx tsx scripts/verify-crds.ts

.PHONY: unit
unit: deps policies ## Unit tests (fakes allowed)
	npx vitest run --project unit

.PHONY: integration
integration: deps tools policies ## Integration tests against a real kube-apiserver + etcd + Keycloak
	npx vitest run --project integration

.PHONY: image
image: deps tools ## The operator's image as an OCI archive in the cache, without Docker (scripts/operator-image.sh)
	bash scripts/operator-image.sh

# The image is built here so that make test proves it builds; the test node imports every archive
# in the cache's images/ when it starts.
.PHONY: e2e
e2e: deps tools policies image ## End-to-end tests on a real single node (kubelet, containerd; needs root)
	npx vitest run --project e2e

.PHONY: dev
dev: deps tools policies ## Local control plane + Keycloak, the operator in the foreground, quickstart applied
	npx tsx scripts/dev.ts

.PHONY: test
test: deps tools lint policy-check policies chart-check crd-check unit integration e2e ## Everything CI runs

.PHONY: clean
clean: ## Remove build output (not the tool cache)
	rm -rf dist build coverage
