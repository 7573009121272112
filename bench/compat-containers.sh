#!/usr/bin/env bash
# The containers side of `docker` against a private dockerd and a private berthd, command by
# command (the lead's sweeps of the tenth and eleventh sessions): create-time refusals and
# warnings, the runtime's error words, the environment, exec, cp, top, ps filters, the cgroup
# files options reach. The same busybox in both (Berth's offline one, saved and loaded into
# dockerd); each command run through the real docker CLI against each daemon, outputs compared
# after IDs and times are normalised. Prints SAME or DIFF and the diff for each, then the counts.
# Differences expected and left (docs/benchmarks.md, "The containers side against dockerd
# 20.10"): where moby 24+ words differ from 20.10's (Berth speaks API 1.45), the runtime error's
# leading "failed to create task for container: " that dockerd 20.10 lacks, and what dockerd's
# runc cannot do on this host (--privileged, --cap-add ALL: "unable to apply caps").
#
#   bash bench/compat-containers.sh
#   ONLY='exec' bash bench/compat-containers.sh
# Needs root and Debian's docker.io (dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
trap remove_all_and_stop EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); dockerd $(dockerd --version | cut -d' ' -f3-)"
BERTHD_ARGS="--cri=false" start_berthd --bridge none
start_dockerd
busybox_into "$DOCKERD_SOCK"
mkdir -p "$WORK/src" && echo a >"$WORK/src/a"

# One command a line, run by bash in $WORK with DOCKER_HOST set and $S the daemon (d or b).
commands=$(
  cat <<'LIST'
docker run --rm -w relative busybox pwd
docker run --rm -w /etc/passwd busybox pwd
docker run --rm --stop-signal SIGBOGUS busybox true
docker run --rm --health-interval 1us --health-cmd true busybox true
docker run --rm --uts host --hostname x busybox true
docker run --rm --cpu-shares -1 busybox true
docker run --rm --oom-score-adj 2000 busybox true
docker run --rm --isolation hyperv busybox true
docker run --rm --memory-reservation 1m busybox true
docker run --rm --memory-swap 10m busybox true
docker run --rm --cap-add bogus busybox true
docker run --rm --security-opt bogus=x busybox true
docker run --rm --network host -p 80:80 busybox true
docker run --rm --oom-kill-disable busybox true
docker run --rm --blkio-weight 300 busybox true
docker run --rm --device-read-bps /dev/no-such-disk:1mb busybox true
docker run --rm --device /dev/nosuch busybox true
docker run --rm --mount type=bogus,dst=/t busybox true
docker run --rm --network none busybox nosuchcmd
docker run --rm --network none busybox /etc
docker run --rm --oom-kill-disable --memory 64m busybox head -1 /sys/fs/cgroup/memory/memory.oom_control
docker run --rm --memory-swappiness 10 --memory 64m busybox cat /sys/fs/cgroup/memory/memory.swappiness
docker run --rm --memory-reservation 64m busybox cat /sys/fs/cgroup/memory/memory.soft_limit_in_bytes
docker run --rm -t -h web -e FOO=1 busybox env
docker run --rm -u 1234 busybox sh -c 'echo $HOME'
docker run --rm busybox stat -c '%a %s' /.dockerenv
docker run -d --name n1 -h n1host --network none busybox sleep 100 >/dev/null; docker run --rm --network container:n1 busybox hostname; docker rm -f n1 >/dev/null
docker run -d --name e1 --network none busybox sleep 100 >/dev/null; echo started
docker exec -u 1000 e1 sh -c 'echo $HOME'
docker exec -u nosuchuser e1 true
docker exec e1 ""
docker exec -t e1 env
docker top e1 bogus-opt
docker cp $WORK/src/a e1:/etc/hostname/
docker pause e1 >/dev/null; docker exec e1 true; docker unpause e1 >/dev/null
docker rm -f e1 >/dev/null; echo removed
docker create --name f1 --pids-limit -1 busybox >/dev/null; docker inspect -f '{{.HostConfig.ShmSize}} {{.HostConfig.PidsLimit}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}' f1; docker rm f1 >/dev/null
docker run -d --name x1 --network none --expose 80 busybox sleep 100 >/dev/null; docker ps --filter expose=80 --format '{{.Names}}'; docker ps --filter is-task=true -q; docker rm -f x1 >/dev/null
LIST
)
norm() {
  sed -E -e 's/[0-9a-f]{64}/<ID64>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)/<TIME>/g' -e "s#$WORK#<WORK>#g"
}
compat_side() {
  local sock=$DOCKERD_SOCK
  [ "$1" = b ] && sock=$BERTH_SOCK
  cd "$WORK" && S=$1 WORK=$WORK DOCKER_HOST=unix://$sock timeout 120 bash -c "$2"
}
compat_sweep "$commands"
