#!/usr/bin/env bash
# A fleet on one machine: N profiled programs serving Prometheus's /metrics on loopback ports,
# Debian's Prometheus scraping them every second, then palavriado's fleet view of them all.
#
#   scripts/fleet.sh [N]          N instances of the examples (tokio_sales and thread_logs, in
#                                 turn, each rerun when it ends; default 4), on ports 9471…
#   scripts/fleet.sh --sim P S    one process simulating P programs of S stages (ports 9500…)
#
# Prometheus serves on 127.0.0.1:9090 (its data in target/fleet); the programs run until this
# script is stopped (Ctrl-C stops them all). Needs `prometheus` (apt-get install prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || { echo "fleet: install Prometheus first (apt-get install prometheus)"; exit 1; }
out=target/fleet
mkdir -p "$out"
# Stopping the script stops everything it started.
trap 'trap - EXIT INT TERM; kill 0 2>/dev/null || true' EXIT INT TERM
targets=()
if [ "${1:-}" = "--sim" ]; then
  programs="${2:-50}"
  stages="${3:-20}"
  cargo build --release --quiet --example fleet_sim
  target/release/examples/fleet_sim --programs "$programs" --stages "$stages" --port 9500 \
    >"$out/fleet_sim.log" 2>&1 &
  for i in $(seq 0 $((programs - 1))); do targets+=("'127.0.0.1:$((9500 + i))'"); done
else
  n="${1:-4}"
  cargo build --release --quiet --example tokio_sales --example thread_logs
  for i in $(seq 1 "$n"); do
    port=$((9470 + i))
    if [ $((i % 2)) = 1 ]; then
      ex=(tokio_sales --rows 5000000 --parsers $((1 + i % 3)))
    else
      ex=(thread_logs --lines 5000000)
    fi
    # Each program runs again as soon as it ends (Prometheus's rate() takes the restarts).
    (while true; do
      target/release/examples/"${ex[0]}" "${ex[@]:1}" --no-serve --metrics "127.0.0.1:$port" \
        >"$out/program-$i.txt" 2>"$out/program-$i.log" || sleep 1
    done) &
    targets+=("'127.0.0.1:$port'")
  done
fi
list=$(IFS=,; echo "${targets[*]}")
cat >"$out/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: palavriado
    static_configs: [{targets: [$list]}]
YML
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address=127.0.0.1:9090 >"$out/prometheus.log" 2>&1 &
echo "fleet: ${#targets[@]} programs; Prometheus on http://127.0.0.1:9090 scraping them every second"
echo "fleet: waiting 30 s for a few scrapes…"
sleep 30
cargo build --release --quiet
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  target/release/palavriado fleet --prometheus http://127.0.0.1:9090 --since 1m --app
else
  target/release/palavriado fleet --prometheus http://127.0.0.1:9090 --since 1m
fi
echo "fleet: the programs and Prometheus run until you press Ctrl-C"
wait
