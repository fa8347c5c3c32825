#!/usr/bin/env bash
# tokio-console end to end: the job runner in examples/console_jobs (a real program with
# console-subscriber, built with its own --cfg tokio_unstable) is followed headless with
# `palavriado attach --console --record`; `show` of that recording, and of console-subscriber's
# own recording of the run, must list its named tasks and name the task that blocks its thread,
# the one that loops on itself and the lost one.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${E2E_OUT:-target/e2e}/console"
rm -rf "$out" && mkdir -p "$out"
# Its own package and cargo configuration: build it from its folder, into its own target.
(cd examples/console_jobs && cargo build --quiet --release --locked)
cargo build --quiet --bin palavriado
bin="${CARGO_TARGET_DIR:-target}/debug/palavriado"
examples/console_jobs/target/release/console_jobs --duration 12 --console-addr 127.0.0.1:6679 \
  --record "$out/console_jobs.jsonl" >"$out/console_jobs.log" 2>&1 &
jobs_pid=$!
trap 'kill $jobs_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 6679), 0.2)' 2>/dev/null && break
  sleep 0.2
done
"$bin" attach --console 127.0.0.1:6679 --record "$out/console.json.gz" --duration 8 \
  >"$out/attach.txt" 2>"$out/attach.log"
cat "$out/attach.txt"
wait $jobs_pid
"$bin" show --json "$out/console.json.gz" >"$out/show.json"
"$bin" show "$out/console.json.gz" | tail -5
# console-subscriber's own recording of the same run, replayed.
"$bin" show --json "$out/console_jobs.jsonl" >"$out/replay.json"
for f in show replay; do
python3 - "$out/$f.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
stages = r["stages"]
tasks = [s["name"] for s in stages if s["kind"] == "task"]
named = {"dispatcher", "indexer", "spinner", "forgotten"} | {f"worker {i}" for i in range(1, 9)} \
    | {f"client {i}" for i in range(1, 25)}
missing = named - set(tasks)
assert not missing, f"tasks missing: {sorted(missing)} (seen {sorted(tasks)})"
found = {(d["kind"], d["stage"]) for d in r["diagnoses"]}
wants = [("long_poll", "indexer"), ("self_wake", "spinner")]
# Followed live, the forgotten task is lost; the recording runs to the program's exit, where
# tokio drops every task: then it ended.
if sys.argv[1].endswith("show.json"):
    wants.append(("lost_waker", "forgotten"))
for want in wants:
    assert want in found, f"no {want} among {sorted(found)}"
assert not any(k == "long_poll" and s.startswith("worker") for k, s in found), sorted(found)
print(f"console e2e ok ({sys.argv[1]}): {len(tasks)} tasks, diagnoses {sorted(found)}")
PY
done
