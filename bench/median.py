"""Reads one JSON line per wrk round (from bench/report.lua) and prints the
round with the median throughput, with the error counts of all rounds added up,
so that an error in any round is reported."""
import json
import sys

rounds = [json.loads(line) for line in sys.stdin if line.strip()]
if not rounds:
    sys.exit("no wrk result")
rounds.sort(key=lambda r: r["rps"])
median = dict(rounds[(len(rounds) - 1) // 2])
median["socket_errors"] = sum(r["socket_errors"] for r in rounds)
median["bad_status"] = sum(r["bad_status"] for r in rounds)
print(json.dumps(median))
