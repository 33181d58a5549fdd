#!/usr/bin/env bash
# The README's first command: runs tsvs on real input.
# Now: flow extraction over real captures shipped in ../shared/pcaps, printed in OVS's own format.
# It grows into the network-namespace demo (hosts pinging and transferring through tsvs) as live ports land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
PCAPS=$(realpath ../shared/pcaps)
tsvs() { node apps/cli/bin/run.js "$@"; }

for f in tcp.pcap icmp_dot1q.pcap icmp6-nd-options.pcap; do
  echo "== tsvs flow-extract $f (the flows OVS 3.1 would extract, in ovs-ofctl syntax)"
  tsvs flow-extract "$PCAPS/$f" | head -n 6
done
