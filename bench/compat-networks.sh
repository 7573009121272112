#!/usr/bin/env bash
# The networks side of `docker` against a private dockerd and a private berthd, command by
# command, as bench/compat-images.sh does the images side: busybox in both (Berth's offline one,
# saved and loaded into dockerd), each command run through the real docker CLI against each
# daemon, outputs compared after IDs, times, MACs and addresses are normalised. Each daemon has
# a default bridge of its own on a /24 no host route uses (dockerd's made here, without
# iptables: user networks and the bridge work without), and its user networks take subnets of
# their own ($N: 10.<a>. for dockerd, 10.<b>. for Berth, both unrouted): traffic stays between
# the containers on these bridges. Prints SAME or DIFF and the diff for each command, the counts.
#
#   bash bench/compat-networks.sh
#   ONLY='connect' bash bench/compat-networks.sh
# Needs root and Debian's docker.io (dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
WORK=$(mktemp -d /tmp/cmpnet-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
DBR=cmpd$$
BBR=cmpb$$
pids=()
cleanup() {
  # dockerd leaves the bridges of its user networks on the host when it stops: their names
  # (br-<id12>, or the -o bridge.name one) are read before, deleted after.
  local left
  left=$(DOCKER_HOST=unix://$DOCKERD_SOCK docker network ls -q --filter type=custom 2>/dev/null | sed 's/^/br-/') || true
  remove_all_and_stop
  for b in $left cmpxd; do ip link del "$b" 2>/dev/null || true; done
  # dockerd's sandboxes' namespaces are bound under its exec root (unmounted by stop_daemons'
  # sweep of $WORK); the bridges and the user networks' bridges left by a failed rm go here.
  ip link del "$DBR" 2>/dev/null || true
  ip link del "$BBR" 2>/dev/null || true
}
trap cleanup EXIT
free16() { for o in $(seq "$1" 254); do ip -4 route | grep -q "^10\.$o\." || { echo "$o"; return; }; done; }
DO=$(free16 246)
BO=$(free16 $((DO + 1)))
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); dockerd $(dockerd --version | cut -d' ' -f3-); subnets 10.$DO/16 (dockerd) 10.$BO/16 (berth)"
ip link add "$DBR" type bridge && ip addr add "10.$DO.0.1/24" dev "$DBR" && ip link set "$DBR" up
BERTHD_ARGS="--warm-pool 0 --cri=false" start_berthd --bridge "$BBR" --bip "10.$BO.0.1/24"
dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
  --bridge "$DBR" --iptables=false --ip-masq=false --ip-forward=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
pids+=($!)
wait_sock "$DOCKERD_SOCK"
busybox_into "$DOCKERD_SOCK"

# One command a line, run by bash with DOCKER_HOST set, $S the daemon (d or b), $N its
# user networks' first octets ("10.246") and $P a loopback port of its own to publish.
commands=$(
  cat <<'LIST'
docker network create --subnet $N.1.0/24 --gateway $N.1.254 --ip-range $N.1.128/25 --aux-address a=$N.1.130 --label k=v --label z n1
docker network inspect n1 --format '{{json .IPAM}} {{.Scope}} {{.Driver}} {{.EnableIPv6}} {{.Internal}} {{.Attachable}} {{.Ingress}} {{.ConfigOnly}} {{json .ConfigFrom}} {{json .Options}} {{json .Labels}} {{json .Containers}}'
docker network create --subnet $N.1.0/24 n1dup
docker network create --subnet $N.1.0/24 n1
docker network create n1
docker network create --subnet $N.2.0/33 bad1; docker network create --subnet nonsense bad2; docker network create --gateway $N.9.1 bad3; docker network create --subnet $N.3.0/24 --gateway $N.4.1 bad4; docker network create --subnet $N.3.0/24 --ip-range $N.4.0/25 bad5
docker network create -d nosuch bad6; docker network create --ipam-driver nosuch bad7
docker network create -o com.docker.network.bridge.name=cmpx$S -o com.docker.network.bridge.enable_icc=false --internal --attachable --subnet $N.5.0/24 n2; docker network inspect n2 --format '{{json .Options}} {{.Internal}} {{.Attachable}}'; ip -o link show cmpx$S | grep -c cmpx
docker network create --ipv6 --subnet fd00:$S$S::/64 --subnet $N.6.0/24 n6; docker network inspect n6 --format '{{.EnableIPv6}} {{json .IPAM.Config}}'
docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}' | sort
docker network ls --filter driver=bridge --format '{{.Name}}' | sort
docker network ls --filter name=n --format '{{.Name}}' | sort
docker network ls --filter label=k=v --format '{{.Name}}'; docker network ls --filter label=z --format '{{.Name}}'
docker network ls --filter type=custom --format '{{.Name}}' | sort; docker network ls --filter type=builtin --format '{{.Name}}' | sort
docker network ls --filter dangling=true --format '{{.Name}}' | sort
docker network ls --filter type=nosuch; docker network ls --filter nosuch=1
docker network ls --no-trunc --filter name=n1 | sed 's/[0-9a-f]\{64\}/<ID64>/'
docker network ls -q --filter name=n1 | wc -c
docker network ls --format '{{.ID}} {{.Name}} {{.Internal}} {{.IPv6}} {{.Labels}} {{.CreatedAt}}' --filter name=n2
docker run -d --name c1 --network n1 --network-alias al1 --ip $N.1.200 busybox sleep 300 >/dev/null; docker inspect c1 --format '{{json .NetworkSettings.Networks.n1.IPAMConfig}} {{json .NetworkSettings.Networks.n1.Aliases}} {{.NetworkSettings.Networks.n1.IPAddress}} {{.NetworkSettings.Networks.n1.Gateway}} {{.NetworkSettings.Networks.n1.IPPrefixLen}}'
docker run -d --name c2 --network n1 --dns-search example.test --dns-option ndots:2 --add-host gw:host-gateway --add-host foo:10.0.0.9 busybox sleep 300 >/dev/null; docker exec c2 cat /etc/resolv.conf; docker exec c2 cat /etc/hosts
docker exec c2 nslookup c1; docker exec c2 nslookup al1; docker exec c2 nslookup c2
docker run -d --name c3 --network n2 busybox sleep 300 >/dev/null; docker exec c3 nslookup c1
docker network inspect n1 --format '{{range $k, $v := .Containers}}{{$v.Name}} {{$v.IPv4Address}} {{$v.IPv6Address}}{{"\n"}}{{end}}' | sort
docker run --rm --dns 10.0.0.53 --dns-search a.test busybox cat /etc/resolv.conf
docker run --rm --network n1 --dns 10.0.0.53 busybox cat /etc/resolv.conf
docker run --rm busybox cat /etc/hosts
docker run --rm --network n1 --ip $N.1.200 busybox true; docker run --rm --network n1 --ip $N.7.1 busybox true; docker run --rm --ip 10.99.0.2 busybox true; docker run --rm --network-alias x busybox true
docker network connect --ip $N.1.201 --alias al3 n1 c3; docker exec c3 ip -o -4 addr show eth1 | sed 's/ \+/ /g'; docker exec c2 nslookup al3
docker network connect n1 c3
docker network connect --link c1:lc n2 c2; docker exec c2 nslookup lc
docker create --name s1 busybox sleep 300 >/dev/null; docker network connect n1 s1; docker inspect s1 --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'; docker start s1 >/dev/null; docker exec s1 ip -o -4 addr | sed 's/ \+/ /g' | cut -d' ' -f2,4
docker network disconnect n2 c1; docker network disconnect n1 nosuch; docker network disconnect -f n1 nosuch; docker network disconnect nosuch c1
docker network disconnect n1 c3; docker exec c3 ip -o link | grep -c eth1
docker network rm n1; docker network rm nosuch n6; docker network rm bridge; docker network rm host none
docker run -d --name p1 -p 127.0.0.1:$P:80 -p 8081 --expose 9000 busybox sleep 300 >/dev/null; docker port p1; docker port p1 80; docker port p1 80/udp; docker port p1 9000
docker inspect p1 --format '{{json .NetworkSettings.Ports}}' | sed 's/327[0-9][0-9]/<EPH>/g; s/"1809[01]"/<P>/'; docker ps --filter name=p1 --format '{{.Ports}}' | sed 's/327[0-9][0-9]/<EPH>/g'; docker run --rm -p 0.0.0.0::80 -p [::]::81 busybox true
docker network disconnect bridge c2; docker network disconnect bridge p1; docker inspect p1 --format '{{json .NetworkSettings.Networks}}' | grep -c bridge; docker exec p1 ip -o link | grep -c eth0
docker network connect bridge p1; docker exec p1 ip -o -4 addr show eth0 | wc -l; docker inspect p1 --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'
docker network connect bridge p1; docker network connect --alias z bridge c1
docker network connect bridge c1; docker inspect c1 --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'; docker exec c1 ip -o link | grep -o 'eth[0-9]' | sort; docker exec c1 ip route | grep -c default; docker network inspect bridge --format '{{range .Containers}}{{.Name}} {{end}}'
docker ps --filter network=bridge --format '{{.Names}}' | sort
docker network disconnect bridge c1; docker exec c1 ip -o link | grep -o 'eth[0-9]' | sort
docker stop -t 0 s1 >/dev/null; docker network connect bridge s1; docker start s1 >/dev/null; docker exec s1 ip -o link | grep -o 'eth[0-9]' | sort; docker inspect s1 --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'
docker create --name s2 busybox true >/dev/null; docker network disconnect bridge s2; docker inspect s2 --format '{{json .NetworkSettings.Networks}}'; docker start -a s2; docker network connect bridge s2; docker inspect s2 --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'
docker network connect host c1; docker network disconnect host c1; docker network connect none c1
docker rm -f c1 c2 c3 s1 s2 p1 >/dev/null; docker network prune -f --filter label=k=v; docker network ls --format '{{.Name}}' | sort
docker network create --label old=1 old1 >/dev/null; docker network prune -f --filter until=1h; docker network prune -f --filter until=0s; docker network ls --format '{{.Name}}' | sort
docker network rm n2 n6 n1dup n1 2>&1 | sort
T=$(date +%s); docker network create ev >/dev/null; docker run -d --name e1 --network ev busybox sleep 300 >/dev/null; docker run --rm --name e0 busybox true; docker run --rm --name e3 --network none busybox true; docker run --rm --name e4 --network host busybox true; docker create --name e2 busybox sleep 300 >/dev/null; docker network connect ev e2; docker network connect bridge e1; docker start e2 >/dev/null; docker network disconnect ev e2; docker stop -t 0 e1 >/dev/null; docker stop -t 0 e2 >/dev/null; docker start e1 >/dev/null; docker rm -f e1 e2 >/dev/null; docker network rm ev >/dev/null; sleep 1; docker events --since $T --until $(date +%s) --filter type=network --filter type=container --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' | grep -v '^container exec'
T=$(date +%s); docker network create rv >/dev/null; docker run -d --name r1 --network rv busybox sleep 300 >/dev/null; docker restart -t 0 r1 >/dev/null; docker run -d --name r2 --restart on-failure:1 busybox sh -c 'sleep 0.5; exit 3' >/dev/null; sleep 3; docker network disconnect bridge r2; docker pause r1 >/dev/null; docker network connect bridge r1; docker unpause r1 >/dev/null; docker rm -f r1 r2 >/dev/null; docker network rm rv >/dev/null; sleep 1; docker events --since $T --until $(date +%s) --filter type=network --filter type=container --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' | grep -v '^container exec'
LIST
)
norm() {
  sed -E -e 's/sha256:[0-9a-f]{64}/sha256:<ID>/g' -e 's/\b[0-9a-f]{64}\b/<ID64>/g' -e 's/\b[0-9a-f]{12}\b/<ID12>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9:]+)?( [+-][0-9]{4} [A-Z]+)?/<TIME>/g' \
    -e 's/([0-9a-f]{2}:){5}[0-9a-f]{2}/<MAC>/g' \
    -e "s/10\\.($DO|$BO)\\./<N>./g" -e "s/fd00:(dd|bb)/fd00:SS/g" -e 's/cmpx[db]/cmpxS/g' -e "s/cmp[db][0-9]+/<BR>/g" \
    -e 's/127\.0\.0\.1:1809[01]/127.0.0.1:<P>/g' -e 's/ +/ /g'
}
compat_side() {
  local sock=$DOCKERD_SOCK N=10.$DO P=18090
  [ "$1" = b ] && sock=$BERTH_SOCK N=10.$BO P=18091
  S=$1 N=$N P=$P DOCKER_HOST=unix://$sock timeout 120 bash -c "$2"
}
compat_sweep "$commands"
