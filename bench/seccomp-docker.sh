#!/usr/bin/env bash
# Berth's default seccomp profile against dockerd's, call by call: a private berthd and a private
# dockerd (no bridge), the same busybox, and in each a container that tries the calls the two
# profiles may answer differently (bench/seccomp-probe.c, static, bound in read-only). One line
# a call: what it returned under each daemon (-1 EPERM, -38 ENOSYS, other -errno from the
# kernel itself, >= 0 success), default container first, then --cap-add SYS_ADMIN.
# Differences to expect: dockerd 20.10 compiles in an older moby profile (socket open to every
# family), and its runc answers ENOSYS for numbers above the highest one it knows (1000 here:
# runc's stub for calls newer than itself) where crun gives the profile's default, EPERM; 400
# (never assigned on amd64, below the highest) gets the profile's default from both.
#
#   bash bench/seccomp-docker.sh          (x86_64 only: the probe's numbers are amd64's)
# Needs root and gcc.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ "$(uname -m)" = x86_64 ] || { echo "x86_64 only" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
trap remove_all_and_stop EXIT
cc -O2 -Wall -static -o "$WORK/probe" bench/seccomp-probe.c
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); dockerd $(dockerd --version | cut -d' ' -f3-)"
start_berthd --bridge none
start_dockerd
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null

# item=probe argument (amd64 numbers)
calls=(
  "socket(AF_VSOCK)=41:40:1:0"
  "socket(AF_ALG)=41:38:5:0"
  "socket(AF_DECnet)=41:12:2:0"
  "socket(AF_INET)=41:2:1:0"
  "syscall(400)=400"
  "syscall(1000)=1000"
  "mount(bad)=165:0:0:0:0:0"
  "umount2(/nowhere)=166:0:0"
  "unshare(NEWNS)=272:0x20000"
  "setns(-1)=308:-1:0"
  "clone(NEWNS)=clone:0x20000"
  "clone3(NULL)=435:0:0"
  "keyctl(GET_KEYRING_ID)=250:0:-3:0"
  "pivot_root(NULL)=155:0:0"
  "personality(ADDR_NO_RANDOMIZE)=135:0x40000"
  "personality(query)=135:0xffffffff"
  "sethostname(NULL,0)=170:0:0"
  "syslog(SIZE_BUFFER)=103:10:0:0"
  "bpf(-1)=321:-1:0:0"
  "perf_event_open(NULL)=298:0:0:-1:-1:0"
  "fsopen(NULL)=430:0:0"
  "open_tree(-1)=428:-1:0:0"
  "userfaultfd=323:0"
  "get_mempolicy=239:0:0:0:0:0"
  "ptrace(TRACEME-ish PEEK)=101:1:1:0:0"
  "reboot(bad magic)=169:0:0:0:0"
  "io_pgetevents(-1)=333:0:0:0:0:0:0"
  "vmsplice(-1)=278:-1:0:0:0"
)
args=()
for c in "${calls[@]}"; do args+=("${c#*=}"); done
probe() { # socket, extra run flags...
  local sock=$1
  shift
  docker -H "unix://$sock" run --rm --network none -v "$WORK/probe:/probe:ro" "$@" busybox /probe "${args[@]}" | awk '{print $2}'
}
for mode in default SYS_ADMIN; do
  extra=()
  [ $mode = SYS_ADMIN ] && extra=(--cap-add SYS_ADMIN)
  mapfile -t b < <(probe "$BERTH_SOCK" "${extra[@]}")
  mapfile -t d < <(probe "$DOCKERD_SOCK" "${extra[@]}")
  printf '\n%-34s %8s %8s   (%s)\n' call berth dockerd "$mode"
  for i in "${!calls[@]}"; do
    mark=""
    # two successes (a descriptor each, their numbers aside) are the same answer
    [ "${b[$i]}" = "${d[$i]}" ] || [[ "${b[$i]}${d[$i]}" =~ ^[0-9]+$ ]] || mark="  DIFFERS"
    printf '%-34s %8s %8s%s\n' "${calls[$i]%%=*}" "${b[$i]}" "${d[$i]}" "$mark"
  done
done
for s in "$BERTH_SOCK" "$DOCKERD_SOCK"; do
  printf '\n%s: mount -t tmpfs: ' "$(basename "$s" .sock)"
  docker -H "unix://$s" run --rm --network none busybox sh -c 'mount -t tmpfs t /mnt 2>&1 && echo mounted' || true
  printf '%s: unshare -m: ' "$(basename "$s" .sock)"
  docker -H "unix://$s" run --rm --network none busybox sh -c 'unshare -m true 2>&1 && echo ok' || true
  printf '%s: --privileged Seccomp: ' "$(basename "$s" .sock)"
  docker -H "unix://$s" run --rm --network none --privileged busybox grep Seccomp: /proc/self/status 2>&1 | head -1 || true
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
