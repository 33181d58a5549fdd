#!/usr/bin/env bash
# Golden data for the OpenFlow rule syntax (packages/ofproto/src/rules): for every rule of
# tools/ovs-golden/ofctl-rules-corpus.txt, what OVS 3.1 prints for it:
#   ovs-ofctl -O PROTOCOL parse-flow "RULE"
# i.e. the flow mod as `OFPT_FLOW_MOD ...: ADD ... actions=...`, or the error ovs-ofctl refuses it
# with. parse-flow needs no switch: nothing is started, nothing is left behind.
# Output (committed): test/golden/ofctl-rules/parse-flow.jsonl, one JSON object per corpus rule:
#   {"section", "protocol", "rule", "ok": true, "flowMod": " ADD ..."}  (text after "(xid=0x1):")
#   {"section", "protocol", "rule", "ok": false, "error": "..."}        (ovs-ofctl's message)
# Usage: bash tools/ovs-golden/ofctl-rules.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="$here/ofctl-rules-corpus.txt"
out="$here/../../test/golden/ofctl-rules/parse-flow.jsonl"
mkdir -p "$(dirname "$out")"
ovs-ofctl --version | head -1 >&2
python3 - "$corpus" "$out" <<'PY'
import json, subprocess, sys
corpus, out = sys.argv[1], sys.argv[2]
section = ''
rows = []
for line in open(corpus, encoding='utf-8'):
    line = line.rstrip('\n')
    if line.startswith('## '):
        section = line[3:].strip()
        continue
    if not line.strip() or line.startswith('#'):
        continue
    proto, rule = line.split('\t', 1)
    p = subprocess.run(['ovs-ofctl', '-O', proto, 'parse-flow', rule], capture_output=True, text=True)
    row = {'section': section, 'protocol': proto, 'rule': rule}
    mods = [l for l in p.stdout.splitlines() if 'FLOW_MOD' in l and '(xid=0x1):' in l]
    if p.returncode == 0 and mods:
        row['ok'] = True
        row['flowMod'] = mods[-1][mods[-1].index('(xid=0x1):') + len('(xid=0x1):'):]
    else:
        err = [l for l in p.stderr.splitlines() if l.startswith('ovs-ofctl: ')]
        row['ok'] = False
        row['error'] = err[-1][len('ovs-ofctl: '):] if err else (p.stderr.strip().splitlines() or ['?'])[-1]
    rows.append(row)
with open(out, 'w', encoding='utf-8') as f:
    for r in rows:
        f.write(json.dumps(r) + '\n')
print(f'{len(rows)} rules, {sum(1 for r in rows if r["ok"])} accepted -> {out}', file=sys.stderr)
PY
