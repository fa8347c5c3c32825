#!/usr/bin/env bash
# Starts the real app under Xvfb, runs Push on the built-in corpus, takes a screenshot and checks
# it is not blank; follows a program of one's own; runs the plain and profiled examples.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
out="${E2E_OUT:-target/e2e}"
mkdir -p "$out"
Xvfb :97 -screen 0 1600x1000x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=:97 "${CARGO_TARGET_DIR:-target}/debug/palavriado" app --strategy push --run >"$out/app.log" 2>&1 &
app=$!
# Give the window time to open and the run to finish (the built-in corpus takes seconds).
for _ in $(seq 1 60); do
  sleep 1
  kill -0 $app 2>/dev/null || { echo "e2e: the app exited early"; cat "$out/app.log"; exit 1; }
  [ "$(DISPLAY=:97 xdotool search --name palavriado 2>/dev/null | head -n1)" != "" ] && break
done
sleep 12
DISPLAY=:97 xdotool mousemove 5 5
DISPLAY=:97 import -window root "$out/screenshot.png"
colors=$(/usr/bin/convert "$out/screenshot.png" -format "%k" info:)
stddev=$(/usr/bin/convert "$out/screenshot.png" -colorspace Gray -format "%[fx:standard_deviation]" info:)
echo "e2e: screenshot $out/screenshot.png has $colors colours, grey std-dev $stddev"
if [ "$colors" -lt 50 ] || awk "BEGIN{exit !($stddev < 0.05)}"; then
  echo "e2e: the screenshot is blank"
  exit 1
fi

# A program of one's own, attached to: the log analyser example serves live samples and
# records its run; `attach --record` follows it to the end; both recordings must be the same.
cargo build --quiet --example log_analyser
bin="${CARGO_TARGET_DIR:-target}/debug"
"$bin/examples/log_analyser" --lines 3000000 --serve 127.0.0.1:7399 \
  --record "$out/program.json.gz" >"$out/program.log" 2>&1 &
program=$!
for _ in $(seq 1 50); do
  sleep 0.2
  "$bin/palavriado" attach 127.0.0.1:7399 --record "$out/attached.json.gz" >"$out/attach.log" 2>&1 && break
done
wait $program
cat "$out/attach.log"
# (`show` is read to its end: `grep -q` would close the pipe early, which pipefail counts as failing.)
"$bin/palavriado" show "$out/attached.json.gz" >"$out/attached.txt"
grep -q "^program log_analyser: completed" "$out/attached.txt" \
  || { echo "e2e: the attached recording does not show the finished program"; cat "$out/attached.txt"; exit 1; }
cmp "$out/program.json.gz" "$out/attached.json.gz" \
  || { echo "e2e: what the viewer recorded differs from the program's own recording"; exit 1; }
# Pipelines people already have: each example plain and profiled prints the same result, and
# the profiled one's recording shows its stages and channels.
cargo build --quiet --example tokio_sales --example tokio_sales_plain \
  --example thread_logs --example thread_logs_plain
for ex in "tokio_sales --rows 300000" "thread_logs --lines 300000"; do
  set -- $ex
  "$bin/examples/$1_plain" "$2" "$3" >"$out/$1.plain.txt"
  "$bin/examples/$1" "$2" "$3" --no-serve --record "$out/$1.json.gz" >"$out/$1.txt"
  cmp "$out/$1.plain.txt" "$out/$1.txt" \
    || { echo "e2e: $1 profiled printed something else than plain"; exit 1; }
  "$bin/palavriado" show "$out/$1.json.gz" >"$out/$1.show.txt"
  grep -q "^program $1: completed, .* stages and .* channels" "$out/$1.show.txt" \
    || { echo "e2e: $1's recording does not show its stages and channels"; cat "$out/$1.show.txt"; exit 1; }
done
echo "e2e: 4 passed, 0 failed"
