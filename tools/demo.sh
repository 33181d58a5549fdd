#!/usr/bin/env bash
# The README's first command: tsvs switching real traffic.
#   bash tools/demo.sh          (as root, on Debian 12 with Node 20; installs what it needs first)
# Creates three hosts in network namespaces on veth pairs (tools/netns), starts the tsvs daemon
# through its CLI with their outer ends as `system` ports (default flow NORMAL), pings and
# transfers between the hosts (ping, iperf3 TCP, a 10 MB TCP transfer checked by SHA-256 on both
# ends), prints `tsvs upcall show`, `tsvs pmd stats` and `tsvs dpctl dump-flows`, and removes
# everything it made, also on failure or Ctrl-C. All traffic stays inside the demo's namespaces.
# Fallback (not root, or a tsvs without live ports): flow extraction over real captures in
# ../shared/pcaps, printed in OVS's own format.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
ROOT=$PWD

fallback() {
  echo "== fallback: $1"
  local pcaps
  pcaps=$(realpath ../shared/pcaps 2>/dev/null || true)
  if [ -z "$pcaps" ] || [ ! -d "$pcaps" ]; then echo "demo: no captures in ../shared/pcaps either" >&2; exit 1; fi
  for f in tcp.pcap icmp_dot1q.pcap icmp6-nd-options.pcap; do
    echo "== tsvs flow-extract $f (the flows OVS 3.1 would extract, in ovs-ofctl syntax)"
    node apps/cli/bin/run.js flow-extract "$pcaps/$f" | head -n 6
  done
  exit 0
}

[ "$(id -u)" -eq 0 ] || fallback "the live demo needs root (network namespaces, veth pairs, AF_PACKET)"
node apps/cli/bin/run.js add-port --help >/dev/null 2>&1 || fallback "this tsvs has no 'add-port' command yet (live ports not wired)"
if ! command -v ping >/dev/null 2>&1; then
  echo "demo: apt-get install iputils-ping"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null
fi

P="demo$(( $$ % 1000000 ))"          # name prefix: namespaces $P-h0.., veth outer ends $P-0..
BR="${P}br"                          # bridge (and local port) name, unique to this run
D=$(mktemp -d /tmp/tsvs-demo-XXXXXX) # socket, config, pidfile, log
SUBNET=10.66.0
export TSVS_SOCKET=$D/tsvs.sock
tsvs() { node "$ROOT/apps/cli/bin/run.js" "$@"; }
netns() { node --import tsx "$ROOT/tools/netns/cli.ts" "$@"; }
in_host() { local i=$1; shift; ip netns exec "$P-h$i" "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  echo "== cleanup"
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  if [ -f "$D/tsvs.pid" ]; then
    local pid
    pid=$(cat "$D/tsvs.pid")
    tsvs stop >/dev/null 2>&1 || true
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  ip link del "$BR" >/dev/null 2>&1 || true
  netns sweep "$P" || true
  if [ "$rc" -ne 0 ] && [ -f "$D/tsvs.log" ]; then echo "== last lines of the daemon log"; tail -n 20 "$D/tsvs.log"; fi
  rm -rf "$D"
  [ "$rc" -eq 0 ] && echo "== done" || echo "demo: failed (exit $rc)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== three hosts in network namespaces (prefix $P), each on a veth pair"
netns up --hosts 3 --prefix "$P" --subnet "$SUBNET"

echo "== tsvs start --detach --bridge $BR, then add-port for each outer veth end"
tsvs start --detach --bridge "$BR" --config "$D/config.json" --pidfile "$D/tsvs.pid" --log-file "$D/tsvs.log" --pmd-threads 1
for i in 0 1 2; do tsvs add-port "$P-$i" --type system; done
tsvs show

echo "== ping between the hosts"
for pair in "0 1" "1 2" "2 0"; do
  set -- $pair
  in_host "$1" ping -n -c 3 -i 0.2 -W 2 "$SUBNET.$(( $2 + 1 ))" | tail -n 2
done
in_host 0 ping -n -c 3 -i 0.2 -W 2 "fd00::3" | tail -n 2

echo "== iperf3 TCP, 3 s, host 0 -> host 2"
in_host 2 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
sleep 0.5
in_host 0 iperf3 -c "$SUBNET.3" -p 5201 -t 3 | grep -E 'sender|receiver'
wait

echo "== 10 MB over TCP, host 1 -> host 0, SHA-256 on both ends"
in_host 0 node test/system/traffic.mjs tcp-recv 7001 >"$D/recv.out" &
for _ in $(seq 50); do grep -q listening "$D/recv.out" 2>/dev/null && break; sleep 0.1; done
sent=$(in_host 1 node test/system/traffic.mjs tcp-send "$SUBNET.1" 7001 10485760)
wait
received=$(tail -n 1 "$D/recv.out")
echo "sent:     $sent"
echo "received: $received"
[ "$sent" = "$received" ] || { echo "demo: the transfer differs" >&2; exit 1; }

echo "== tsvs upcall show"
tsvs upcall show
echo "== tsvs pmd stats"
tsvs pmd stats
echo "== tsvs dpctl dump-flows"
tsvs dpctl dump-flows
