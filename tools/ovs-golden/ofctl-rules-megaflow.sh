#!/usr/bin/env bash
# Golden data for classifier wildcarding (packages/ofproto/src/classifier): for every rule set of
# tools/ovs-golden/ofctl-rules-megaflow-cases.json, what OVS 3.1's ofproto/trace reports for each
# traced flow: the rules matched table by table, `Megaflow:` and `Datapath actions:`.
#
# Runs a private OVS (ARCHITECTURE.md §4): database, sockets, logs in a temp dir; ovs-vswitchd in
# its own network namespace (`unshare --net`) so that its tap devices vanish with it. Bridge tsvsc0
# (datapath_type=netdev, fail_mode=secure, OpenFlow 1.0 and 1.3) with internal ports tsvscp1..4 as
# OpenFlow ports 1..4. Rules are loaded with `ovs-ofctl -O OpenFlow13 add-flows`. Both daemons are
# stopped and the temp dir removed on exit, whatever happens.
# Output (committed): test/golden/ofctl-rules/megaflow.json
# Usage: bash tools/ovs-golden/ofctl-rules-megaflow.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cases="$here/ofctl-rules-megaflow-cases.json"
out="$here/../../test/golden/ofctl-rules/megaflow.json"
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
"${VSCTL[@]}" add-br $BR -- set bridge $BR datapath_type=netdev fail_mode=secure protocols=OpenFlow10,OpenFlow13
for i in 1 2 3 4; do
  "${VSCTL[@]}" add-port $BR tsvscp$i -- set interface tsvscp$i type=internal ofport_request=$i
done
CTL="$D/ovs-vswitchd.$(cat "$D/ovs-vswitchd.pid").ctl"
export CTL BR D
ovs-vswitchd --version | head -1 >&2

python3 - "$cases" "$out" <<'PY'
import json, os, subprocess, sys
cases_path, out = sys.argv[1], sys.argv[2]
ctl, br, d = os.environ['CTL'], os.environ['BR'], os.environ['D']
def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout
result = []
for case in json.load(open(cases_path)):
    run('ovs-ofctl', '-O', 'OpenFlow13', 'del-flows', br)
    path = os.path.join(d, 'flows.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(case['rules']) + '\n')
    run('ovs-ofctl', '-O', 'OpenFlow13', 'add-flows', br, path)
    traces = []
    for flow in case['traces']:
        p = subprocess.run(['ovs-appctl', '-t', ctl, 'ofproto/trace', br, flow], capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f'ofproto/trace {flow}: {p.stderr.strip()}')
        text = p.stdout
        lines = text.splitlines()
        get = lambda p: next((l[len(p):].strip() for l in lines if l.startswith(p)), None)
        # Rule lines of the trace: " N. <match>, priority P[, cookie C]" at the start of each table.
        matched = [l.strip() for l in lines if l.lstrip()[:1].isdigit() and '. ' in l and 'priority' in l]
        traces.append({'flow': flow, 'traceFlow': get('Flow:'), 'megaflow': get('Megaflow:'),
                       'datapathActions': get('Datapath actions:'), 'rules': matched})
    result.append({'name': case['name'], 'note': case.get('note', ''), 'rules': case['rules'], 'traces': traces})
with open(out, 'w') as f:
    json.dump(result, f, indent=1)
    f.write('\n')
print(f"{len(result)} cases, {sum(len(c['traces']) for c in result)} traces -> {out}", file=sys.stderr)
PY
