#!/usr/bin/env bash
# Build OCI image archives without a Docker daemon, with umoci (Debian package, tools.versions).
# Source this file, then:
#
#   oci_archive <rootfs-dir> <name:tag> <out.tar> [--user U] [--entrypoint ARG]... [--cmd ARG]...
#               [--env K=V]... [--workdir DIR] [--label K=V]... [--expose PORT/PROTO]...
#
# The whole rootfs-dir becomes one layer of a linux/<host arch> image named <name:tag> (use a full
# reference such as kpo.local/busybox:1.35). The archive is an OCI image layout in a tar, as
# `ctr -n k8s.io images import` reads it; the name is recorded in index.json, so importing needs no
# --base-name. The file is replaced atomically, so a half-built archive is never imported.
oci_archive() {
  local rootfs=$1 ref=$2 out=$3
  shift 3
  local config=()
  while [ $# -gt 0 ]; do
    case $1 in
      --user) config+=(--config.user "$2") ;;
      --entrypoint) config+=(--config.entrypoint "$2") ;;
      --cmd) config+=(--config.cmd "$2") ;;
      --env) config+=(--config.env "$2") ;;
      --workdir) config+=(--config.workingdir "$2") ;;
      --label) config+=(--config.label "$2") ;;
      --expose) config+=(--config.exposedports "$2") ;;
      *) echo "oci_archive: unknown option $1" >&2; return 2 ;;
    esac
    shift 2
  done
  [ -d "$rootfs" ] || { echo "oci_archive: $rootfs is not a directory" >&2; return 2; }
  command -v umoci >/dev/null || { echo "oci_archive: umoci is missing (scripts/tools.sh)" >&2; return 1; }
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/oci-archive.XXXXXX")
  (
    set -e
    umoci init --layout "$work/layout"
    umoci new --image "$work/layout:$ref"
    umoci insert --image "$work/layout:$ref" "$rootfs" /
    if [ ${#config[@]} -gt 0 ]; then
      umoci config --no-history --image "$work/layout:$ref" "${config[@]}"
    fi
    umoci gc --layout "$work/layout"
    mkdir -p "$(dirname "$out")"
    tar -C "$work/layout" -cf "$out.tmp" .
    mv "$out.tmp" "$out"
  )
  local rc=$?
  rm -rf "$work"
  return $rc
}
