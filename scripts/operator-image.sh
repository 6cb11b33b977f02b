#!/usr/bin/env bash
# The operator's image without a Docker daemon: an OCI archive the test node's containerd imports.
#
#   scripts/operator-image.sh          build it when an input changed; print KPO_OPERATOR_IMAGE=<ref>
#                                      and KPO_OPERATOR_IMAGE_ARCHIVE=<path>
#   scripts/operator-image.sh --spec   print what goes into the image, one fact a line (compared with
#                                      the Dockerfile by test/unit/operatorImage.test.ts)
#
# It produces the same contents as `docker build .` (the Dockerfile stays the reference for a Docker
# build): /app holds the operator as one JavaScript file (dist/kpo.mjs, scripts/bundle.ts: the
# sources and their production dependencies, nothing else), package.json, machines/, crds/ and the policy
# bundle (checked and compiled by scripts/policies.sh, as the Dockerfile's policy stage does); Node 20
# is /nodejs/bin/node as in distroless; the same user (65532:65532), working directory, environment,
# entrypoint and command. Only the runtime's origin differs: instead of the distroless base image it is
# the host's node binary with the shared libraries it links (ldd), an /etc/passwd and /etc/group that
# name 65532 "nonroot", the CA bundle and an empty /tmp, which is what distroless carries for Node.
#
# Output: $KPO_CACHE_DIR/images/keycloak-policy-operator-<hash>.tar, tagged
# kpo.local/keycloak-policy-operator:<hash>, where <hash> covers every input (sources, lock file,
# policies, machines, CRDs, the node binary, this script); an unchanged tree is not rebuilt, and older
# archives of the operator are removed so the node imports one. The archive is written by
# scripts/lib/oci.sh (umoci, a Debian package that scripts/tools.sh installs).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source=lib/oci.sh
source scripts/lib/oci.sh

cache_dir=${KPO_CACHE_DIR:-$HOME/.cache/kpo}
images_dir="$cache_dir/images"
name=keycloak-policy-operator
repository=kpo.local/$name

# What the image is; --spec prints these, the build uses them. Paths are relative to the workdir.
workdir=/app
user=65532:65532
node_path=/nodejs/bin/node
# The V8 flag is explained in the Dockerfile.
entrypoint=("$node_path" --optimize-for-size dist/kpo.mjs)
cmd=(run --health-bind-address 0.0.0.0:8081)
env=(NODE_ENV=production KPO_POLICY_BUNDLE=/app/build/policy/bundle)
# The base image's environment, which the Dockerfile inherits from distroless.
base_env=(PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)
exposed=8081/tcp
app_contents=(dist/kpo.mjs package.json machines crds build/policy/bundle)
labels=(
  "org.opencontainers.image.title=keycloak-policy-operator"
  "org.opencontainers.image.description=Kubernetes operator for Keycloak, governed by Rego policies"
  "org.opencontainers.image.licenses=Apache-2.0"
)

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

print_spec() {
  printf 'workdir %s\nuser %s\nexpose %s\n' "$workdir" "$user" "$exposed"
  printf 'entrypoint %s\n' "$(json_array "${entrypoint[@]}")"
  printf 'cmd %s\n' "$(json_array "${cmd[@]}")"
  local item
  for item in "${env[@]}"; do printf 'env %s\n' "$item"; done
  for item in "${labels[@]}"; do printf 'label %s\n' "$item"; done
  for item in "${app_contents[@]}"; do printf 'app %s\n' "$item"; done
  # The runtime is the host's node: its major version must be the Dockerfile's.
  printf 'node-major %s\n' "$(node -p 'process.versions.node.split(".")[0]')"
}

json_array() { node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' "$@"; }

# A hash of everything the image is built from. The node binary is hashed by content: a host upgrade
# of Node rebuilds the image.
input_hash() {
  {
    find src -type f ! -name '*.test.ts' -print0
    find policies machines crds -type f -print0
    printf '%s\0' package.json package-lock.json tsconfig.json tsconfig.build.json tools.versions \
      scripts/operator-image.sh scripts/bundle.ts scripts/policies.sh scripts/lib/oci.sh "$(command -v node)"
  } | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

# The files a dynamically linked binary needs at run time, as ldd resolves them on this host.
shared_libraries() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
}

build_rootfs() {
  local rootfs=$1 app="$1$workdir"
  mkdir -p "$app/build/policy"

  log "the operator as one file (scripts/bundle.ts: esbuild, dependencies included)"
  npx tsx scripts/bundle.ts --outfile "$app/dist/kpo.mjs" >/dev/null

  log "policy bundle (scripts/policies.sh check, build)"
  bash scripts/policies.sh check >/dev/null 2>&1 || die "policy check failed: run 'bash scripts/policies.sh check'"
  bash scripts/policies.sh build 2>/dev/null
  cp -r build/policy/bundle "$app/build/policy/bundle"
  cp package.json "$app/"
  cp -r machines crds "$app/"

  log "Node runtime ($(node --version)) from the host"
  local node_bin lib
  node_bin=$(command -v node)
  install -D -m 0755 "$node_bin" "$rootfs$node_path"
  for lib in $(shared_libraries "$node_bin"); do
    # The path as the loader looks it up (e.g. /lib64/ld-linux-x86-64.so.2), with the file's content.
    install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/home/nonroot" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  if [ "$(id -u)" -eq 0 ]; then chown 65532:65532 "$rootfs/home/nonroot"; fi

  # The same check as the Dockerfile's build stage, here with the image's own runtime.
  (cd "$app" && "$rootfs$node_path" dist/kpo.mjs --help >/dev/null) || die "the built CLI does not start"
}

# The image config the Dockerfile's runtime stage declares, as scripts/lib/oci.sh options.
image_config() {
  local item
  printf '%s\0' --user "$user" --workdir "$workdir" --expose "$exposed"
  for item in "${entrypoint[@]}"; do printf '%s\0' --entrypoint "$item"; done
  for item in "${cmd[@]}"; do printf '%s\0' --cmd "$item"; done
  for item in "${base_env[@]}" "${env[@]}"; do printf '%s\0' --env "$item"; done
  for item in "${labels[@]}"; do printf '%s\0' --label "$item"; done
}

main() {
  if [ "${1:-}" = "--spec" ]; then print_spec; return; fi
  [ $# -eq 0 ] || die "usage: $0 [--spec]"
  command -v umoci >/dev/null || die "umoci not found: install the Debian package (apt-get install umoci) or run scripts/tools.sh"
  mkdir -p "$images_dir"
  # One build at a time per cache (the e2e suite and `make image` may race).
  exec 9>"$images_dir/.$name.lock"
  flock 9

  local hash ref archive
  hash=$(input_hash)
  ref="$repository:$hash"
  archive="$images_dir/$name-$hash.tar"
  if [ -f "$archive" ]; then
    log "up to date: $ref"
  else
    local start=$SECONDS
    stage=$(mktemp -d "$images_dir/.build-$name.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    build_rootfs "$stage/rootfs"
    local config=()
    mapfile -d '' config < <(image_config)
    oci_archive "$stage/rootfs" "$ref" "$stage/image.tar" "${config[@]}"
    find "$images_dir" -maxdepth 1 -name "$name-*.tar" -delete
    mv "$stage/image.tar" "$archive"
    log "built $ref in $((SECONDS - start))s ($(du -m "$archive" | cut -f1) MiB): $archive"
  fi
  printf 'KPO_OPERATOR_IMAGE=%s\nKPO_OPERATOR_IMAGE_ARCHIVE=%s\n' "$ref" "$archive"
}

main "$@"
