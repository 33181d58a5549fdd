#!/usr/bin/env bash
# Golden data for datapath actions: what OVS 3.1's userspace datapath does to real frames.
#
# Builds a private OVS (temp dir, own network namespace tsvsg-ovs) with bridge br0
# (datapath_type=netdev, fail-mode=secure) and three ports tsvsg0..2 (ofport 1..3), veths whose far
# ends tsvsg0f..2f live in a second namespace tsvsg-far. For each case of actions-golden.py it
# installs OpenFlow rules, clears the datapath flows, injects one frame on tsvsg0f, captures what
# comes out on every far end, and records the datapath actions OVS installed (dpctl/dump-flows) and
# traced (ofproto/trace "Datapath actions:"). Writes test/golden/actions/cases.json.
#
# Needs root, openvswitch-switch 3.1, python3. Everything is removed on exit, whatever happens.
# Usage: bash tools/ovs-golden/actions-golden.sh [OUT_JSON]   (PCAPS=dir overrides /work/shared/pcaps)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-test/golden/actions/cases.json}
NS_OVS=tsvsg-ovs
NS_FAR=tsvsg-far
D=$(mktemp -d /tmp/tsvsg-ovs.XXXXXX)
export OVS_RUNDIR=$D OVS_LOGDIR=$D OVS_DBDIR=$D OVS_SYSCONFDIR=$D

PY=
cleanup() {
  set +e
  if [ -n "$PY" ]; then kill "$PY" 2>/dev/null; wait "$PY" 2>/dev/null; fi
  for p in ovs-vswitchd ovsdb-server; do
    if [ -f "$D/$p.pid" ]; then
      pid=$(cat "$D/$p.pid")
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  ip netns del $NS_OVS 2>/dev/null
  ip netns del $NS_FAR 2>/dev/null
  rm -rf "$D"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

for ns in $NS_OVS $NS_FAR; do
  if ip netns list | grep -qw "$ns"; then echo "namespace $ns exists (a previous run?); remove it first" >&2; exit 1; fi
  ip netns add $ns
  # No IPv6 autoconfiguration noise (router solicitations, MLD) on any interface.
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec $ns ip link set lo up
done
for i in 0 1 2; do
  ip netns exec $NS_OVS ip link add tsvsg$i type veth peer name tsvsg${i}f netns $NS_FAR
  ip netns exec $NS_OVS ip link set tsvsg$i mtu 9000 up
  ip netns exec $NS_FAR ip link set tsvsg${i}f mtu 9000 up
  ip netns exec $NS_OVS ethtool -K tsvsg$i tx off rx off >/dev/null 2>&1 || true
  ip netns exec $NS_FAR ethtool -K tsvsg${i}f tx off rx off >/dev/null 2>&1 || true
done

ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ip netns exec $NS_OVS ovsdb-server "$D/conf.db" --remote=punix:"$D/db.sock" --pidfile="$D/ovsdb-server.pid" \
  --detach --log-file="$D/ovsdb-server.log"
VSCTL="ovs-vsctl --db=unix:$D/db.sock"
$VSCTL --no-wait init
ip netns exec $NS_OVS ovs-vswitchd unix:"$D/db.sock" --pidfile="$D/ovs-vswitchd.pid" --detach \
  --log-file="$D/ovs-vswitchd.log"
$VSCTL add-br br0 -- set bridge br0 datapath_type=netdev fail-mode=secure \
  protocols=OpenFlow10,OpenFlow13,OpenFlow15
for i in 0 1 2; do
  $VSCTL add-port br0 tsvsg$i -- set interface tsvsg$i ofport_request=$((i + 1))
done
CTL="$D/ovs-vswitchd.$(cat "$D/ovs-vswitchd.pid").ctl"

# In the background + wait, so that a signal is handled at once (the traps then clean up).
ip netns exec $NS_FAR python3 tools/ovs-golden/actions-golden.py \
  --ctl "$CTL" --db "unix:$D/db.sock" --pcaps "${PCAPS:-/work/shared/pcaps}" --out "$OUT" &
PY=$!
wait $PY
PY=
