#!/usr/bin/env bash
# The images side of `docker` against a private dockerd and a private berthd, command by
# command: the same busybox in both (Berth's offline one, saved and loaded into dockerd), the
# same build contexts, each command run through the real docker CLI against each daemon (legacy
# builder), outputs compared after IDs, times and sizes are normalised (lists whose order dockerd
# leaves to chance, images created in the same second, are sorted first). Prints SAME or DIFF
# and the diff for each command, then the counts. Differences expected and left (see
# docs/benchmarks.md, "The images side against dockerd 20.10"): Berth's "(Dockerfile:N)" after a
# failed step and "(Dockerfile)" after a parse error, the parse error's "on line" (newer dockerd
# says it too), the wording of a load of something that is not a tar.
#
#   bash bench/compat-images.sh              (all commands)
#   ONLY='^docker images' bash bench/compat-images.sh
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
BERTHD_ARGS="--warm-pool 0 --cri=false" start_berthd --bridge none
start_dockerd
busybox_into "$DOCKERD_SOCK"

# The build contexts, under $WORK/ctx (the commands run there).
C=$WORK/ctx
mkdir -p "$C"/{basic,multi,fail,bad,ign/sub,addtar/d,argctx,hash/d/sub,hash/e}
printf 'FROM busybox\nLABEL org.test=yes\nARG VER=1\nENV A=b\nRUN echo hello $VER > /hello\nCOPY f.txt /f.txt\nWORKDIR /app\nCMD ["cat","/hello"]\n' >"$C/basic/Dockerfile"
echo file >"$C/basic/f.txt"
printf 'FROM busybox AS first\nRUN echo one > /one\nFROM busybox AS second\nCOPY --from=first /one /two\nRUN cat /two\n' >"$C/multi/Dockerfile"
printf "FROM busybox\nRUN echo before\nRUN sh -c 'echo oops >&2; exit 3'\n" >"$C/fail/Dockerfile"
printf 'FROM busybox\nFOOBAR something\n' >"$C/bad/Dockerfile"
printf 'FROM busybox\nCOPY . /ctx\nRUN ls /ctx | sort\n' >"$C/ign/Dockerfile"
echo a >"$C/ign/keep.txt" && echo b >"$C/ign/skip.log" && echo c >"$C/ign/sub/x.log" && printf '*.log\nsub\n' >"$C/ign/.dockerignore"
echo intar >"$C/addtar/d/in.txt" && tar cf "$C/addtar/t.tar" -C "$C/addtar/d" in.txt && gzip -k "$C/addtar/t.tar"
printf 'FROM busybox\nADD t.tar /plain/\nADD t.tar.gz /gz/\nRUN cat /plain/in.txt /gz/in.txt\n' >"$C/addtar/Dockerfile"
printf 'ARG BASE=busybox\nFROM $BASE\nARG WHO=world\nRUN echo hello $WHO\n' >"$C/argctx/Dockerfile"
echo a >"$C/hash/d/a.txt" && echo b >"$C/hash/d/sub/b.sh" && chmod 755 "$C/hash/d/sub/b.sh" && ln -s a.txt "$C/hash/d/link"
echo c >"$C/hash/c.txt" && echo e >"$C/hash/e/e.txt" && chmod 700 "$C/hash/e"
printf 'FROM busybox\nCOPY d /d\nCOPY c.txt d/a.txt /m/\nCOPY *.txt /g/\nADD c.txt /add\nCOPY e /e\n' >"$C/hash/Dockerfile"

# One command a line, run by bash in $C with DOCKER_HOST set and $S the daemon (d or b).
commands=$(
  cat <<'LIST'
docker build -t t/basic basic
docker build -t t/basic basic
docker build --build-arg VER=7 -t t/basic7 basic
docker build --target first -t t/first multi
docker build -t t/multi multi
docker build -t t/fail fail; docker ps -a --format '{{.Status}}'; docker container prune -f >/dev/null
docker build -t t/bad bad
docker build -t t/ign ign
docker build -t t/addtar addtar
docker build --build-arg WHO=me --build-arg NOPE=1 -t t/arg argctx
docker build --label z=last --label 'a=$HOME "q"' --label m -t t/lab argctx; docker image inspect -f '{{json .Config.Labels}}' t/lab
docker build -q -t t/hash hash >/dev/null; docker history --no-trunc --format '{{.CreatedBy}}' t/hash
docker images
docker images -a | sort
docker images --filter dangling=true
docker images --filter label=org.test=yes
docker images --filter reference='t/*'
docker images --filter before=t/basic7
docker images --filter since=t/basic
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
docker history t/basic
docker history --no-trunc t/basic
docker tag busybox t/a && docker tag busybox t/b && docker images -q busybox && docker rmi $(docker images -q busybox)
docker rmi -f $(docker images -q busybox); docker images busybox
docker rmi t/a t/b
docker run --name user1 busybox true; docker rmi busybox; docker rm user1
docker image inspect t/basic --format '{{json .Config}}'
docker save -o ../save-$S.tar t/basic && docker rmi t/basic >/dev/null && docker load -i ../save-$S.tar
docker load -i /etc/hostname
docker run --name c1 busybox sh -c 'echo x > /x'; docker commit -m msg -a me -c 'ENTRYPOINT ["cat"]' -c 'ENV K=v' c1 t/c1 >/dev/null; docker image inspect t/c1 --format '{{json .Config}} {{.Comment}} {{.Author}}'; docker rm c1
docker volume create v1; docker volume create --label a=b v2; docker volume ls; docker volume inspect v2 --format '{{.Name}} {{.Driver}} {{json .Labels}} {{.Scope}}'
docker run --name vu -v v1:/d busybox true; docker volume rm v1; docker rm vu; docker volume rm v1 v2
docker system df
docker image prune -f --filter dangling=false | sort
docker images -a
LIST
)
norm() {
  sed -E -e 's/sha256:[0-9a-f]{64}/sha256:<ID>/g' -e 's/\[[0-9a-f]{64}\]/[<ID64>]/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?( [+-][0-9]{4} [A-Z]+)?/<TIME>/g' \
    -e 's/(About )?(an?|[0-9]+) (second|minute|hour|day|week|month|year)s? ago/<AGO>/g' -e 's/Less than a second ago/<AGO>/g' \
    -e 's/[0-9]+(\.[0-9]+)?( )?[kMG]?B\b/<SZ>/g' -e 's/ +/ /g'
}
compat_side() {
  local sock=$DOCKERD_SOCK
  [ "$1" = b ] && sock=$BERTH_SOCK
  cd "$C" && S=$1 DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0 timeout 120 bash -c "$2"
}
compat_sweep "$commands"
