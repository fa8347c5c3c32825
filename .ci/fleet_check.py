"""Checks what Prometheus scraped of two profiled programs against the programs themselves.

Usage: fleet_check.py PROMETHEUS START END INSTANCE=REPORT.json ...

For each instance: at the middle of the run, every stage's busy + backpressured + idle + delay
rates add up to about 1,000 ms/s; after it, each stage's events in and out equal what the
program's own final report (`palavriado show --json`) says.
"""

import json
import sys
import urllib.parse
import urllib.request


def query(base, q, at):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": f"{at:.3f}"})
    answer = json.load(urllib.request.urlopen(url))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def main():
    base, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    middle = (start + end) / 2
    failures = []
    for arg in sys.argv[4:]:
        instance, path = arg.split("=", 1)
        report = json.load(open(path))
        sel = f'{{instance="{instance}",kind!="channel"}}'
        total = " + ".join(
            f"rate(palavriado_stage_{m}_seconds_total{sel}[4s])"
            for m in ("busy", "backpressured", "idle", "delay")
        )
        sums = query(base, total, middle)
        if not sums:
            failures.append(f"{instance}: no stage time at {middle}")
        for s in sums:
            ms = float(s["value"][1]) * 1000
            stage = s["metric"]["stage"]
            print(f"{instance} {stage}: busy + backpressured + idle = {ms:.0f} ms/s")
            if not 850 <= ms <= 1150:
                failures.append(f"{instance} {stage}: {ms:.0f} ms/s, not about 1,000")
        for metric, field in (("events_in_total", "events_in"), ("events_out_total", "events_out")):
            got = {
                s["metric"]["stage"]: int(float(s["value"][1]))
                # The last value scraped (the program has exited: its series went stale).
                for s in query(
                    base, f'last_over_time(palavriado_stage_{metric}{{instance="{instance}"}}[20s])', end
                )
            }
            for stage in report["stages"]:
                want = stage[field]
                if got.get(stage["name"]) != want:
                    failures.append(
                        f"{instance} {stage['name']}: {metric} {got.get(stage['name'])} in "
                        f"Prometheus, {want} in the program's report"
                    )
        print(f"{instance}: {len(report['stages'])} stages' events match the program's report")
    for f in failures:
        print("fleet check:", f)
    sys.exit(1 if failures else 0)


main()
