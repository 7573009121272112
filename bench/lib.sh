# Shared by the bench scripts (sourced): waiting for a daemon's socket, and stopping the
# daemons a script started (their pids in `pids`) and unmounting what they left under $WORK.

wait_sock() {
  for _ in $(seq 1 300); do
    [ -S "$1" ] && docker -H "unix://$1" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "daemon on $1 did not start" >&2
  exit 1
}

# A private berthd on $WORK, socket $BERTH_SOCK, extra flags as arguments (after ${BERTHD_ARGS});
# run through ${BERTHD_PREFIX} when set (warm.sh's in_acct).
start_berthd() {
  ${BERTHD_PREFIX:-} ./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" \
    --log-level warn ${BERTHD_ARGS:-} "$@" 2>"$WORK/berthd.log" &
  pids+=($!)
  wait_sock "$BERTH_SOCK"
}

# A private dockerd on $WORK, socket $DOCKERD_SOCK, no bridge and no iptables unless the
# arguments say otherwise.
start_dockerd() {
  dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
    --bridge none --iptables=false --ip-masq=false --log-level warn "$@" >"$WORK/dockerd.log" 2>&1 &
  pids+=($!)
  wait_sock "$DOCKERD_SOCK"
}

# dockerd on a bridge of its own ($1, made here on a /24 no host route uses; the caller removes
# it), without iptables rules, NAT or forwarding: veth, sandbox and IPAM as for Berth's bridge.
start_dockerd_on_bridge() {
  local bridge=$1 net=""
  for n in 10.231 10.232 10.233 10.234; do
    ip -4 route | grep -q "^$n\." || { net=$n; break; }
  done
  ip link add "$bridge" type bridge
  ip addr add "$net.0.1/24" dev "$bridge"
  ip link set "$bridge" up
  dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
    --bridge "$bridge" --iptables=false --ip-masq=false --ip-forward=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
  pids+=($!)
  wait_sock "$DOCKERD_SOCK"
}

stop_daemons() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  grep -o "$WORK[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# The EXIT trap of a script whose daemons all listen on $WORK/*.sock: their containers removed
# first (a daemon stopped with them running would leave their monitors), then the daemons, then $WORK.
remove_all_and_stop() {
  for s in "$WORK"/*.sock; do
    [ -S "$s" ] || continue
    ids=$(docker -H "unix://$s" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && docker -H "unix://$s" rm -f $ids >/dev/null 2>&1 || true
  done
  stop_daemons
  rm -rf "$WORK"
}

# The checkout's helpers (berth-launcher and others) rebuilt if their source changed, hyperfine
# installed: a bench must time the code it is run from.
bash scripts/setup.sh >&2

# A free loopback TCP port.
free_port() { bin/node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# A berth-registry on a free loopback port over the root $1; prints "host:port pid" once it answers.
start_registry() {
  local port; port=$(free_port)
  bin/berth-registry --listen "127.0.0.1:$port" --root "$1" --log-level warn 2>>"$WORK/registry.log" &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.05; done
  echo "127.0.0.1:$port $pid"
}

# A cgroup that only counts CPU time (cgroup v1's cpuacct; else a cgroup2 one): berthd started
# in it, everything it starts is counted with it until moved out.
acct_dir() { if [ -d /sys/fs/cgroup/cpuacct ]; then echo "/sys/fs/cgroup/cpuacct/berth-bench-$$-$1"; else echo "/sys/fs/cgroup/berth-bench-$$-$1"; fi; }
acct_ms() {
  local d
  d=$(acct_dir "$1")
  if [ -f "$d/cpuacct.usage" ]; then echo $(($(cat "$d/cpuacct.usage") / 1000000)); else awk '/^usage_usec/ {print int($2 / 1000)}' "$d/cpu.stat"; fi
}
# `in_acct NAME command... &`: the command, in the cgroup NAME; only in the background (it
# execs, so that $! is the command's pid).
in_acct() {
  local d
  d=$(acct_dir "$1")
  shift
  mkdir -p "$d"
  exec sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$d" "$@"
}

# The two-container pod bench/pods.sh and pods-ab.sh play (`kube play`), written to $1.
write_pod_yaml() {
  cat >"$1" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: benchpod}
spec:
  containers:
  - {name: web, image: busybox, imagePullPolicy: Never, command: [httpd, -f, -p, '80']}
  - {name: sidecar, image: busybox, imagePullPolicy: Never, command: [sleep, '1000']}
YAML
}

# Berth's offline busybox in the berthd on $BERTH_SOCK, and the same image loaded into each
# daemon whose socket is given (saved once to $WORK/busybox.tar).
busybox_into() {
  ./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
  docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
  local sock
  for sock in "$@"; do docker -H "unix://$sock" load -i "$WORK/busybox.tar" >/dev/null; done
}

# The compat-*.sh scripts' sweep: each non-empty line of $1 (those matching $ONLY, when set) run
# against dockerd (side d) and Berth (side b) through the caller's `compat_side <side> <line>`,
# which runs the line in a subshell with that side's DOCKER_HOST and whatever else the script
# gives it; the output with its exit status normalised by the caller's `norm`, and the two
# compared: SAME, or DIFF with the diff; the counts at the end.
compat_sweep() {
  local line s same=0 differ=0
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    [ -n "${ONLY:-}" ] && ! grep -qE -- "$ONLY" <<<"$line" && continue
    for s in d b; do
      (compat_side "$s" "$line" </dev/null >"$WORK/out.$s" 2>&1; echo "exit $?" >>"$WORK/out.$s") || true
      norm <"$WORK/out.$s" >"$WORK/n.$s"
    done
    if cmp -s "$WORK/n.d" "$WORK/n.b"; then
      echo "SAME  $line"
      same=$((same + 1))
    else
      echo "DIFF  $line"
      diff "$WORK/n.d" "$WORK/n.b" | sed 's/^/      /' || true
      differ=$((differ + 1))
    fi
  done <<<"$1"
  echo "$same same, $differ different; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The warm-run scripts' command (backtoback.sh, berthd-cpu.sh): `docker run --rm busybox true`
# on `--network none`, or with NET=user on a user network warmnet, which each daemon gets on a
# /24 of UNET (default $1; it must not be routed here already). Sets `run` and UNET.
warm_run_command() {
  if [ "$NET" = user ]; then
    UNET=${UNET:-$1}
    if ip -4 route | grep -q "^$UNET\."; then
      echo "$UNET.0.0/16 is routed here already: set UNET" >&2
      exit 1
    fi
    run=(run --rm --network warmnet busybox true)
  else
    run=(run --rm --network none busybox true)
  fi
}

# The EXIT trap of a warm-run script: warmnet removed from each berthd socket given (with
# NET=user), then the daemons stopped and $WORK removed.
warm_cleanup() {
  local s
  for s in "$@"; do
    [ -S "$s" ] && [ "$NET" = user ] && docker -H "unix://$s" network rm warmnet >/dev/null 2>&1 || true
  done
  stop_daemons
  rm -rf "$WORK"
}
