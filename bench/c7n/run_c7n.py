"""Run `custodian run` in this process and count its AWS API calls by operation.

Usage: python bench/c7n/run_c7n.py COUNTS.json -- <custodian run arguments>

Counting wraps botocore's `BaseClient._make_api_call`, the single funnel every boto3 client call
goes through, so the figures are the operations c7n really issued (retries not included, the same
as `auditor`'s manifest counts). Wall time is measured around `custodian run` only (imports
excluded), and written with the counts and each policy's resource count to COUNTS.json.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run custodian with the arguments after `--`; write counts to argv[0]."""
    out = Path(argv[0])
    args = argv[argv.index("--") + 1 :]

    import botocore.client

    calls: collections.Counter = collections.Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        with lock:
            calls[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted

    from c7n.cli import main as custodian_main

    sys.argv = ["custodian", *args]
    started = time.perf_counter()
    code = 0
    try:
        custodian_main()
    except SystemExit as exc:  # custodian's main exits
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    elapsed = time.perf_counter() - started

    resources: dict[str, int] = {}
    output_dir = Path(args[args.index("-s") + 1]) if "-s" in args else None
    if output_dir is not None:
        for path in output_dir.rglob("resources.json"):
            try:
                n = len(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
            key = str(path.parent.relative_to(output_dir))
            resources[key] = n
    out.write_text(
        json.dumps(
            {
                "exit_code": code,
                "seconds": elapsed,
                "api_calls": dict(sorted(calls.items())),
                "resources": resources,
            },
            indent=2,
        )
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
