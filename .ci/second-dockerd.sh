#!/usr/bin/env bash
# A second, separate Docker engine beside the first, for the two-engine tests
# (tests/integration/docker/test_two_engines.py): Chaos Gorilla with the lost zone
# on this engine and the survivors on the first.
#
# Separate means its own everything: data root (images, containers), exec root
# (its own managed containerd, netns, libnetwork state), pidfile, socket, config
# file and containerd namespaces, so neither engine sees or cleans up the other's
# containers. chaoskit's containers use host networking (127.0.0.1), so this
# engine needs no iptables or masquerading rules that could clash with the first
# engine's NAT chains. It gets a bridge of its own all the same: a dockerd started
# with `--bridge none` deletes the host's docker0 (libnetwork removes the default
# bridge interface it believes is its own), which cuts the FIRST engine's
# bridge-networked containers off ("could not find bridge docker0").
#
# Idempotent: an engine already answering on the socket is left as it is.
# Bounded: waits at most CHAOSKIT_DOCKER2_WAIT seconds (default 60), then prints
# the log's tail and fails. Stop it with: kill "$(cat /run/chaoskit/docker2.pid)".
#
# The tests find it at unix:///run/chaoskit/docker2.sock, or at
# $CHAOSKIT_DOCKER2_HOST when that is set (then a missing engine fails, not skips).
set -euo pipefail

base="${CHAOSKIT_DOCKER2_BASE:-/run/chaoskit}"
socket="$base/docker2.sock"
host="unix://$socket"
exec_root="$base/docker2"
pidfile="$base/docker2.pid"
config="$base/docker2.json"
data_root="${CHAOSKIT_DOCKER2_DATA:-/var/lib/chaoskit-docker2}"
log="${CHAOSKIT_DOCKER2_LOG:-/tmp/chaoskit-docker2.log}"
wait="${CHAOSKIT_DOCKER2_WAIT:-60}"

answers() { docker -H "$host" info >/dev/null 2>&1; }

if answers; then
  echo "second dockerd: already answering at $host"
  exit 0
fi

mkdir -p "$base" "$data_root"
# An empty config of its own: /etc/docker/daemon.json (the first engine's) may set
# "hosts", "bip" or a data root, and "hosts" beside -H is a fatal conflict.
echo '{}' > "$config"

# A pidfile naming a live dockerd means it is starting (or hung): not a second copy.
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
    && grep -qa dockerd "/proc/$(cat "$pidfile")/cmdline"; then
  echo "second dockerd: pid $(cat "$pidfile") exists, waiting for it"
else
  bridge="${CHAOSKIT_DOCKER2_BRIDGE:-ckdocker2}"
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    # 198.18.0.0/15 is reserved for benchmarking (RFC 2544): no real network uses it.
    ip link add "$bridge" type bridge
    ip addr add "${CHAOSKIT_DOCKER2_BRIDGE_CIDR:-198.18.254.1/24}" dev "$bridge"
    ip link set "$bridge" up
  fi
  # setsid: its own session, so the CI shell's end (or a Ctrl-C) does not signal it.
  setsid dockerd \
    --host "$host" \
    --data-root "$data_root" \
    --exec-root "$exec_root" \
    --pidfile "$pidfile" \
    --config-file "$config" \
    --containerd-namespace chaoskit-docker2 \
    --containerd-plugins-namespace chaoskit-docker2-plugins \
    --bridge "$bridge" --iptables=false --ip-masq=false \
    >"$log" 2>&1 < /dev/null &
fi

for _ in $(seq 1 "$wait"); do
  if answers; then
    echo "second dockerd: answering at $host (data root $data_root, log $log)"
    exit 0
  fi
  sleep 1
done
echo "second dockerd: no answer at $host after ${wait}s; last lines of $log:" >&2
tail -30 "$log" >&2 || true
exit 1
