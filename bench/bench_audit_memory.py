"""Benchmark: peak memory (RSS) of `auditor audit` on a ~10,000-resource emulated estate.

    python bench/bench_audit_memory.py                  # ~10,000 resources over 3 regions
    python bench/bench_audit_memory.py --resources 2000

Seeds a sandbox estate and serves it on a local `SandboxServer` (in this process), then runs
`python -m auditor audit --policies policies --region R ... --out DIR --as-of T` as a child
process against it and reads the child's peak resident set size from the kernel
(`os.wait4` → `ru_maxrss`), so the server's own memory is not counted. Prints the wall time, the
peak RSS and the number of findings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_collect import (  # noqa: E402
    AS_OF,
    REGIONS,
    RESOURCES_PER_SCALE_PER_REGION,
    _env,
    run_child,
    seed,
)


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, run `auditor audit` once, print its peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--regions", default=",".join(REGIONS))
    parser.add_argument("--policies", type=Path, default=HERE.parent / "policies")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    scale = args.scale or args.resources / (RESOURCES_PER_SCALE_PER_REGION * len(regions))
    print(f"seeding scale={scale:.2f} over {len(regions)} regions ...", flush=True)
    server, estate, seed_seconds = seed(scale, regions)
    print(
        f"seeded {len(estate.resources)} resources and {len(estate.backups)} backups in {seed_seconds:.1f} s",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    out = workdir / "results"
    cmd = [
        sys.executable,
        "-m",
        "auditor",
        "audit",
        "--quiet",
        "--policies",
        str(args.policies),
        "--out",
        str(out),
        "--as-of",
        AS_OF.isoformat().replace("+00:00", "Z"),
    ]
    for region in regions:
        cmd += ["--region", region]
    try:
        child = run_child(cmd, _env(server.endpoint_url))  # the child's own peak, from wait4
        wall, peak_mib, code = child["wall_seconds"], child["peak_rss_mib"], child["returncode"]
        findings = None
        if (out / "findings.json").exists():
            findings = len(json.loads((out / "findings.json").read_text())["findings"])
        print(f"command: {' '.join(cmd[1:])}")
        print(
            f"auditor audit: exit {code}, {wall:.1f} s wall, peak RSS {peak_mib:.0f} MiB, "
            f"{findings} findings"
        )
        if code not in (0, 1, 3):
            print(child["stderr"][-2000:], file=sys.stderr)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "resources": len(estate.resources),
                        "backups": len(estate.backups),
                        "exit_code": code,
                        "wall_seconds": wall,
                        "peak_rss_mib": peak_mib,
                        "findings": findings,
                        "command": " ".join(cmd[1:]),
                    },
                    indent=2,
                )
            )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
