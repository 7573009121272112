#!/usr/bin/env bash
# The volumes side of `docker` against a private dockerd and a private berthd, command by command:
# volume create/ls/inspect/rm/prune, named and anonymous volumes at run (copy-up, nocopy, ro),
# binds (missing host dirs, relative paths, propagation, files), --mount and --tmpfs with their
# options and refusals, --volumes-from, inspect's Mounts and HostConfig, cp into and out of a
# volume, system df -v, and what the container's own mount table shows. The same busybox in both
# (Berth's offline one, saved and loaded into dockerd); each command run through the real docker
# CLI against each daemon, outputs compared after IDs, times and paths are normalised. Prints SAME
# or DIFF and the diff for each, then the counts. Differences expected and left are in
# docs/benchmarks.md, "The volumes side against dockerd 20.10": API 1.45 against 1.41 (prune's
# anonymous-only default, its --all and until, `volume create` without a name labelled anonymous,
# "invalid filter" in lower case), the runtime's words (crun's against runc's, the
# "failed to create task" prefix), dockerd's shared data root (its volumes are master:N inside),
# `-v name` without a path (dockerd 20.10 makes /name), and pulls no registry answers.
#
#   bash bench/compat-volumes.sh
#   ONLY='prune' bash bench/compat-volumes.sh
# Needs root and Debian's docker.io (dockerd). Its work directory is /tmp/cmpvol-*.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
WORK=$(mktemp -d /tmp/cmpvol-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  for s in "$WORK"/*.sock; do
    [ -S "$s" ] || continue
    docker -H "unix://$s" volume prune -af >/dev/null 2>&1 || docker -H "unix://$s" volume prune -f >/dev/null 2>&1 || true
  done
  remove_all_and_stop
}
trap cleanup EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); dockerd $(dockerd --version | cut -d' ' -f3-)"
BERTHD_ARGS="--cri=false" start_berthd --bridge none
start_dockerd
busybox_into "$DOCKERD_SOCK"
# An image with a VOLUME holding content (copy-up), built the same way in both.
mkdir -p "$WORK/ctx" && printf 'FROM busybox\nRUN mkdir -p /data && echo seed >/data/f && chown 1234 /data && chmod 750 /data\nVOLUME /data\n' >"$WORK/ctx/Dockerfile"
for sock in "$DOCKERD_SOCK" "$BERTH_SOCK"; do DOCKER_BUILDKIT=0 docker -H "unix://$sock" build -q -t volimg "$WORK/ctx" >/dev/null; done

# One command a line, run by bash in $WORK with DOCKER_HOST set, $S the daemon (d or b) and $H a
# host directory of the daemon's own ($WORK/host-$S). The docker CLI sends -v's binds and
# --label's labels in Go's map order, which changes from run to run: they are sorted here.
commands=$(
  cat <<'LIST'
docker volume create v1; docker volume create v1; docker volume ls -q
docker volume create 'bad name'
docker volume create -d nosuchdriver v2
docker volume create -o bogus=1 v3
docker volume create -o type=tmpfs v3
docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m,uid=1000 t1; docker volume inspect -f '{{json .Options}} {{.Driver}} {{.Scope}}' t1; docker run --rm --network none -v t1:/t busybox sh -c 'stat -c "%u %a" /t; grep " /t " /proc/self/mountinfo | cut -d" " -f5,9-'
docker volume create -o type=none -o device=$H/b -o o=bind b1; docker run --rm --network none -v b1:/t busybox true
mkdir -p $H/b2 && echo hi >$H/b2/x && docker volume create -o type=none -o device=$H/b2 -o o=bind b2 >/dev/null; docker run --rm --network none -v b2:/t busybox cat /t/x; docker volume inspect -f '{{.Mountpoint}}' b2
docker volume create --label a=1 --label b l1 >/dev/null; docker volume inspect -f '{{json .Labels}} {{.Name}} {{.Driver}} {{.Scope}} {{json .Options}}' l1
docker volume create c1 >/dev/null; docker volume inspect c1 | grep -v -e CreatedAt -e Mountpoint
docker volume inspect nosuch; docker volume inspect c1 nosuch -f '{{.Name}}'
docker volume ls --filter dangling=true -q | sort; docker volume ls --filter label=a -q; docker volume ls --filter label=a=1 --filter name=l -q; docker volume ls --filter driver=local -q | wc -l
docker volume ls --filter bogus=1
docker volume ls --filter dangling=maybe
docker volume ls --format '{{.Name}} {{.Driver}} {{.Scope}} {{.Label "a"}} {{.Links}} {{.Size}}' | sort
docker volume ls --format '{{.Mountpoint}}' -f name=c1
docker volume ls | head -1
docker run -d --name u1 --network none -v c1:/c busybox sleep 100 >/dev/null; docker volume rm c1; docker volume ls -f dangling=false -q; docker volume rm -f c1; docker rm -f u1 >/dev/null; docker volume rm c1
docker volume rm nosuch; docker volume rm -f nosuch
docker volume create r1 >/dev/null; docker volume create r2 >/dev/null; docker volume rm r1 nosuch r2
docker volume create --label keep=1 p1 >/dev/null; docker volume create p2 >/dev/null; docker volume prune -f --filter label=keep=1; docker volume ls -q -f name=p
docker volume prune -f --filter label!=keep; docker volume ls -q -f name=p
docker volume prune -f --filter until=1h
docker volume prune -a -f
docker run --rm --network none -v cu:/data volimg sh -c 'cat /data/f; stat -c "%u %a" /data'; docker run --rm --network none -v cu:/data busybox cat /data/f
docker run --rm --network none -v cu2:/etc busybox ls /etc | head -3; docker run --rm --network none -v cu2:/x busybox ls /x | head -3
docker run --rm --network none --mount type=volume,src=nc,dst=/data,volume-nocopy volimg ls -A /data
docker run --rm --network none -v nc2:/data:nocopy volimg ls -A /data
docker run --rm --network none -v ro1:/r:ro busybox touch /r/x
docker run --rm --network none -v ro1:/r:bogus busybox true
docker run --rm --network none -v ro1:/r:rw,ro busybox true
docker run --rm --network none -v ro1 busybox true
docker run --rm --network none -v ro1:relative busybox true
docker run --rm --network none -v ro1:/r -v ro1:/r busybox true
docker run --rm --network none -v $H/f.txt:/etc/hostname busybox cat /etc/hostname
echo file >$H/file && docker run --rm --network none -v $H/file:/etc/passwd:ro busybox cat /etc/passwd; docker run --rm --network none -v $H/file:/etc busybox true
docker run --rm --network none -v $H/dir:/etc/hostname busybox true
docker run --rm --network none -v $H/newdir/sub:/m busybox sh -c 'ls -A /m'; stat -c '%F %a' $H/newdir/sub
docker run --rm --network none -v rel/dir:/m busybox true
docker run --rm --network none -v ./rel:/m busybox true
docker run --rm --network none -v $H:/m:z busybox true; docker run --rm --network none -v $H:/m:Z busybox true
docker run --rm --network none -v $H:/m:rshared busybox grep ' /m ' /proc/self/mountinfo | cut -d' ' -f4,5,6,7 | sed 's/master:[0-9]*/master:N/; s/shared:[0-9]*/shared:N/'
docker run --rm --network none -v $H:/m:rslave busybox grep ' /m ' /proc/self/mountinfo | cut -d' ' -f4,5,6,7 | sed 's/master:[0-9]*/master:N/; s/shared:[0-9]*/shared:N/'
docker run --rm --network none -v $H:/m busybox grep ' /m ' /proc/self/mountinfo | cut -d' ' -f4,5,6,7 | sed 's/master:[0-9]*/master:N/; s/shared:[0-9]*/shared:N/'
docker run --rm --network none -v $H:/m:ro,rprivate busybox sh -c 'grep " /m " /proc/self/mountinfo | cut -d" " -f5,6,7; mount | grep " /m "' | sed 's/master:[0-9]*/master:N/; s/shared:[0-9]*/shared:N/; s/^[^ ]* on/X on/'
docker run --rm --network none -v mi:/v busybox sh -c 'mount | grep " /v "' | sed 's/^[^ ]* on/X on/'
docker run --rm --network none -v $H:/m:rshared,rslave busybox true
docker run -d --name a1 --network none -v /anon busybox sleep 100 >/dev/null; docker inspect -f '{{range .Mounts}}{{.Type}} {{.Driver}} {{.Destination}} {{.Mode}} {{.RW}} {{.Propagation}}{{end}}' a1; docker volume ls -q | grep -c '^[0-9a-f]\{64\}$'; docker rm -f a1 >/dev/null; docker volume ls -q | grep -c '^[0-9a-f]\{64\}$'
docker volume prune -f >/dev/null; docker run -d --name a2 --network none volimg sleep 100 >/dev/null; docker rm -fv a2 >/dev/null; docker volume ls -q | grep -c '^[0-9a-f]\{64\}$'
docker run --rm --network none -v /anon3 volimg true; docker volume ls -q | grep -c '^[0-9a-f]\{64\}$'
docker run --name a4 --network none -v /anon4 -v named4:/n busybox true; docker rm -v a4 >/dev/null; docker volume ls -q -f name=named4; docker volume ls -q | grep -c '^[0-9a-f]\{64\}$'
docker create --name i1 --network none -v iv:/v:ro -v $H:/h:rslave --mount type=tmpfs,dst=/t,tmpfs-size=1m --tmpfs /t2:size=2m,mode=700 busybox >/dev/null; docker inspect -f '{{json .Mounts}}' i1 | bin/node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const m of JSON.parse(s).sort((a,b)=>a.Destination<b.Destination?-1:1))console.log(JSON.stringify(m))})'; docker inspect -f '{{range .HostConfig.Binds}}{{println .}}{{end}}' i1 | sort; docker inspect -f '{{json .HostConfig.Mounts}} {{json .HostConfig.Tmpfs}} {{json .Config.Volumes}}' i1; docker rm -v i1 >/dev/null
docker create --name i2 --network none --mount type=volume,src=mv,dst=/v,readonly,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=x=y busybox >/dev/null; docker inspect -f '{{json .Mounts}} {{json .HostConfig.Mounts}}' i2; docker volume inspect -f '{{json .Labels}} {{json .Options}}' mv; docker rm i2 >/dev/null
docker run --rm --network none --mount type=bind,src=$H,dst=/b,readonly,bind-propagation=rslave busybox sh -c 'touch /b/x; grep " /b " /proc/self/mountinfo | cut -d" " -f5,6,7' | sed 's/master:[0-9]*/master:N/'
docker run --rm --network none --mount type=bind,src=$H/nosuchdir,dst=/b busybox true
docker run --rm --network none --mount type=bind,src=rel,dst=/b busybox true
docker run --rm --network none --mount type=bind,dst=/b busybox true
docker run --rm --network none --mount type=volume,src=x,dst=/v,bogus=1 busybox true
docker run --rm --network none --mount type=volume,src=x busybox true
docker run --rm --network none --mount type=tmpfs,src=x,dst=/t busybox true
docker run --rm --network none --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c 'stat -c %a /t; grep " /t " /proc/self/mountinfo | cut -d" " -f5,6,9-'
docker run --rm --network none --mount type=tmpfs,dst=/t,tmpfs-size=bogus busybox true
docker run --rm --network none --mount type=bind,src=$H,dst=/b,volume-nocopy busybox true
docker run --rm --network none --mount type=volume,dst=/v,bind-propagation=rslave busybox true
docker run --rm --network none --mount type=bind,src=$H,dst=/b,bind-propagation=bogus busybox true
docker run --rm --network none --tmpfs /tt:size=1m,mode=1777 busybox sh -c 'stat -c %a /tt; grep " /tt " /proc/self/mountinfo | cut -d" " -f5,6,9-'
docker run --rm --network none --tmpfs /tt busybox sh -c 'grep " /tt " /proc/self/mountinfo | cut -d" " -f5,6,9-'
docker run --rm --network none --tmpfs relative busybox true
docker run --rm --network none --tmpfs /tt:bogus=1 busybox true
docker run --rm --network none --tmpfs /tt -v tv:/tt busybox true
docker create --name src1 --network none -v vf:/vf -v /anonvf -v $H:/hb busybox >/dev/null; docker run --rm --network none --volumes-from src1 busybox sh -c 'ls -d /vf /anonvf /hb; touch /vf/x && echo w'; docker run --rm --network none --volumes-from src1:ro busybox touch /vf/y; docker run --rm --network none --volumes-from src1 -v other:/vf busybox true && echo override; docker rm -v src1 >/dev/null
docker run --rm --network none --volumes-from nosuch busybox true
docker run --rm --network none --volumes-from src9:bogus busybox true
docker run -d --name cp1 --network none -v cpv:/cv busybox sleep 100 >/dev/null; echo data >$WORK/cpin-$S; docker cp $WORK/cpin-$S cp1:/cv/in; docker exec cp1 cat /cv/in; docker cp cp1:/cv/in - | tar -xO; docker stop -t 0 cp1 >/dev/null; docker cp $WORK/cpin-$S cp1:/cv/in2; docker cp cp1:/cv/in2 - | tar -xO; docker rm -f cp1 >/dev/null
docker run --rm --network none --read-only -v rov:/w busybox sh -c 'touch /w/x && echo ok; touch /x'
docker volume create dfv >/dev/null; docker run --rm --network none -v dfv:/d busybox sh -c 'dd if=/dev/zero of=/d/z bs=1k count=100 2>/dev/null'; docker system df -v --format '{{range .Volumes}}{{if eq .Name "dfv"}}{{.Name}} {{.Links}} {{.Size}}{{end}}{{end}}'; docker system df -v | sed -n '/VOLUME NAME/,/^$/p' | grep -E 'VOLUME|dfv'
docker system df | grep -i volume | sed 's/  */ /g'
docker volume create --name old1
docker run --rm --network none -v mi2:/v busybox grep ' /v ' /proc/self/mountinfo | cut -d' ' -f5,6,7 | sed 's/master:[0-9]*/master:N/; s/shared:[0-9]*/shared:N/'
docker run --rm --network none -v ro9 busybox sh -c 'ls -d /ro9 ro9'
docker run --rm --network none -v fv:/etc/passwd busybox sh -c 'ls -ld /etc/passwd | cut -c1'
docker volume create >/dev/null; docker volume ls -q -f label=com.docker.volume.anonymous | wc -l
docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m t9 >/dev/null; docker volume inspect t9 | grep -v -e CreatedAt -e Mountpoint
docker create --name st1 --network none -v stv:/s busybox >/dev/null; docker volume rm stv; docker ps -a --filter volume=stv --format '{{.Names}} {{.Mounts}}'; docker rm st1 >/dev/null; docker volume rm stv
docker run --rm --network none -v /etc busybox sh -c 'test -s /etc/passwd && echo copied'
docker run --rm --network none --mount type=volume,dst=/etc,volume-nocopy busybox ls -A /etc
docker run --rm --network none --mount type=volume,src=vo,dst=/v,volume-opt=type=tmpfs busybox true
docker run --rm --network none --mount type=volume,src=vd,dst=/v,volume-driver=nosuch busybox true
docker run --rm --network none --mount type=bind,src=$H,dst=/b,bind-nonrecursive busybox true && echo ok
docker run --rm --network none --mount type=tmpfs,dst=/t,tmpfs-mode=bogus busybox true
docker run --rm --network none --mount src=nt,dst=/v busybox sh -c 'ls -d /v'; docker volume ls -q -f name=nt
docker run --rm --network none --mount type=volume,source=nt2,target=/v,ro busybox touch /v/x
docker volume inspect -f '{{.Status}} {{.UsageData}}' dfv
docker volume create -d local -o type=tmpfs -o device=tmpfs -o o=size=bogus tb; docker run --rm --network none -v tb:/t busybox true
LIST
)
norm() {
  sed -E -e 's/[0-9a-f]{64}/<ID64>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)/<TIME>/g' -e "s#$WORK/host-[db]#<H>#g" -e "s#$WORK#<WORK>#g" \
    -e 's#<WORK>/(dockerd|berth)/volumes/#<VOLS>/#g' -e 's#<WORK>/dockerd/overlay2/<ID64>/merged#<ROOTFS>#g' \
    -e 's#<WORK>/berth/containers/<ID64>/rootfs#<ROOTFS>#g'
}
compat_side() {
  local sock=$DOCKERD_SOCK
  [ "$1" = b ] && sock=$BERTH_SOCK
  mkdir -p "$WORK/host-$1"
  cd "$WORK" && S=$1 H=$WORK/host-$1 WORK=$WORK DOCKER_HOST=unix://$sock timeout 120 bash -c "$2"
}
compat_sweep "$commands"
