#!/usr/bin/env bash
# Golden data for flow table changes (packages/ofproto/src/tables): for every scenario of
# tools/ovs-golden/ofctl-rules-ops-cases.json, a sequence of ovs-ofctl add-flow / mod-flows
# [--strict] / del-flows [--strict] commands run against OVS 3.1, and after each one what
# `ovs-ofctl dump-flows --no-stats` shows (lines sorted) or the error. The commands use
# ovs-ofctl's default protocol (OpenFlow 1.0 with Nicira extensions), as a user typing them would.
#
# Private OVS as in ofctl-rules-megaflow.sh: temp dir, ovs-vswitchd in its own network namespace
# (`unshare --net`), bridge tsvsc0 (netdev, fail_mode=secure) with internal ports tsvscp1..4 as
# OpenFlow ports 1..4; everything stopped and removed on exit.
# Output (committed): test/golden/ofctl-rules/ops.json
# Usage: bash tools/ovs-golden/ofctl-rules-ops.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cases="$here/ofctl-rules-ops-cases.json"
out="$here/../../test/golden/ofctl-rules/ops.json"
D="$(mktemp -d /tmp/tsvsc-ovs.XXXXXX)"
export OVS_RUNDIR="$D" OVS_LOGDIR="$D" OVS_DBDIR="$D" OVS_SYSCONFDIR="$D"
BR=tsvsc0

stop() {
  set +e
  for d in ovs-vswitchd ovsdb-server; do
    if [[ -f "$D/$d.pid" ]]; then
      pid="$(cat "$D/$d.pid")"
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  rm -rf "$D"
}
trap stop EXIT

ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$D/conf.db" --remote="punix:$D/db.sock" --pidfile="$D/ovsdb-server.pid" --detach --log-file="$D/ovsdb-server.log"
VSCTL=(ovs-vsctl --db="unix:$D/db.sock")
"${VSCTL[@]}" --no-wait init
unshare --net -- ovs-vswitchd "unix:$D/db.sock" --pidfile="$D/ovs-vswitchd.pid" --detach --log-file="$D/ovs-vswitchd.log"
"${VSCTL[@]}" add-br $BR -- set bridge $BR datapath_type=netdev fail_mode=secure
for i in 1 2 3 4; do
  "${VSCTL[@]}" add-port $BR tsvscp$i -- set interface tsvscp$i type=internal ofport_request=$i
done
export BR
ovs-vswitchd --version | head -1 >&2

python3 - "$cases" "$out" <<'PY'
import json, os, subprocess, sys
cases_path, out = sys.argv[1], sys.argv[2]
br = os.environ['BR']
def ofctl(*args):
    return subprocess.run(['ovs-ofctl', *args], capture_output=True, text=True)
result = []
for case in json.load(open(cases_path)):
    ofctl('del-flows', br)
    steps = []
    for cmd, arg in case['steps']:
        words = cmd.split()
        p = ofctl(words[0], *words[1:], br, *([arg] if arg else []))
        dump = ofctl('dump-flows', '--no-stats', br)
        lines = sorted(l for l in dump.stdout.splitlines() if l.startswith(' '))
        step = {'cmd': cmd, 'arg': arg, 'ok': p.returncode == 0, 'dump': lines}
        if p.returncode != 0:
            step['error'] = p.stderr.strip().splitlines()[-1]
        steps.append(step)
    result.append({'name': case['name'], 'steps': steps})
with open(out, 'w') as f:
    json.dump(result, f, indent=1)
    f.write('\n')
print(f"{len(result)} scenarios -> {out}", file=sys.stderr)
PY
