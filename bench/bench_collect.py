"""Benchmark: `auditor collect` against Cloud Custodian listing the same emulated estate.

    python bench/bench_collect.py                       # ~10,000 resources over 3 regions
    python bench/bench_collect.py --resources 2000      # a quicker run
    python bench/bench_collect.py --skip-c7n            # without Cloud Custodian
    python bench/bench_collect.py --audit               # and `auditor audit` after both

One process seeds a sandbox estate (`auditor.sandbox.seed_estate`, scaled to the wanted number of
resources) and serves it on a local `SandboxServer`. Both tools then run as child processes against
that same endpoint (`AWS_ENDPOINT_URL`), one after the other, so neither competes with the other
for the server:

1. `python -m auditor collect --region R ... --out DIR` — timed as a whole (interpreter start
   included) and by its manifest's `duration_seconds`; API calls by operation from the manifest.
2. `python bench/c7n/run_c7n.py` — `custodian run` with `bench/c7n/policies.yml` (one listing policy
   per resource type: ebs, ebs-snapshot, rds, rds-snapshot, rds-cluster, dynamodb-table,
   dynamodb-backup, efs, backup-plan, backup-vault) over the same regions; API calls counted by
   operation inside that process; timed as a whole and around `custodian run` only.

With `--audit`, `python -m auditor audit` (bench/bench_audit_memory.py's command) runs third
against the same server, so collect, Custodian and audit are measured in one run.

Cloud Custodian is not a dependency of `auditor`: install it into the venv first (bench/README.md).
The figures print as a table; `--json FILE` also writes them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)
REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]
# What seed_estate builds per region at scale 1.0 (measured 2026-11-30).
RESOURCES_PER_SCALE_PER_REGION = 57
# Target: collecting needs no more memory than Cloud Custodian listing the same estate.
PEAK_RSS_LIMIT_RATIO = 1.0
# Target: `auditor audit` on the ~10,000-resource estate peaks at or below this.
AUDIT_PEAK_RSS_LIMIT_MIB = 600


def _env(endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGIONS[0],
        AWS_MAX_ATTEMPTS="3",
    )
    env.pop("AWS_PROFILE", None)
    return env


def add_latency(ms: float) -> None:
    """Make every request to the sandbox server wait `ms` first, like a round trip to a real region.

    The wait is a sleep in the server's request thread (it holds no lock), so concurrent clients
    overlap their waits as they would over a network; 0 leaves the server as it is.
    """
    if ms <= 0:
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def delayed(self, environ, start_response):
        time.sleep(ms / 1000)
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = delayed


def seed(scale: float, regions: list[str], latency_ms: float = 0):
    """Start the sandbox server and seed it; return (server, estate, seconds)."""
    from auditor.sandbox import SandboxServer, seed_estate

    add_latency(latency_ms)
    server = SandboxServer().start()
    started = time.perf_counter()
    estate = seed_estate(AS_OF, regions=regions, scale=scale)
    return server, estate, time.perf_counter() - started


# Runs argv[2:] as its own child and writes that child's wait4 figures as JSON to fd argv[1].
_LAUNCHER = """
import json, os, sys
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(report, json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss,
                        usage.ru_utime + usage.ru_stime]).encode())
"""


def run_child(cmd: list[str], env: dict[str, str]) -> dict:
    """Run `cmd` as a child process; its exit code, output, wall and CPU time and peak RSS.

    The peak resident set size is the child's own, from the kernel (`wait4` -> `ru_maxrss`, KiB
    on Linux). Linux carries a process's peak RSS across exec, and a child forked (or vforked) by
    this process starts as a copy of it: its peak would be at least this process's, which serves
    the seeded emulator (about 1 GiB at 10,000 resources). So `cmd` is started by a small
    launcher process, and the figures are those of the launcher's own child. The pipes are read
    in threads while the launcher runs.
    """
    started = time.perf_counter()
    report_read, report_write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(report_write), *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(report_write,),
    )
    os.close(report_write)
    streams: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: streams.__setitem__(n, s.read()))
        for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for t in readers:
        t.start()
    with os.fdopen(report_read, "rb") as report:
        returncode, max_rss_kib, cpu_seconds = json.loads(report.read() or b"[1, 0, 0]")
    proc.wait()
    proc.returncode = returncode
    for t in readers:
        t.join()
    return {
        "returncode": proc.returncode,
        "stdout": streams.get("stdout", ""),
        "stderr": streams.get("stderr", ""),
        "wall_seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mib": max_rss_kib / 1024,
    }


def run_auditor(endpoint: str, regions: list[str], workdir: Path, max_workers: int) -> dict:
    """Run `auditor collect` as a child process; its wall time, manifest figures and counts."""
    out = workdir / "inventory"
    cmd = [sys.executable, "-m", "auditor", "collect", "--quiet", "--out", str(out)]
    for region in regions:
        cmd += ["--region", region]
    if max_workers:
        cmd += ["--max-workers", str(max_workers)]
    child = run_child(cmd, _env(endpoint))
    if child["returncode"] not in (0, 1) or not (out / "manifest.json").exists():
        raise SystemExit(
            f"auditor collect failed ({child['returncode']}): {child['stderr'].strip()[-2000:]}"
        )
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "command": " ".join(cmd[1:]),
        "exit_code": child["returncode"],
        "wall_seconds": child["wall_seconds"],
        "cpu_seconds": child["cpu_seconds"],
        "peak_rss_mib": child["peak_rss_mib"],
        "inner_seconds": manifest.get("duration_seconds"),
        "api_calls": manifest.get("api_calls", {}),
        "tables": manifest.get("tables", {}),
        "stderr_tail": child["stderr"].strip().splitlines()[-1:],
    }


def run_c7n(endpoint: str, regions: list[str], workdir: Path) -> dict:
    """Run Cloud Custodian's listing policies as a child process (bench/c7n/run_c7n.py)."""
    counts = workdir / "c7n-counts.json"
    output = workdir / "c7n-output"
    cmd = [
        sys.executable,
        str(HERE / "c7n" / "run_c7n.py"),
        str(counts),
        "--",
        "run",
        "-s",
        str(output),
        "--cache-period",
        "0",
    ]
    for region in regions:
        cmd += ["--region", region]
    cmd.append(str(HERE / "c7n" / "policies.yml"))
    child = run_child(cmd, _env(endpoint))
    if not counts.exists():
        raise SystemExit(
            f"custodian failed ({child['returncode']}): {child['stderr'].strip()[-2000:]}"
        )
    data = json.loads(counts.read_text())
    per_type: Counter = Counter()
    for key, n in data["resources"].items():
        per_type[key.split("/")[-1].removeprefix("bench-")] += n
    return {
        "command": "custodian " + " ".join(cmd[cmd.index("--") + 1 :]),
        "exit_code": data["exit_code"],
        "wall_seconds": child["wall_seconds"],
        "cpu_seconds": child["cpu_seconds"],
        "peak_rss_mib": child["peak_rss_mib"],
        "inner_seconds": data["seconds"],
        "api_calls": data["api_calls"],
        "resources_listed": dict(sorted(per_type.items())),
    }


# The instant `--audit` judges (the estate is seeded relative to it).
AUDIT_AS_OF = "2026-11-26T00:00:00Z"


def run_audit(endpoint: str, regions: list[str], workdir: Path) -> dict:
    """Run `auditor audit` with the repository's policies as a child process; its figures."""
    cmd = [sys.executable, "-m", "auditor", "audit", "--quiet", "--policies"]
    cmd += [
        str(HERE.parent / "policies"),
        "--out",
        str(workdir / "results"),
        "--as-of",
        AUDIT_AS_OF,
    ]
    for region in regions:
        cmd += ["--region", region]
    child = run_child(cmd, _env(endpoint))
    if child["returncode"] not in (0, 1, 3):
        raise SystemExit(
            f"auditor audit failed ({child['returncode']}): {child['stderr'].strip()[-2000:]}"
        )
    return {
        "command": " ".join(cmd[1:]),
        "exit_code": child["returncode"],
        "wall_seconds": child["wall_seconds"],
        "cpu_seconds": child["cpu_seconds"],
        "peak_rss_mib": child["peak_rss_mib"],
    }


def _print_calls(title: str, calls: dict[str, int], resources: int) -> None:
    total = sum(calls.values())
    print(
        f"\n{title}: {total} API calls, {1000 * total / max(resources, 1):.1f} per 1,000 resources"
    )
    for op, n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:>7}  {op}")


def _print_memory(ours: dict, theirs: dict, resources: int) -> float:
    """Both tools' peak RSS side by side, the ratio and its limit; return the ratio."""
    ratio = ours["peak_rss_mib"] / theirs["peak_rss_mib"]
    verdict = "met" if ratio <= PEAK_RSS_LIMIT_RATIO else "NOT met"
    print(
        f"peak RSS: auditor collect {ours['peak_rss_mib']:.0f} MiB, custodian run "
        f"{theirs['peak_rss_mib']:.0f} MiB ({resources} resources): ratio {ratio:.2f} "
        f"(limit {PEAK_RSS_LIMIT_RATIO:.2f}: {verdict}); per 1,000 resources: auditor "
        f"{1000 * ours['peak_rss_mib'] / max(resources, 1):.0f} MiB, custodian "
        f"{1000 * theirs['peak_rss_mib'] / max(resources, 1):.0f} MiB"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, run both tools, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--resources", type=int, default=10_000, help="approximate resources to seed (all regions)"
    )
    parser.add_argument(
        "--scale", type=float, default=None, help="seed_estate scale (overrides --resources)"
    )
    parser.add_argument("--regions", default=",".join(REGIONS))
    parser.add_argument(
        "--max-workers", type=int, default=0, help="auditor --max-workers (default: its own)"
    )
    parser.add_argument("--skip-c7n", action="store_true")
    parser.add_argument(
        "--audit", action="store_true", help="also run `auditor audit` against the same estate"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="delay every request by this much, like a network round trip (default 0)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the figures to this file"
    )
    args = parser.parse_args(argv)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    scale = args.scale or args.resources / (RESOURCES_PER_SCALE_PER_REGION * len(regions))
    print(f"seeding scale={scale:.2f} over {len(regions)} regions ...", flush=True)
    server, estate, seed_seconds = seed(scale, regions, args.latency_ms)
    resources = len(estate.resources)
    backups = estate.backups
    print(
        f"seeded {resources} resources and {len(backups)} backups "
        f"({ {k: int(v) for k, v in backups['backup_type'].value_counts().sort_index().items()} }) in {seed_seconds:.1f} s",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-collect-"))
    figures: dict = {
        "estate": {
            "scale": scale,
            "regions": regions,
            "resources": resources,
            "backups": len(backups),
            "backups_by_type": {
                k: int(v) for k, v in backups["backup_type"].value_counts().items()
            },
            "seed_seconds": seed_seconds,
        },
        "latency_ms": args.latency_ms,
    }
    try:
        print("running auditor collect ...", flush=True)
        ours = run_auditor(server.endpoint_url, regions, workdir, args.max_workers)
        figures["auditor"] = ours
        print(
            f"auditor collect: {ours['wall_seconds']:.1f} s wall ({ours['inner_seconds']} s collecting), "
            f"{ours['cpu_seconds']:.1f} s CPU, peak RSS {ours['peak_rss_mib']:.0f} MiB, "
            f"exit {ours['exit_code']}, tables {ours['tables'].get('resources')} resources / "
            f"{ours['tables'].get('recovery_points')} recovery points",
            flush=True,
        )
        _print_calls("auditor collect", ours["api_calls"], resources)
        if not args.skip_c7n:
            print("\nrunning custodian run ...", flush=True)
            theirs = run_c7n(server.endpoint_url, regions, workdir)
            figures["c7n"] = theirs
            print(
                f"custodian run: {theirs['wall_seconds']:.1f} s wall ({theirs['inner_seconds']:.1f} s in run), "
                f"{theirs['cpu_seconds']:.1f} s CPU, peak RSS {theirs['peak_rss_mib']:.0f} MiB, "
                f"exit {theirs['exit_code']}; listed {theirs['resources_listed']}"
            )
            _print_calls("custodian run", theirs["api_calls"], resources)
            ratio = ours["wall_seconds"] / theirs["wall_seconds"]
            figures["ratio_wall"] = ratio
            print(
                f"\nratio auditor/c7n wall time: {ratio:.2f} ({'faster' if ratio < 1 else 'slower'} than c7n)"
            )
            figures["ratio_peak_rss"] = _print_memory(ours, theirs, resources)
        if args.audit:
            print("\nrunning auditor audit ...", flush=True)
            audit = run_audit(server.endpoint_url, regions, workdir)
            figures["audit"] = audit
            print(
                f"auditor audit: {audit['wall_seconds']:.1f} s wall, {audit['cpu_seconds']:.1f} s CPU,"
                f" peak RSS {audit['peak_rss_mib']:.0f} MiB"
                f" ({1000 * audit['peak_rss_mib'] / max(resources, 1):.0f} MiB per 1,000 resources),"
                f" exit {audit['exit_code']}; limit {AUDIT_PEAK_RSS_LIMIT_MIB} MiB:"
                f" {'met' if audit['peak_rss_mib'] <= AUDIT_PEAK_RSS_LIMIT_MIB else 'NOT met'}"
            )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
