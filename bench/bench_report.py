"""Benchmark: render every report format for a large result (default 100,000 findings).

    python bench/bench_report.py [--findings 100000]

Prints seconds and output size per format; the HTML report (every finding paged in the page) has
limits, printed beside its numbers: rendered in at most 5 s and at most 10 MB. Exits 1 when the
HTML misses either. Not run by CI's pass/fail.
"""

from __future__ import annotations

import argparse
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
    results = make_results()
    results.findings = findings_frame(big)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    args = parser.parse_args()
    results = big_results(args.findings)
    ok = True
    for fmt in Format:
        started = time.perf_counter()
        text = render(results, fmt)
        seconds, mb = time.perf_counter() - started, len(text.encode("utf-8")) / 1e6
        line = f"{fmt.value:6s} {seconds:7.2f} s {mb:8.2f} MB"
        if fmt is Format.HTML:
            ok = seconds <= HTML_SECONDS and mb <= HTML_MB
            line += (
                f"   (limits: {HTML_SECONDS:.0f} s, {HTML_MB:.0f} MB: {'ok' if ok else 'EXCEEDED'})"
            )
        print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
