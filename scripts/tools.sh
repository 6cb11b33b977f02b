#!/usr/bin/env bash
# Provision the pinned external tools (tools.versions) into a cache outside the repository.
#
#   scripts/tools.sh            build/fetch what is missing, print where everything is
#   scripts/tools.sh --env      print shell assignments (KPO_KUBE_APISERVER=... ) for other scripts
#   scripts/tools.sh --debian   install only the pinned Debian packages (apt-get)
#
# Cache: ${KPO_CACHE_DIR:-$HOME/.cache/kpo}. Each tool lands in tools/<name>-<version>/ and is only
# rebuilt when its pinned version changes, so a warm run takes seconds.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools.versions
source "$repo_root/tools.versions"

cache_dir=${KPO_CACHE_DIR:-$HOME/.cache/kpo}
tools_dir="$cache_dir/tools"
mkdir -p "$tools_dir"

log() { printf '[tools] %s\n' "$*" >&2; }

# Run a build step, report its wall time and peak memory (from /usr/bin/time when available).
timed() {
  local what=$1; shift
  local start=$SECONDS
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$tools_dir/.last-rss" "$@"
    log "$what took $((SECONDS - start))s, peak RSS $(( $(cat "$tools_dir/.last-rss") / 1024 )) MiB"
  else
    "$@"
    log "$what took $((SECONDS - start))s"
  fi
}

go_build_env() {
  export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
}

# Build a Go main package from a published module inside a throw-away wrapper module.
#   build_go_tool <name> <version> <module@version> <package> [ldflags] [extra go.mod lines]
build_go_tool() {
  local name=$1 version=$2 module=$3 package=$4 ldflags=${5:-} extra_mod=${6:-}
  local dest="$tools_dir/$name-$version"
  if [ -x "$dest/bin/$name" ]; then return; fi
  log "building $name $version from $module"
  local work
  work=$(mktemp -d "$tools_dir/.build-$name.XXXXXX")
  (
    cd "$work"
    go_build_env
    printf 'module kpo.local/tools/%s\n\ngo 1.24\n\nrequire %s\n%s\n' \
      "$name" "${module/@/ }" "$extra_mod" > go.mod
    go mod download "$module"
    go get "$package@${module#*@}" >/dev/null 2>&1 || go get "$package"
    timed "$name build" go build -pgo=off -trimpath -ldflags "-s -w $ldflags" -o "bin/$name" "$package"
  )
  mkdir -p "$dest/bin"
  mv "$work/bin/$name" "$dest/bin/$name"
  rm -rf "$work"
}

# Build one binary (kube-apiserver, kubelet, kubectl, ...) from the k8s.io/kubernetes module.
#   build_kube <name>    e.g. build_kube kubelet -> cmd/kubelet
build_kube() {
  local v=$KUBERNETES_VERSION name=$1
  local dest="$tools_dir/$name-$v"
  [ -x "$dest/bin/$name" ] && return
  # k8s.io/kubernetes replaces its staging modules with local paths; a consumer must pin each one to
  # the matching published v0.Y.Z. Read the list from the module's own go.mod on the proxy.
  local gomod staging_version replaces
  gomod=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging_version="v0.${v#v1.}"
  replaces=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$gomod")
  local minor=${v#v1.}; minor=${minor%%.*}
  local ldflags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  build_go_tool "$name" "$v" "k8s.io/kubernetes@$v" "k8s.io/kubernetes/cmd/$name" "$ldflags" "$replaces"
}

build_etcd() {
  local v=$ETCD_VERSION name=etcd
  local dest="$tools_dir/$name-$v"
  [ -x "$dest/bin/$name" ] && return
  log "building etcd $v from go.etcd.io/etcd/server/v3"
  local work
  work=$(mktemp -d "$tools_dir/.build-etcd.XXXXXX")
  (
    cd "$work"
    go_build_env
    printf 'module kpo.local/tools/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$v" > go.mod
    # etcd's own binary is a two-line main around etcdmain.Main.
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
    go mod tidy
    timed "etcd build" go build -pgo=off -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${v}" -o bin/etcd .
  )
  mkdir -p "$dest/bin"
  mv "$work/bin/etcd" "$dest/bin/etcd"
  rm -rf "$work"
}

fetch_keycloak() {
  local v=$KEYCLOAK_VERSION
  local dest="$tools_dir/keycloak-$v"
  [ -x "$dest/bin/kc.sh" ] && return
  log "fetching org.keycloak:keycloak-quarkus-dist:$v (tar.gz) from Maven Central"
  local start=$SECONDS work
  work=$(mktemp -d "$tools_dir/.fetch-keycloak.XXXXXX")
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$v:tar.gz" \
    -DoutputDirectory="$work" -Dmdep.overWriteReleases=true
  tar -xzf "$work/keycloak-quarkus-dist-$v.tar.gz" -C "$work"
  rm -rf "$dest"
  mv "$work/keycloak-$v" "$dest"
  rm -rf "$work"
  log "keycloak fetch took $((SECONDS - start))s"
}

# Keycloak re-augments (a ~1 min Quarkus build) whenever build options change, so do it once here:
# an in-memory dev database, a local (non-clustered) cache that opens no network ports, health checks.
# The test environment copies this tree per run and starts it with `start --optimized`.
prepare_keycloak() {
  local v=$KEYCLOAK_VERSION
  local src="$tools_dir/keycloak-$v" dest="$tools_dir/keycloak-$v-optimized"
  [ -f "$dest/.kpo-built" ] && return
  log "pre-building Keycloak $v (kc.sh build --db=dev-mem --cache=local --health-enabled=true)"
  rm -rf "$dest.tmp" && cp -r "$src" "$dest.tmp"
  timed "keycloak build" "$dest.tmp/bin/kc.sh" build --db=dev-mem --cache=local --health-enabled=true >/dev/null
  touch "$dest.tmp/.kpo-built"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

# Debian packages at their pinned version, installed with apt-get only when a different version (or
# none) is there. The package's own configuration is skipped (no system-wide slapd database or
# service): the test environment runs a private slapd with a config of its own (src/testenv/ldap.ts)
# and a private PostgreSQL cluster (src/testenv/postgres.ts),
# and the node its own containerd with a private config (src/testenv/node.ts).
install_debian_packages() {
  local pkg v missing=() wanted=(
    "slapd=$SLAPD_DEBIAN_VERSION" "ldap-utils=$SLAPD_DEBIAN_VERSION"
    "containerd=$CONTAINERD_DEBIAN_VERSION" "runc=$RUNC_DEBIAN_VERSION"
    "containernetworking-plugins=$CNI_PLUGINS_DEBIAN_VERSION" "umoci=$UMOCI_DEBIAN_VERSION"
    "busybox-static=$BUSYBOX_STATIC_DEBIAN_VERSION"
    "postgresql-15=$POSTGRESQL_DEBIAN_VERSION"
  )
  for pkg in "${wanted[@]}"; do
    v=${pkg#*=}
    [ "$(dpkg-query -W -f='${Version}' "${pkg%%=*}" 2>/dev/null || true)" = "$v" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null || { log "apt-get is not usable here; install ${missing[*]} by hand"; exit 1; }
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "installing ${missing[*]} needs root (or sudo)"; exit 1; }
    sudo=(sudo)
  fi
  log "installing Debian packages ${missing[*]}"
  echo "slapd slapd/no_configuration boolean true" | "${sudo[@]}" debconf-set-selections
  # No system-wide "main" cluster (and its service) from postgresql-common either: the tests initdb
  # a private one (src/testenv/postgres.ts).
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    "${sudo[@]}" mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  local apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  apt-cache show "${missing[0]}" >/dev/null 2>&1 || "${apt_get[@]}" update >/dev/null
  timed "apt-get install" "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
}

# The node's pause and busybox images (OCI archives in $cache_dir/images).
build_node_images() {
  KPO_CACHE_DIR=$cache_dir timed "node images" bash "$repo_root/scripts/node-images.sh"
}

print_env() {
  cat <<ENV
KPO_KUBE_APISERVER=$tools_dir/kube-apiserver-$KUBERNETES_VERSION/bin/kube-apiserver
KPO_KUBELET=$tools_dir/kubelet-$KUBERNETES_VERSION/bin/kubelet
KPO_KUBE_CONTROLLER_MANAGER=$tools_dir/kube-controller-manager-$KUBERNETES_VERSION/bin/kube-controller-manager
KPO_KUBE_SCHEDULER=$tools_dir/kube-scheduler-$KUBERNETES_VERSION/bin/kube-scheduler
KPO_KUBECTL=$tools_dir/kubectl-$KUBERNETES_VERSION/bin/kubectl
KPO_IMAGES_DIR=$cache_dir/images
KPO_CONTAINERD=/usr/bin/containerd
KPO_CTR=/usr/bin/ctr
KPO_CNI_BIN_DIR=/usr/lib/cni
KPO_ETCD=$tools_dir/etcd-$ETCD_VERSION/bin/etcd
KPO_OPA=$tools_dir/opa-$OPA_VERSION/bin/opa
KPO_HELM=$tools_dir/helm-$HELM_VERSION/bin/helm
KPO_KEYCLOAK_HOME=$tools_dir/keycloak-$KEYCLOAK_VERSION-optimized
KPO_SLAPD=/usr/sbin/slapd
KPO_SLAPADD=/usr/sbin/slapadd
KPO_LDAPMODIFY=/usr/bin/ldapmodify
KPO_LDAPWHOAMI=/usr/bin/ldapwhoami
KPO_POSTGRES_BIN_DIR=/usr/lib/postgresql/15/bin
ENV
}

main() {
  if [ "${1:-}" = "--env" ]; then print_env; return; fi
  if [ "${1:-}" = "--debian" ]; then install_debian_packages; return; fi
  local start=$SECONDS
  command -v go >/dev/null || { log "go is required (see README)"; exit 1; }
  command -v mvn >/dev/null || { log "mvn is required (see README)"; exit 1; }
  install_debian_packages
  build_go_tool opa "$OPA_VERSION" "github.com/open-policy-agent/opa@$OPA_VERSION" \
    github.com/open-policy-agent/opa "-X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}"
  build_go_tool helm "$HELM_VERSION" "helm.sh/helm/v3@$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  build_etcd
  build_kube kube-apiserver
  # The single test node (src/testenv/node.ts).
  for c in kubelet kube-controller-manager kube-scheduler kubectl; do build_kube "$c"; done
  build_node_images
  fetch_keycloak
  prepare_keycloak
  # The image a managed KeycloakInstance runs on the test node (after the distribution it is made of).
  KPO_CACHE_DIR=$cache_dir timed "keycloak image" bash "$repo_root/scripts/keycloak-image.sh"
  log "all tools ready in $tools_dir ($((SECONDS - start))s)"
  print_env
}

main "$@"
