#!/usr/bin/env python3
"""Summarizes a JMH JSON result: per benchmark and parameters, JMH's mean and error, and the median
and minimum of the measured iterations over all forks (the median resists a noisy machine)."""
import json
import statistics
import sys

rows = {}
for r in json.load(open(sys.argv[1])):
    name = r["benchmark"].rsplit(".", 1)[1]
    params = ",".join("%s=%s" % kv for kv in sorted(r.get("params", {}).items()))
    raw = [v for fork in r["primaryMetric"]["rawData"] for v in fork]
    rows[(name, params)] = (r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"],
                            statistics.median(raw), min(raw), r["primaryMetric"]["scoreUnit"])
print("%-12s %-16s %12s %12s %12s %12s" % ("benchmark", "params", "mean", "error", "median", "min"))
for (name, params), (score, err, med, mn, unit) in sorted(rows.items(), key=lambda kv: (kv[0][0], int(kv[0][1].split("=")[-1]) if kv[0][1].split("=")[-1].isdigit() else kv[0][1])):
    print("%-12s %-16s %12.1f %12.1f %12.1f %12.1f %s" % (name, params, score, err, med, mn, unit))
