"""Benchmark: meter N recovery points (default 10,000,000) and print the time and peak RSS.

    python bench/bench_meter.py [--rows N] [--resources M] [--by-tag team] [--threads T]

The synthetic inventory is built column-wise with pyarrow (not timed) and converted to pandas the
way `read_inventory` does, so `meter` sees the same dtypes as after reading Parquet. 50 accounts,
5 regions, every backup type and storage class, ~1% orphaned backups, 20 backup plans.
Target: 10,000,000 recovery points in <= 2.6 s wall on 2 idle cores, twice the floor (one pandas
group-by of the same recovery points by the billing keys), printed side by side with the ratio.
The recovery points come as `read_inventory(compact=True)` gives them: the repeated string
columns dictionary-encoded in Arrow before pandas (categoricals), which metering uses as codes.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor.inventory import LOW_CARDINALITY, SCHEMAS, Inventory, _types_mapper, empty_frame
from auditor.metering import load_prices, meter

TYPES = [
    "ebs-snapshot",
    "storagegateway-snapshot",
    "rds-snapshot",
    "rds-cluster-snapshot",
    "dynamodb-backup",
    "efs-backup",
]
RTYPES = [
    "ebs-volume",
    "storagegateway-volume",
    "rds-instance",
    "rds-cluster",
    "dynamodb-table",
    "efs-filesystem",
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
BASES = [
    "BackupSizeInBytes",
    "FullSnapshotSizeInBytes",
    "BackupSizeBytes",
    "VolumeSize(upper-bound)",
]


LIMIT_S = 2.6  # seconds, 10M recovery points, idle 2-core machine


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def _table(name: str, columns: dict[str, pa.Array], n: int) -> pa.Table:
    schema = SCHEMAS[name]
    arrays = [columns.get(f.name, pa.nulls(n, f.type)) for f in schema]
    return pa.Table.from_arrays([a.cast(f.type) for a, f in zip(arrays, schema)], schema=schema)


def build(rows: int, n_resources: int, seed: int = 1) -> Inventory:
    """A synthetic inventory with `rows` recovery points of `n_resources` resources."""
    rng = np.random.default_rng(seed)
    accounts = np.array([f"{100000000000 + i}" for i in range(50)])
    r_acct = rng.integers(0, 50, n_resources)
    r_region = rng.integers(0, len(REGIONS), n_resources)
    r_type = rng.integers(0, len(TYPES), n_resources)
    r_arn = pc.binary_join_element_wise(
        "arn:aws:svc:",
        pa.array(np.array(REGIONS)[r_region]),
        ":",
        pa.array(accounts[r_acct]),
        ":res/",
        pc.cast(pa.array(np.arange(n_resources)), pa.string()),
        "",
    )
    engines = np.where(
        r_type == 3,
        np.where(rng.random(n_resources) < 0.8, "aurora-postgresql", "postgres"),
        np.where(r_type == 2, "mysql", None),
    )
    resources = _table(
        "resources",
        {
            "account_id": pa.array(accounts[r_acct]),
            "region": pa.array(np.array(REGIONS)[r_region]),
            "resource_type": pa.array(np.array(RTYPES)[r_type]),
            "resource_arn": r_arn,
            "size_bytes": pa.array(rng.integers(1, 500, n_resources) << 30),
            "state": pa.array(np.full(n_resources, "available")),
            "engine": pa.array(engines, type=pa.string()),
        },
        n_resources,
    )

    src = rng.integers(0, n_resources, rows)
    orphan = rng.random(rows) < 0.01
    resource_arn = pc.if_else(
        pa.array(orphan),
        _strings("arn:aws:svc:us-east-1:100000000000:res/gone-", np.arange(rows)),
        r_arn.take(pa.array(src)),
    )
    bt = r_type[src]
    cls = np.where(
        np.isin(bt, [0, 1]),
        rng.choice(3, rows, p=[0.8, 0.1, 0.1]),
        np.where(bt == 5, rng.choice(2, rows, p=[0.7, 0.3]), 0),
    )
    base = datetime(2026, 11, 26, tzinfo=UTC).timestamp() * 1e6
    created = (base - rng.uniform(0, 730, rows) * 86_400e6).astype("int64")
    delete = created + (rng.uniform(1, 400, rows) * 86_400e6).astype("int64")
    delete_mask = rng.random(rows) < 0.5
    plan_ids = np.array([f"plan-{i:02d}" for i in range(20)] + [None], dtype=object)
    rp = _table(
        "recovery_points",
        {
            "account_id": pa.array(accounts[r_acct[src]]),
            "region": pa.array(np.array(REGIONS)[r_region[src]]),
            "recovery_point_arn": _strings(
                "arn:aws:backup:us-east-1:100000000000:recovery-point:", np.arange(rows)
            ),
            "resource_arn": resource_arn,
            "resource_type": pa.array(np.array(RTYPES)[bt]),
            "backup_type": pa.array(np.array(TYPES)[bt]),
            "source": pa.array(np.where(rng.random(rows) < 0.5, "aws-backup", "native")),
            "status": pa.array(np.where(rng.random(rows) < 0.001, "FAILED", "COMPLETED")),
            "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
            "delete_at": pa.array(delete, type=pa.timestamp("us", tz="UTC"), mask=delete_mask),
            "size_bytes": pa.array(rng.integers(1, 200 << 30, rows)),
            "size_basis": pa.array(np.array(BASES)[rng.integers(0, len(BASES), rows)]),
            "storage_class": pa.array(np.array(["warm", "cold", "archive"])[cls]),
            "backup_plan_id": pa.array(
                plan_ids[rng.integers(0, len(plan_ids), rows)], type=pa.string()
            ),
        },
        rows,
    )
    tag_rows = n_resources // 2
    tags = _table(
        "tags",
        {
            "arn": r_arn.slice(0, tag_rows),
            "key": pa.array(np.full(tag_rows, "team")),
            "value": pa.array(
                np.array(["red", "blue", "green", "data"])[rng.integers(0, 4, tag_rows)]
            ),
        },
        tag_rows,
    )
    tables = {name: empty_frame(name) for name in SCHEMAS}
    for name, table in (("recovery_points", rp), ("resources", resources), ("tags", tags)):
        tables[name] = _compact(name, table).to_pandas(types_mapper=_types_mapper)
    return Inventory(tables=tables, manifest={"accounts": list(accounts), "regions": REGIONS})


def _compact(name: str, table: pa.Table) -> pa.Table:
    """The table as `read_inventory(compact=True)` gives it (what `meter` and `check` read):
    the columns of LOW_CARDINALITY dictionary-encoded in Arrow, so pandas gets categoricals."""
    for column in sorted(LOW_CARDINALITY.get(name, ())):
        i = table.schema.get_field_index(column)
        table = table.set_column(i, column, pc.dictionary_encode(table.column(i)))
    return table


def _group_by_floor(inv: Inventory) -> tuple[float, float]:
    """(wall, CPU) seconds of the least any metering must do: one pandas group-by of every
    recovery point by the billing keys, summing sizes, on the same frame."""
    rp = inv.recovery_points
    keys = ["account_id", "region", "backup_type", "storage_class"]
    t, c = time.perf_counter(), time.process_time()
    rp.groupby(keys, observed=True, sort=False)["size_bytes"].sum()
    return time.perf_counter() - t, time.process_time() - c


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    """Build, meter, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--resources", type=int, default=500_000)
    parser.add_argument("--by-tag", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="priority change for the timed part only (negative needs root), to time on a shared machine",
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    inv = build(args.rows, args.resources)
    prices = load_prices()
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; built {args.rows:,} recovery points, {args.resources:,} resources in {time.perf_counter() - t0:.1f} s; "
        f"peak RSS so far {_rss_mb():,.0f} MiB",
        flush=True,
    )
    as_of = datetime(2026, 11, 26, tzinfo=UTC)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    for _ in range(args.repeat):
        t1, c1 = time.perf_counter(), time.process_time()
        result = meter(inv, prices, as_of, by_tags=args.by_tag)
        elapsed, cpu = time.perf_counter() - t1, time.process_time() - c1
        print(
            f"metered {args.rows:,} recovery points in {elapsed:.2f} s wall, {cpu:.2f} s CPU "
            f"({len(result.frame)} rows, {len(result.orphans):,} orphans, total ${result.totals['estimated_cost_usd']:,.2f}); "
            f"peak RSS {_rss_mb():,.0f} MiB",
            flush=True,
        )
        print(
            "  phases (wall): "
            + ", ".join(
                f"{k} {v:.2f}s" for k, v in result.timings.items() if v >= 0.01 and "(cpu)" not in k
            ),
            flush=True,
        )
        print(
            "  phases (CPU):  "
            + ", ".join(
                f"{k[:-6]} {v:.2f}s"
                for k, v in result.timings.items()
                if v >= 0.01 and "(cpu)" in k
            ),
            flush=True,
        )
        floor_s, floor_cpu = _group_by_floor(inv)
        print(
            f"  floor (pandas group-by of the same recovery points by account, region, backup type"
            f" and storage class, summing sizes): {floor_s:.2f} s wall, {floor_cpu:.2f} s CPU;"
            f" meter / floor x{elapsed / floor_s:.2f} wall, x{cpu / floor_cpu:.2f} CPU"
            f" (limit x2, and {LIMIT_S:g} s wall on the idle machine at 10M)",
            flush=True,
        )
        print(f"  load average now {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
