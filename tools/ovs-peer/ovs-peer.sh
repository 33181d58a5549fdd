#!/usr/bin/env bash
# Open vSwitch 3.1 as the peer switch: its userspace datapath (datapath_type=netdev) switching
# live interfaces with the default NORMAL flow, run from a private directory (ARCHITECTURE.md §4).
#
#   ovs-peer.sh up DIR [--netns NS] [--bridge BR] [PORT...] start ovsdb-server + ovs-vswitchd, add the ports
#   ovs-peer.sh down DIR                                      stop both, delete leftover taps, remove DIR
#   ovs-peer.sh pid DIR                                       ovs-vswitchd's pid
#   ovs-peer.sh appctl DIR COMMAND...                         ovs-appctl to that ovs-vswitchd
#   ovs-peer.sh vsctl DIR COMMAND...                          ovs-vsctl on that database
#   ovs-peer.sh ofctl DIR COMMAND BR ARGS...                  ovs-ofctl to that bridge (e.g. add-flow br0 FLOW)
#
# DIR must not exist before `up` (it is created; OVS_RUNDIR/LOGDIR/DBDIR/SYSCONFDIR all point there,
# so nothing of the system's OVS configuration is read or written). ovsdb-server runs in the calling
# namespace (it only listens on DIR/db.sock). ovs-vswitchd runs inside network namespace NS when given
# (`ip netns exec NS`; the PORTs must be in NS): the netdev datapath creates persistent tap devices
# `ovs-netdev` and BR, which then vanish with NS. Without --netns they are made in the calling
# namespace and `down` deletes them (only if `up` did not find them there already).
# Installs openvswitch-switch with apt-get when ovs-vswitchd is missing (needs root).
# Exit status: 0 ok, 1 a step failed (one line on stderr naming it; `up` undoes what it did), 2 usage.
set -euo pipefail

SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
die() { echo "ovs-peer: $*" >&2; exit 1; }
usage() { echo "ovs-peer: $*" >&2; echo "usage: ovs-peer.sh up DIR [--netns NS] [--bridge BR] [PORT...] | down DIR | pid DIR | appctl DIR CMD... | vsctl DIR CMD... | ofctl DIR CMD BR ARGS..." >&2; exit 2; }

ovs_env() {
  export OVS_RUNDIR="$1" OVS_LOGDIR="$1" OVS_DBDIR="$1" OVS_SYSCONFDIR="$1"
}
vsctl() { local d=$1; shift; ovs-vsctl --db="unix:$d/db.sock" --timeout=20 "$@"; }
vswitchd_pid() { cat "$1/ovs-vswitchd.pid" 2>/dev/null; }
appctl() { local d=$1; shift; local p; p=$(vswitchd_pid "$d") || die "no ovs-vswitchd pid in $d"; ovs-appctl -t "$d/ovs-vswitchd.$p.ctl" "$@"; }

install_ovs() {
  command -v ovs-vswitchd >/dev/null 2>&1 && [ -f "$SCHEMA" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "openvswitch-switch is not installed and installing it needs root"
  echo "ovs-peer: apt-get install openvswitch-switch" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openvswitch-switch >/dev/null || die "apt-get install openvswitch-switch failed"
}

# Stops a daemon by pidfile: TERM, then KILL after 5 s.
stop_pidfile() {
  local f=$1 p i
  p=$(cat "$f" 2>/dev/null) || return 0
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

cmd_down() {
  local d=$1
  [ -d "$d" ] || return 0
  ovs_env "$d"
  # del-br first: ovs-vswitchd then closes its taps itself.
  if [ -f "$d/bridge" ] && [ -S "$d/db.sock" ]; then vsctl "$d" --if-exists del-br "$(cat "$d/bridge")" >/dev/null 2>&1 || true; fi
  stop_pidfile "$d/ovs-vswitchd.pid"
  stop_pidfile "$d/ovsdb-server.pid"
  # Persistent taps made in the calling namespace (no --netns): only those this run created.
  if [ -f "$d/taps" ]; then
    local t
    while read -r t; do [ -n "$t" ] && ip link del "$t" >/dev/null 2>&1 || true; done <"$d/taps"
  fi
  rm -rf "$d"
}

cmd_up() {
  local d=$1; shift
  local ns="" br="br0" ports=()
  while [ $# -gt 0 ]; do
    case $1 in
      --netns) [ $# -ge 2 ] || usage "--netns needs a value"; ns=$2; shift 2 ;;
      --bridge) [ $# -ge 2 ] || usage "--bridge needs a value"; br=$2; shift 2 ;;
      --*) usage "unknown option $1" ;;
      *) ports+=("$1"); shift ;;
    esac
  done
  [ -e "$d" ] && die "$d exists (use a fresh directory)"
  install_ovs
  mkdir -p "$d"
  # Any failure from here on (die, set -e) undoes what was started.
  UP_DIR=$d
  trap '[ -n "${UP_DIR:-}" ] && cmd_down "$UP_DIR"' EXIT
  ovs_env "$d"
  echo "$br" >"$d/bridge"
  local nsexec=()
  if [ -n "$ns" ]; then
    ip netns exec "$ns" true 2>/dev/null || die "network namespace '$ns' does not exist"
    nsexec=(ip netns exec "$ns")
  else
    # Taps the netdev datapath will create here; remember those not present already.
    : >"$d/taps"
    for t in ovs-netdev "$br"; do ip link show "$t" >/dev/null 2>&1 || echo "$t" >>"$d/taps"; done
  fi
  for p in "${ports[@]+"${ports[@]}"}"; do "${nsexec[@]}" ip link show "$p" >/dev/null 2>&1 || die "port '$p' does not exist${ns:+ in namespace $ns}"; done
  ovsdb-tool create "$d/conf.db" "$SCHEMA" || die "ovsdb-tool create failed"
  ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" --detach \
    --log-file="$d/ovsdb-server.log" --no-chdir || die "ovsdb-server did not start (see $d/ovsdb-server.log)"
  vsctl "$d" --no-wait init
  "${nsexec[@]}" env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" OVS_SYSCONFDIR="$d" \
    ovs-vswitchd "unix:$d/db.sock" --pidfile="$d/ovs-vswitchd.pid" --detach --no-chdir \
    --log-file="$d/ovs-vswitchd.log" || die "ovs-vswitchd did not start (see $d/ovs-vswitchd.log)"
  # Without --no-wait, ovs-vsctl returns once ovs-vswitchd has applied the change.
  vsctl "$d" add-br "$br" -- set bridge "$br" datapath_type=netdev
  local i=1
  for p in "${ports[@]+"${ports[@]}"}"; do
    vsctl "$d" add-port "$br" "$p" -- set interface "$p" "ofport_request=$i"
    i=$((i + 1))
  done
  for p in "${ports[@]+"${ports[@]}"}"; do
    local of
    of=$(vsctl "$d" get interface "$p" ofport)
    [ "$of" -gt 0 ] 2>/dev/null || die "port $p was not added (ofport $of; see $d/ovs-vswitchd.log)"
  done
  UP_DIR=""
  trap - EXIT
}

[ $# -ge 2 ] || usage "need a command and DIR"
cmd=$1 dir=$2; shift 2
case $cmd in
  up) cmd_up "$dir" "$@" ;;
  down) cmd_down "$dir" ;;
  pid) vswitchd_pid "$dir" || die "no ovs-vswitchd pid in $dir" ;;
  appctl) ovs_env "$dir"; appctl "$dir" "$@" ;;
  vsctl) ovs_env "$dir"; vsctl "$dir" "$@" ;;
  ofctl) ovs_env "$dir"; ovs-ofctl "$@" ;;
  *) usage "unknown command '$cmd'" ;;
esac
