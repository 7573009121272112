#!/usr/bin/env bash
# The daemon-wide side of `docker` against a private dockerd and a private berthd, command by
# command (as bench/compat-images.sh does for images): events and their JSON, stats, info,
# version, system df/prune, login/logout, search, context, plugin, swarm, checkpoint. Each
# command runs through the real docker CLI against each daemon, outputs compared after IDs,
# times, sizes, host-specific figures and the daemons' names are normalised. Prints SAME or
# DIFF and the diff for each command, then the counts. Differences expected and left: see
# docs/benchmarks.md, "The daemon-wide commands against dockerd 20.10".
#
#   bash bench/compat-system.sh              (all commands)
#   ONLY='^docker info' bash bench/compat-system.sh
#   KEEP=/tmp/cmpsys-x bash bench/compat-system.sh   (daemons left running there for reruns)
# Needs root and Debian's docker.io (dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
pids=()
if [ -n "${KEEP:-}" ] && [ -S "$KEEP/berth.sock" ]; then
  WORK=$KEEP
else
  WORK=${KEEP:-$(mktemp -d /tmp/cmpsys-XXXXXX)}
  mkdir -p "$WORK"
fi
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
[ -z "${KEEP:-}" ] && trap remove_all_and_stop EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); dockerd $(dockerd --version | cut -d' ' -f3-)"
if [ ! -S "$BERTH_SOCK" ]; then
  BERTHD_ARGS="--warm-pool 0 --cri=false" start_berthd --bridge none
  start_dockerd
  [ -n "${KEEP:-}" ] && echo "${pids[*]}" >"$WORK/pids"
  busybox_into "$DOCKERD_SOCK"
fi

# One command a line, run by bash in $WORK/$S with DOCKER_HOST set, $S the daemon (d or b),
# HOME and DOCKER_CONFIG private to the daemon. `ev` prints the events since the line began.
commands=$(
  cat <<'LIST'
docker version --format '{{json .Server.Components}}' | sed 's/,"Details"/\n/g' | cut -c1-40
docker version --format '{{.Server.Os}} {{.Server.Arch}} {{.Server.MinAPIVersion}} {{.Server.Experimental}} {{if .Server.GitCommit}}commit{{end}} {{if .Server.GoVersion}}go{{end}} {{if .Server.BuildTime}}built{{end}}'
docker version | sed -n '/^Server/,$p' | cut -d: -f1
docker info --format '{{json .}}' | tr ',' '\n' | sed 's/:.*//' | sort
docker info | sed 's/:.*//'
docker info --format '{{.Driver}}|{{.CgroupDriver}}|{{.CgroupVersion}}|{{.OSType}}|{{.Architecture}}|{{.NCPU}}|{{.DefaultRuntime}}|{{.LiveRestoreEnabled}}|{{.Debug}}|{{.ExperimentalBuild}}|{{json .SecurityOptions}}|{{.IndexServerAddress}}|{{json .RegistryConfig.InsecureRegistryCIDRs}}|{{.KernelVersion}}|{{.OperatingSystem}}|{{.MemTotal}}|{{.Isolation}}|{{.InitBinary}}'
docker info --format '{{json .Warnings}}'
docker info --format '{{json .Plugins}}'
docker info --format '{{json .Swarm}}'
docker info --format '{{json .Runtimes}}' | tr ',' '\n' | sed 's/:.*//'
ev0; docker run --name e1 busybox true; docker rm e1 >/dev/null; ev
ev0; docker create --name e2 --label l=1 busybox sleep 30 >/dev/null; docker start e2 >/dev/null; docker exec e2 true; docker rename e2 e3; docker update --cpu-shares 512 e3 >/dev/null; docker kill e3 >/dev/null; docker rm e3 >/dev/null; ev
ev0; docker run -d --name e4 busybox sleep 30 >/dev/null; docker stop -t 1 e4 >/dev/null; docker commit e4 t/e4 >/dev/null; docker rm e4 >/dev/null; ev
ev0; docker run --name e5 --health-cmd true --health-interval 1s -d busybox sleep 30 >/dev/null; sleep 3; docker rm -f e5 >/dev/null; ev | grep health
ev0; docker run --name e6 -m 8m busybox sh -c 'x=a; while true; do x=$x$x$x$x; done' >/dev/null 2>&1; docker rm e6 >/dev/null; ev | grep -E 'oom|die'
ev0; docker tag busybox t/tag; docker rmi t/tag >/dev/null; docker save t/e4 -o ../s.tar; docker rmi t/e4 >/dev/null; docker load -i ../s.tar >/dev/null; docker import ../s.tar t/imp >/dev/null 2>&1; ev
ev0; docker network create n1 >/dev/null; docker create --name e7 busybox >/dev/null; docker network connect n1 e7; docker network disconnect n1 e7; docker network rm n1 >/dev/null; docker rm e7 >/dev/null; ev
ev0; docker volume create v1 >/dev/null; docker run --rm --name erm -v v1:/v busybox true; docker volume rm v1 >/dev/null; ev
ev0; docker run -d --name e8 busybox sleep 30 >/dev/null; docker attach --no-stdin e8 & sleep 1; docker rm -f e8 >/dev/null; wait; ev
ev0; docker run --name e9 busybox true; docker rm e9 >/dev/null; docker volume create v2 >/dev/null; docker volume rm v2 >/dev/null; for f in type=volume event=die container=e9 image=busybox volume=v2 label=none=1 type=container,event=start; do echo "-- $f"; docker events --since $T --until $(date +%s) --filter ${f%%,*} ${f#*,} --format '{{.Type}} {{.Action}}' 2>&1 | grep -v '^$'; done
docker events --filter bogus=1 --until 1
docker events --filter type=bogus --until 1
docker events --filter event=bogus --until 1
docker events --since nope --until 1
docker events --since 10m --until 5m
docker events --since 2h --until 1h; docker events --since 2020-01-01T00:00:00Z --until 2020-01-02T00:00:00Z; docker events --since 1600000000 --until 1600000001.5
docker events --since 5 --until 1
docker run -d --name st1 busybox sleep 30 >/dev/null; docker stats --no-stream st1 | sed 's/  */ /g;s/[0-9.]*%/P%/g;s/[0-9.]*[KMG]i\?B/SZ/g'; docker rm -f st1 >/dev/null
docker run -d --name st2 busybox sleep 30 >/dev/null; docker stats --no-stream --format '{{.Name}} {{.Container}} {{.PIDs}} {{json .}}' st2 | sed -E 's/"[^"]*":"[^"]*"/"K":"V"/g'; docker stats --no-stream --format json st2 | tr ',' '\n' | sed 's/:.*//'; docker rm -f st2 >/dev/null
docker run -d --name st3 busybox sleep 30 >/dev/null; curl -s --unix-socket $SOCK "http://x/containers/st3/stats?stream=false" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print(k, sorted(v) if isinstance(v,dict) else type(v).__name__) for k,v in sorted(d.items())]; [print("cpu", k, sorted(v) if isinstance(v,dict) else type(v).__name__) for k,v in sorted(d["cpu_stats"].items())]; print("mem", sorted(d["memory_stats"].get("stats",{})))'; docker rm -f st3 >/dev/null
docker run -d --name st4 busybox sleep 30 >/dev/null; curl -s --unix-socket $SOCK "http://x/containers/st4/stats?stream=false" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["read"][:2], d["preread"][:2], d["num_procs"], d["pids_stats"], d["cpu_stats"]["online_cpus"], d.get("networks"), sorted(d["blkio_stats"]), d["name"], d["precpu_stats"].get("system_cpu_usage", 0) > 0)'; docker rm -f st4 >/dev/null
docker stats --no-stream nope
docker stats --no-stream
docker system df
docker system df -v
docker run --name df1 -v dfv:/v busybox true; docker system df -v | sed 's/  */ /g'; docker rm -v df1 >/dev/null; docker volume rm dfv >/dev/null
docker system prune
docker system prune -a --volumes
docker system prune --filter until=1h
docker system prune --filter label=x=y
docker create --name pr1 busybox >/dev/null; docker network create prn >/dev/null; docker volume create prv >/dev/null; docker system prune -f; docker network ls -q --filter name=prn | wc -l; docker volume ls -q
docker create --name pr2 busybox >/dev/null; docker volume create prv2 >/dev/null; docker tag busybox t/pr; docker system prune -af --volumes | grep -v '^sha256\|^deleted: sha256'; docker volume ls -q; docker images -q | wc -l; docker load -i ../busybox.tar >/dev/null; docker volume rm prv prv2 >/dev/null 2>&1
docker create --name pr3 --label keep=1 busybox >/dev/null; docker system prune -f --filter label=keep=1; docker system prune -f --filter until=1h; docker ps -aq | wc -l; docker rm pr3 >/dev/null
docker system prune -f --filter bogus=1
docker system prune -f --filter until=nope
docker system prune --volumes -f --filter until=1h
docker search busybox
docker login -u u -p p $REG 2>&1; grep -c auth $DOCKER_CONFIG/config.json; docker logout $REG; cat $DOCKER_CONFIG/config.json
docker login -u u -p wrong 127.0.0.1:1 2>&1
docker logout nowhere.example
docker context ls --format '{{.Name}} {{.Current}} {{.Description}}'
docker context inspect --format '{{.Name}} {{json .Endpoints.docker.SkipTLSVerify}}'
docker plugin ls
docker plugin inspect nope
docker swarm join-token worker
docker swarm leave
docker node ls
docker service ls
docker secret ls
docker config ls
docker stack ls
docker checkpoint ls x
docker system events --since 1 --until 2
docker system info --format '{{.Name}}' | wc -l
LIST
)
norm() {
  sed -E -e 's/sha256:[0-9a-f]{64}/sha256:<ID>/g' -e 's/\b[0-9a-f]{64}\b/<ID64>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?( [+-][0-9]{4} [A-Z]+)?/<TIME>/g' \
    -e 's/"time(Nano)?":[0-9]+/"time\1":<T>/g' \
    -e 's/(About )?(an?|[0-9]+) (second|minute|hour|day|week|month|year)s? ago/<AGO>/g' -e 's/Less than a second ago/<AGO>/g' \
    -e 's/[0-9]+(\.[0-9]+)?( )?[kKMG]?i?B\b/<SZ>/g' -e 's/ +/ /g' -e "s#$WORK/[db]/#<WORK>/<S>/#g" -e "s#$WORK#<WORK>#g" -e 's/(dockerd|berth)\.sock/<SOCK>/g' \
    -e 's/127\.0\.0\.1:[0-9]+/<REG>/g'
}
ev0_def='ev0() { T=$(date +%s); }; ev() { sleep 1; docker events --since $T --until $(date +%s) --format "{{json .}}"; }'
read -r REG regpid < <(mkdir -p "$WORK/reg" && start_registry "$WORK/reg")
compat_side() {
  local sock=$DOCKERD_SOCK
  [ "$1" = b ] && sock=$BERTH_SOCK
  mkdir -p "$WORK/$1/cfg"
  cd "$WORK/$1" && S=$1 SOCK=$sock REG=$REG DOCKER_CONFIG=$WORK/$1/cfg DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0 \
    timeout 120 bash -c "$ev0_def; $2"
}
compat_sweep "$commands"
kill "$regpid" 2>/dev/null || true
