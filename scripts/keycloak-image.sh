#!/usr/bin/env bash
# The Keycloak image a managed KeycloakInstance runs on the test node, built without a Docker daemon
# from the same Maven Central distribution the other tests use (images cannot be pulled here):
#
#   kpo.local/keycloak:<KEYCLOAK_VERSION>   $KPO_CACHE_DIR/images/managed/keycloak.tar
#
# (in a subdirectory, so the node does not import it at every start: the e2e test of managed
# instances imports it itself).
#
# Like the official image it is pre-built (`kc.sh build`) for what the operator renders — PostgreSQL,
# health and metrics on the management port, the distributed (ispn) cache — so pods start with
# `start --optimized`; runs as uid 1000 (group 0) from /opt/keycloak, and /opt/keycloak/data and
# /tmp are the only paths it writes (the operator mounts emptyDirs there, the root file system stays
# read-only). The Java runtime is a jlink image of the host's JDK 17 with every module (Keycloak
# loads some reflectively), its shared libraries as ldd resolves them, and busybox-static for the
# POSIX shell and tools kc.sh uses.
#
# Idempotent: rebuilt only when the archive is missing or its inputs changed (this script,
# tools.versions, scripts/lib/oci.sh, the JDK; recorded by hash next to the archive). Needs
# scripts/tools.sh to have fetched Keycloak (it calls this script).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools.versions
source "$repo_root/tools.versions"
# shellcheck source=lib/oci.sh
source "$repo_root/scripts/lib/oci.sh"

cache_dir=${KPO_CACHE_DIR:-$HOME/.cache/kpo}
images_dir="$cache_dir/images"
dist="$cache_dir/tools/keycloak-$KEYCLOAK_VERSION"
out="$images_dir/managed/keycloak.tar"
ref="kpo.local/keycloak:$KEYCLOAK_VERSION"
jdk=${KPO_KEYCLOAK_IMAGE_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}
log() { printf '[keycloak-image] %s\n' "$*" >&2; }

[ -x "$dist/bin/kc.sh" ] || { log "$dist is missing: run scripts/tools.sh"; exit 1; }
# What the image is made of, by content (a fresh clone's files are all new, so mtimes say nothing).
inputs=$(cat "${BASH_SOURCE[0]}" "$repo_root/tools.versions" "$repo_root/scripts/lib/oci.sh" "$jdk/release" |
  sha256sum | cut -c1-16)
if [ -f "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null)" = "$inputs" ]; then exit 0; fi
[ -d "$jdk/jmods" ] || { log "$jdk/jmods is missing (Debian: openjdk-17-jmods); set KPO_KEYCLOAK_IMAGE_JDK"; exit 1; }
[ -x /bin/busybox ] || { log "/bin/busybox is missing: scripts/tools.sh --debian installs busybox-static"; exit 1; }

start=$SECONDS
mkdir -p "$images_dir/managed"
work=$(mktemp -d "$images_dir/.build-keycloak.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/opt"
chmod 1777 "$rootfs/tmp"

log "Java runtime (jlink of $jdk, all modules)"
"$jdk/bin/jlink" --module-path "$jdk/jmods" --add-modules ALL-MODULE-PATH --strip-debug \
  --no-man-pages --no-header-files --compress=2 --output "$rootfs/opt/java" >/dev/null 2>&1
for so in "$rootfs/opt/java/bin/java" "$rootfs"/opt/java/lib/*.so "$rootfs"/opt/java/lib/server/*.so; do
  ldd "$so" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
  case $lib in "$rootfs"/*) continue ;; esac
  # The path as the loader looks it up, with the file's content.
  [ -e "$rootfs$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
done

cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nkeycloak:x:1000:0:keycloak:/opt/keycloak:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

log "Keycloak $KEYCLOAK_VERSION (kc.sh build --db=postgres --health-enabled=true --metrics-enabled=true)"
cp -r "$dist" "$rootfs/opt/keycloak"
rm -rf "$rootfs/opt/keycloak/data"
JAVA_HOME="$rootfs/opt/java" "$rootfs/opt/keycloak/bin/kc.sh" build --db=postgres --cache=ispn \
  --health-enabled=true --metrics-enabled=true >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; log "kc.sh build failed"; exit 1; }
mkdir -p "$rootfs/opt/keycloak/data"
if [ "$(id -u)" -eq 0 ]; then chown -R 1000:0 "$rootfs/opt/keycloak"; fi

oci_archive "$rootfs" "$ref" "$work/image.tar" --user 1000:0 --workdir /opt/keycloak \
  --env PATH=/opt/java/bin:/bin --env JAVA_HOME=/opt/java --env KC_RUN_IN_CONTAINER=true \
  --entrypoint /opt/keycloak/bin/kc.sh --expose 8080/tcp --expose 8443/tcp --expose 9000/tcp \
  --label "org.opencontainers.image.version=$KEYCLOAK_VERSION"
mv "$work/image.tar" "$out"
printf '%s\n' "$inputs" >"$out.inputs"
log "built $ref in $((SECONDS - start))s ($(du -m "$out" | cut -f1) MiB): $out"
