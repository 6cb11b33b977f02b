#!/usr/bin/env bash
# The test node's own images, as OCI archives in $KPO_CACHE_DIR/images (images cannot be pulled):
#   kpo.local/pause:3.10.1   the sandbox image, build/pause/linux/pause.c of the pinned
#                            k8s.io/kubernetes module compiled statically with gcc
#   kpo.local/busybox:1.35   Debian's busybox-static with its applet links, for test pods
# The node (src/testenv/node.ts) imports every *.tar of that directory at start. Idempotent: an
# archive is rebuilt only when missing or when this script or tools.versions changed since.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools.versions
source "$repo_root/tools.versions"
# shellcheck source=lib/oci.sh
source "$repo_root/scripts/lib/oci.sh"

cache_dir=${KPO_CACHE_DIR:-$HOME/.cache/kpo}
images_dir="$cache_dir/images"
mkdir -p "$images_dir"
log() { printf '[node-images] %s\n' "$*" >&2; }

fresh() { [ -f "$1" ] && [ "$1" -nt "${BASH_SOURCE[0]}" ] && [ "$1" -nt "$repo_root/tools.versions" ]; }

build_pause() {
  local out="$images_dir/pause.tar"
  fresh "$out" && return
  command -v gcc >/dev/null || { log "gcc is required to build the pause image"; exit 1; }
  local src
  src=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/build/pause/linux/pause.c
  [ -f "$src" ] || { log "$src is missing from the module"; exit 1; }
  local work
  work=$(mktemp -d)
  mkdir -p "$work/rootfs"
  gcc -Os -Wall -Werror -static -DVERSION=v3.10.1-kpo -o "$work/rootfs/pause" "$src"
  strip "$work/rootfs/pause"
  oci_archive "$work/rootfs" kpo.local/pause:3.10.1 "$out" --user 65535:65535 --entrypoint /pause
  rm -rf "$work"
  log "built $out"
}

build_busybox() {
  local out="$images_dir/busybox.tar"
  fresh "$out" && return
  [ -x /bin/busybox ] || { log "/bin/busybox is missing: scripts/tools.sh --debian installs busybox-static"; exit 1; }
  local work applet
  work=$(mktemp -d)
  mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root"
  chmod 1777 "$work/rootfs/tmp"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for applet in $("$work/rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$work/rootfs/etc/group"
  oci_archive "$work/rootfs" kpo.local/busybox:1.35 "$out" --env PATH=/bin --cmd /bin/sh
  rm -rf "$work"
  log "built $out"
}

build_pause
build_busybox
