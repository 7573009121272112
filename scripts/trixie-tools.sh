#!/usr/bin/env bash
# cosign and a sigstore-enabled skopeo for the signature interop tests (e2e/trust.test.ts), and
# CRIU 4.1 for runc's checkpoints (src/runtime/criu.ts): bookworm's CRIU 3.17 fails on kernels
# from 6.13 (criu#2532). And crun 1.21, built with CRIU (bookworm's 1.8.1 is not, and has no
# `restore`): the e2e test of crun's checkpoints through berth-crun runs it (BERTH_CRUN).
# Debian bookworm has no cosign, and its skopeo 1.9 is built with sigstore disabled ("Debian-local
# change"); trixie ships cosign 2.5, skopeo 1.18 and CRIU 4.1.1. All are fetched from trixie with
# a private apt state (the machine's sources are not touched) and unpacked into build/trixie/:
# cosign is a static binary; skopeo and criu need trixie's glibc, so their wrappers run them
# under trixie's own loader (criu with the host's other libraries, which setup.sh installs).
# Best effort: without network the tests that need these tools say so and skip, and berthd
# refuses runc's checkpoints with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
out=build/trixie
[ -x "$out/cosign" ] && [ -x "$out/skopeo" ] && [ -x "$out/criu" ] && [ -x "$out/crun" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo 'deb http://deb.debian.org/debian trixie main' >"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
echo "setup: fetching cosign, skopeo and CRIU from Debian trixie (signature interop tests, checkpoints)"
if ! apt-get -qq "${apt_opts[@]}" update >/dev/null 2>&1; then
  echo "setup: warning: Debian trixie's package lists could not be fetched; the cosign/skopeo interop tests will skip" >&2
  exit 0
fi
pkgs=(cosign skopeo criu libcompel1 libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0
  crun libcriu2 libyajl2 libseccomp2 libcap2 libsystemd0)
if ! (cd "$work/debs" && apt-get -qq "${apt_opts[@]}" download "${pkgs[@]}" >/dev/null 2>&1); then
  echo "setup: warning: could not download ${pkgs[*]} from trixie; the cosign/skopeo interop tests will skip" >&2
  exit 0
fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp/root"
for d in "$work"/debs/*.deb; do dpkg -x "$d" "$out.tmp/root"; done
cp "$out.tmp/root/usr/bin/cosign" "$out.tmp/cosign"
cat >"$out.tmp/skopeo" <<'WRAP'
#!/bin/sh
# trixie's skopeo under trixie's glibc (see scripts/trixie-tools.sh)
root="$(dirname "$(readlink -f "$0")")/root"
exec "$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/skopeo" "$@"
WRAP
cat >"$out.tmp/criu" <<'WRAP'
#!/bin/sh
# trixie's CRIU 4.1 under trixie's glibc, its other libraries the host's (see scripts/trixie-tools.sh).
# CRIU_FAULT=130: no hardware breakpoints, which do not fire in these VMs; CRIU steps instead.
root="$(dirname "$(readlink -f "$0")")/root"
export CRIU_FAULT="${CRIU_FAULT-130}"
exec "$root/usr/lib64/ld-linux-x86-64.so.2" \
  --library-path "$root/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" \
  "$root/usr/sbin/criu" "$@"
WRAP
# crun finds libcriu (dlopen) in trixie's libraries, and runs `criu` from PATH: the caller puts
# this directory first in PATH. Not a daemon's default: only the tests that ask for it use it.
# Its root by absolute path: berthd runs a read-only bind of this file elsewhere (crun.ts's sealCrun).
cat >"$out.tmp/crun" <<WRAP
#!/bin/sh
# trixie's crun 1.21 (+CRIU) under trixie's glibc (see scripts/trixie-tools.sh)
root="$PWD/$out/root"
exec "\$root/usr/lib64/ld-linux-x86-64.so.2" \
  --library-path "\$root/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" \
  "\$root/usr/bin/crun" "\$@"
WRAP
chmod +x "$out.tmp/skopeo" "$out.tmp/cosign" "$out.tmp/criu" "$out.tmp/crun"
rm -rf "$out" && mv "$out.tmp" "$out"
"$out/skopeo" --version >/dev/null && "$out/cosign" version >/dev/null 2>&1 ||
  echo "setup: warning: trixie's skopeo or cosign does not run here; the interop tests will skip" >&2
"$out/criu" --version >/dev/null 2>&1 ||
  echo "setup: warning: trixie's criu does not run here; runc's checkpoints will be refused" >&2
exit 0
