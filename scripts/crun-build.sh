#!/usr/bin/env bash
# build/crun: Debian bookworm's own crun (the installed package's source and patches, the same
# version) built without libsystemd, with libseccomp and libcap linked in and its bundled yajl,
# so that it loads one shared library (libc) instead of ten.
#
# Why: crun runs once for every create — each cold start, each warm pool's refill — and Debian's
# binary spends 13–17 ms of CPU before main on loading and relocating libsystemd and what it
# pulls in (libgcrypt, liblzma, libzstd, liblz4, libgpg-error), though Berth drives crun with
# the cgroupfs manager and never asks it for systemd. That start-up is half of a refill's crun,
# and it runs beside the next docker CLI's own start (docs/benchmarks.md, "What a warm run waits
# on in a back-to-back series"). This build starts in about half the CPU (docs/benchmarks.md,
# "crun without libsystemd").
#
# What differs from Debian's binary: no `--systemd-cgroup` (the systemd cgroup manager; Berth
# never passes it) and no crun-side cache of compiled seccomp filters (Debian's build has none
# either: gcrypt is off as there; Berth keeps its own, runtime/seccomp-cache.ts). Same hardening
# (PIE, stack protector, fortify, RELRO and BIND_NOW, as Debian's rules ask).
#
# The source comes through apt (a private apt state with a deb-src line; the machine's sources
# are not touched), checked against Debian's signed index. Best effort: if anything fails, setup
# says so and berthd runs Debian's /usr/bin/crun as before (runtime/executables.ts's crunBinary).
set -uo pipefail
cd "$(dirname "$0")/.."
out=build/crun
version=$(dpkg-query -W -f='${Version}' crun 2>/dev/null) || exit 0
stamp="build/crun.version"
[ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "setup: warning: $1; berthd runs Debian's /usr/bin/crun (its start-up is slower)" >&2
  rm -f "$out" "$stamp"
  exit 0
}
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
. /etc/os-release
echo "deb-src http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm} main" >"$work/sources.list"
echo "deb-src http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm}-updates main" >>"$work/sources.list"
echo "deb-src http://deb.debian.org/debian-security ${VERSION_CODENAME:-bookworm}-security main" >>"$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
echo "setup: building crun $version from Debian's source without libsystemd (build/crun)"
apt-get -qq "${apt_opts[@]}" update >/dev/null 2>&1 || fail "Debian's source lists could not be fetched"
(cd "$work/src" && apt-get -qq "${apt_opts[@]}" source --download-only "crun=$version" >/dev/null 2>&1) ||
  fail "crun $version's source could not be downloaded"
(cd "$work/src" && orig=$(ls crun_*.orig.tar.* | grep -v '\.asc$') && tar xf "$orig" && mkdir debian-files &&
  tar xf crun_*.debian.tar.* -C debian-files) ||
  fail "crun's source could not be unpacked"
tree=$(echo "$work"/src/crun-*/)
if [ -f "$work/src/debian-files/debian/patches/series" ]; then
  while read -r p; do
    case "$p" in '' | '#'*) continue ;; esac
    git -C "$tree" apply "$work/src/debian-files/debian/patches/$p" 2>/dev/null || fail "Debian's patch $p does not apply"
  done <"$work/src/debian-files/debian/patches/series"
fi

# Debian's hardening flags (dpkg-buildflags with hardening=+all), written out: dpkg-dev need not be there.
export CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
export CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2"
export LDFLAGS="-Wl,-z,relro -Wl,-z,now"
cd "$tree" || fail "no source tree"
# gcrypt off as in Debian's build (there it is not installed); CRIU off as Debian's is.
./configure -q --disable-systemd --disable-criu --enable-embedded-yajl --disable-shared \
  ac_cv_search_gcry_check_version=no >"$work/configure.log" 2>&1 || fail "crun's configure failed ($(tail -1 "$work/configure.log"))"
jobs=$(nproc 2>/dev/null || echo 2)
{ make -C libocispec -j"$jobs" && make git-version.h .version && make -j"$jobs" crun; } >"$work/make.log" 2>&1 ||
  fail "crun's build failed ($(grep -m1 -i error "$work/make.log"))"
# The link again, by hand: libtool takes libseccomp and libcap from libcrun.la as shared
# libraries; here they are linked in, leaving libc the only library to load.
objs=$(make -s -f - print-objs <<'EOF' 2>/dev/null
include Makefile
print-objs:
	@echo $(crun_OBJECTS)
EOF
) || fail "crun's objects could not be listed"
gcc $CFLAGS $LDFLAGS -o crun.berth $objs ./.libs/libcrun.a libocispec/yajl/.libs/libyajl.a \
  -Wl,-Bstatic -lseccomp -lcap -Wl,-Bdynamic >>"$work/make.log" 2>&1 || fail "crun's link failed"
strip crun.berth
./crun.berth --version >/dev/null 2>&1 || fail "the crun built does not run"
cd - >/dev/null || exit 0
mkdir -p build
cp "$tree/crun.berth" "$out.tmp" && mv "$out.tmp" "$out" && echo "$version" >"$stamp"
exit 0
