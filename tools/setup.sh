#!/usr/bin/env bash
# Installs everything tsvs needs on a fresh Debian 12 machine with Node 20, then builds it.
# Safe to run again: each step is skipped when already done. Needs root for apt-get (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libpcap-dev iproute2 ethtool iperf3 procps iputils-ping tcpdump util-linux)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${missing[*]}" >&2; exit 1; fi
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  echo "setup: npm install -g pnpm@10"
  npm install -g pnpm@10 >/dev/null
fi

# node-gyp must build native addons against the headers Node ships in /usr, never download them.
export npm_config_nodedir=/usr
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^\s*$' | tail -n 3
pnpm run -s build
