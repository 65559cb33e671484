"""Benchmark: render every report format for a large result (default 100,000 findings).

    python bench/bench_report.py [--findings 100000]

Prints seconds and output size per format. Not run by CI's pass/fail.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from auditor.report import Format, findings_frame, render
from auditor.report.sample import FINDINGS, make_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    args = parser.parse_args()
    n = args.findings
    base = pd.DataFrame(FINDINGS)
    big = base.loc[base.index.repeat(n // len(base) + 1)].head(n).reset_index(drop=True)
    big["resource_arn"] = big["resource_arn"] + "-" + pd.Series(range(n)).astype(str)
    results = make_results()
    results.findings = findings_frame(big)
    for fmt in Format:
        started = time.perf_counter()
        text = render(results, fmt)
        print(f"{fmt.value:6s} {time.perf_counter() - started:7.2f} s {len(text) / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
