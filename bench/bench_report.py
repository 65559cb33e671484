"""Benchmark: render every report format for a large result (default 100,000 findings).

    python bench/bench_report.py [--findings 100000] [--format html ...]

Prints seconds and output size per format; the HTML report (every finding paged in the page) has
limits, printed beside its numbers: rendered in at most 5 s and at most 10 MB. Exits 1 when the
HTML misses either. Not run by CI's pass/fail.

The machine a benchmark runs on may be busy, so the HTML is also timed against a floor measured in
the same run: serialising every finding's shown columns to JSON once (`json.dumps` of the rows),
the least work any page holding every finding must do. The ratio HTML / floor is what to compare
between runs and machines; the absolute seconds are what the limit is checked on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from auditor.report import Format, Results, findings_frame, render
from auditor.report.sample import FINDINGS, make_results

HTML_SECONDS = 5.0
HTML_MB = 10.0


def big_results(n: int) -> Results:
    """The sample results with `n` findings (the sample's, repeated on distinct resources)."""
    base = pd.DataFrame(FINDINGS)
    big = base.loc[base.index.repeat(n // len(base) + 1)].head(n).reset_index(drop=True)
    big["resource_arn"] = big["resource_arn"] + "-" + pd.Series(range(n)).astype(str)
    # owner-tag columns as findings carry them (auditor.owners): a few values each, some missing
    teams = pd.Series(["payments", "search", "web", "data", None] * (n // 5 + 1)).head(n)
    big["tag_team"] = teams.to_numpy()
    big["tag_owner"] = (teams.fillna("nobody") + "@example.com").where(teams.notna()).to_numpy()
    results = make_results()
    results.findings = findings_frame(big)
    return results


def floor_seconds(results: Results, repeat: int = 3) -> float:
    """The floor: `json.dumps` of every finding's shown columns (best of `repeat`)."""
    columns = ["status", "severity", "control_id", "resource_arn", "plan", "detail"]
    rows = results.findings[columns].astype(object).to_numpy().tolist()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        json.dumps(rows, default=str)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument(
        "--format", action="append", default=[], help="only these formats (repeatable)"
    )
    args = parser.parse_args()
    results = big_results(args.findings)
    floor = floor_seconds(results)
    print(f"floor  {floor:7.2f} s   (json.dumps of every finding's shown columns)")
    ok = True
    for fmt in [Format(f) for f in args.format] or list(Format):
        started = time.perf_counter()
        text = render(results, fmt)
        seconds, mb = time.perf_counter() - started, len(text.encode("utf-8")) / 1e6
        line = f"{fmt.value:6s} {seconds:7.2f} s {mb:8.2f} MB"
        if fmt is Format.HTML:
            ok = seconds <= HTML_SECONDS and mb <= HTML_MB
            line += (
                f"   (limits: {HTML_SECONDS:.0f} s, {HTML_MB:.0f} MB: {'ok' if ok else 'EXCEEDED'};"
                f" {seconds / floor:.1f} x the floor)"
            )
        print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
