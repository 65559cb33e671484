"""Benchmark: build a scaled sandbox estate, then list it back through boto3.

    python bench/bench_sandbox.py [--scale 100] [--regions us-east-1,eu-west-1,us-west-2] [--list]

Prints the seeding time and the estate's size; with --list, the time to page through every EC2
snapshot and every AWS Backup recovery point of the first region (client-side parsing by botocore
dominates that figure). Not run by CI.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,us-west-2")
    parser.add_argument(
        "--list", action="store_true", help="also list the first region through boto3"
    )
    args = parser.parse_args()

    from auditor.sandbox import install, seed_estate

    install()
    import boto3
    from moto import mock_aws

    regions = args.regions.split(",")
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    with mock_aws():
        t0 = time.perf_counter()
        estate = seed_estate(as_of, scale=args.scale, regions=regions)
        seeded = time.perf_counter() - t0
        print(f"seed_estate(scale={args.scale}, {len(regions)} regions): {seeded:.1f} s")
        print(
            f"  resources {len(estate.resources):,} (+{len(estate.deleted_resources):,} deleted), "
            f"backups {len(estate.backups):,}, jobs {len(estate.jobs):,}"
        )
        print(
            "  "
            + ", ".join(f"{k} {v:,}" for k, v in estate.backups.backup_type.value_counts().items())
        )
        if args.list:
            region = regions[0]
            ec2 = boto3.client("ec2", region_name=region)
            t0 = time.perf_counter()
            n = sum(
                len(p["Snapshots"])
                for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"])
            )
            print(f"  {region}: describe_snapshots {n:,} in {time.perf_counter() - t0:.1f} s")
            backup = boto3.client("backup", region_name=region)
            t0 = time.perf_counter()
            n = 0
            for vault in backup.list_backup_vaults()["BackupVaultList"]:
                for p in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
                    BackupVaultName=vault["BackupVaultName"]
                ):
                    n += len(p["RecoveryPoints"])
            print(
                f"  {region}: list_recovery_points_by_backup_vault {n:,} in {time.perf_counter() - t0:.1f} s"
            )


if __name__ == "__main__":
    main()
