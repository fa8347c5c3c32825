#!/usr/bin/env bash
# Fleet end to end: Debian's Prometheus scrapes two profiled examples twice a second on loopback,
# and a simulated fleet of two; its HTTP API must show each stage's time adding up to about
# 1,000 ms/s and the events the programs' own reports give; `palavriado fleet` on it must name
# the bottleneck the simulation was built to have (the first program's middle stage).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || { echo "fleet e2e: Prometheus is not installed (apt-get install prometheus)"; exit 1; }
cargo build --quiet --example tokio_sales --example thread_logs --example fleet_sim
bin="${CARGO_TARGET_DIR:-target}/debug"
out="${E2E_OUT:-target/e2e}/fleet"
rm -rf "$out" && mkdir -p "$out"
cat >"$out/prometheus.yml" <<YML
global: {scrape_interval: 500ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: palavriado
    static_configs: [{targets: ['127.0.0.1:9471', '127.0.0.1:9472', '127.0.0.1:9473', '127.0.0.1:9474']}]
YML
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address=127.0.0.1:9497 >"$out/prometheus.log" 2>&1 &
prom=$!
trap 'kill $prom 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:9497/-/ready")' 2>/dev/null && break
  sleep 0.2
done
start=$(date +%s.%N)
"$bin/examples/fleet_sim" --programs 2 --stages 4 --port 9473 --duration 12 \
  >"$out/fleet_sim.log" 2>&1 &
sim=$!
"$bin/examples/tokio_sales" --rows 8000000 --parsers 1 --no-serve --metrics 127.0.0.1:9471 \
  --linger 3 --record "$out/tokio_sales.json.gz" >"$out/tokio_sales.txt" 2>"$out/tokio_sales.log" &
sales=$!
"$bin/examples/thread_logs" --lines 6000000 --no-serve --metrics 127.0.0.1:9472 \
  --linger 3 --record "$out/thread_logs.json.gz" >"$out/thread_logs.txt" 2>"$out/thread_logs.log" &
logs=$!
wait $sales
wait $logs
wait $sim
end=$(date +%s.%N)
sleep 2
for p in tokio_sales thread_logs; do
  "$bin/palavriado" show --json "$out/$p.json.gz" >"$out/$p.report.json"
done
python3 .ci/fleet_check.py http://127.0.0.1:9497 "$start" "$end" \
  "127.0.0.1:9471=$out/tokio_sales.report.json" "127.0.0.1:9472=$out/thread_logs.report.json"
"$bin/palavriado" fleet --prometheus http://127.0.0.1:9497 --since 1m --record "$out/fleet.json.gz" \
  >"$out/fleet.txt" 2>"$out/fleet.log"
cat "$out/fleet.log"
cat "$out/fleet.txt"
grep -q "127.0.0.1:9473/stage 2 is the bottleneck" "$out/fleet.txt" \
  || { echo "fleet e2e: the fleet does not name sim 1's stage 2 the bottleneck"; exit 1; }
"$bin/palavriado" show "$out/fleet.json.gz" >"$out/fleet.shown.txt"
cmp "$out/fleet.txt" "$out/fleet.shown.txt" \
  || { echo "fleet e2e: the saved fleet shows differently"; exit 1; }
echo "fleet e2e: ok"
