#!/usr/bin/env python3
"""Per-route figures of a wrk run from two scrapes of jobber's /metrics.

Reads `jobber_http_request_duration_seconds` before and after the run and prints,
for each method and route that served requests in between, how many it served, the
mean time and the share of requests slower than 10, 25 and 50 ms (histogram bucket
bounds, so exact). Used by scripts/bench-stack.sh for the mixed workload.
"""
import re
import sys
from collections import defaultdict

SAMPLE = re.compile(r'^jobber_http_request_duration_seconds_(bucket|sum|count)\{(.*)\} (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(path):
    series = defaultdict(lambda: {"buckets": defaultdict(float), "sum": 0.0, "count": 0.0})
    with open(path) as f:
        for line in f:
            m = SAMPLE.match(line.strip())
            if not m:
                continue
            kind, labels, value = m.group(1), dict(LABEL.findall(m.group(2))), float(m.group(3))
            key = (labels.get("method", ""), labels.get("route", ""))
            entry = series[key]
            if kind == "bucket":
                entry["buckets"][labels["le"]] += value
            elif kind == "sum":
                entry["sum"] += value
            else:
                entry["count"] += value
    return series


def main(before_path, after_path):
    before, after = scrape(before_path), scrape(after_path)
    rows = []
    for key, a in after.items():
        b = before.get(key, {"buckets": defaultdict(float), "sum": 0.0, "count": 0.0})
        count = a["count"] - b["count"]
        if count <= 0:
            continue
        mean_ms = (a["sum"] - b["sum"]) / count * 1000

        def slower(bound):
            within = a["buckets"].get(bound, 0.0) - b["buckets"].get(bound, 0.0)
            return 100.0 * (count - within) / count

        rows.append((count, key, mean_ms, slower("0.01"), slower("0.025"), slower("0.05")))
    total = sum(r[0] for r in rows)
    print("| route | requests | share | mean (ms) | > 10 ms | > 25 ms | > 50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for count, (method, route), mean_ms, s10, s25, s50 in sorted(rows, reverse=True):
        print(f"| `{method} {route}` | {count:.0f} | {100 * count / total:.0f} % | {mean_ms:.1f} | "
              f"{s10:.1f} % | {s25:.1f} % | {s50:.1f} % |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
