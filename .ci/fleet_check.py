"""Checks what Prometheus scraped of two profiled programs against the programs themselves.

Usage: fleet_check.py PROMETHEUS START END INSTANCE=REPORT.json ...

For each instance: while each stage runs, its busy + backpressured + idle + delay rates add up to
about 1,000 ms/s (the median of its points); after the run, each stage's events in and out equal what the
program's own final report (`palavriado show --json`) says.
"""

import json
import statistics
import sys
import urllib.parse
import urllib.request


def answer(base, path, params):
    url = f"{base}{path}?" + urllib.parse.urlencode(params)
    got = json.load(urllib.request.urlopen(url))
    assert got["status"] == "success", got
    return got["data"]["result"]


def query(base, q, at):
    return answer(base, "/api/v1/query", {"query": q, "time": f"{at:.3f}"})


def steady(values):
    """A stage's time rate while it runs: the median of its points while alive, its first and
    last two (windows it began or ended in) left out."""
    alive = [float(v) for _, v in values if float(v) > 0.05]
    alive = alive[2:-2]
    return statistics.median(alive) if len(alive) >= 3 else None


def main():
    base, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    failures = []
    for arg in sys.argv[4:]:
        instance, path = arg.split("=", 1)
        report = json.load(open(path))
        sel = f'{{instance="{instance}",kind!="channel"}}'
        total = " + ".join(
            f"rate(palavriado_stage_{m}_seconds_total{sel}[2s])"
            for m in ("busy", "backpressured", "idle", "delay")
        )
        sums = answer(
            base,
            "/api/v1/query_range",
            {"query": total, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "0.5"},
        )
        if not sums:
            failures.append(f"{instance}: no stage time between {start} and {end}")
        for s in sums:
            stage = s["metric"]["stage"]
            rate = steady(s["values"])
            if rate is None:
                failures.append(f"{instance} {stage}: too few points while it ran")
                continue
            print(f"{instance} {stage}: busy + backpressured + idle = {rate * 1000:.0f} ms/s")
            if not 0.85 <= rate <= 1.15:
                failures.append(f"{instance} {stage}: {rate * 1000:.0f} ms/s, not about 1,000")
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
