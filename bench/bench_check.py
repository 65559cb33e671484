"""Benchmark of the compliance engine: a synthetic inventory, evaluated by `check_inventory`.

At scale 1.0: 1,000,000 resources, 10,000,000 recovery points (native and AWS Backup, copies and
orphans among them), 3,000,000 tag rows, 20 declared plans, 10 accounts x 4 regions with deployed
AWS Backup plans and selections. The inventory is generated once per scale into a cache folder
(Parquet, the layout `auditor collect` writes); each measurement then runs in a fresh child process
that reads it with `read_inventory` and evaluates every control, and reports:

    read_s     reading the Parquet inventory into DataFrames
    check_s    check_inventory: every control, verdicts and summary for every resource
    rss_gib    peak resident memory of that child process

With --write, the child then writes every findings file the way `check` does, each in its own
pass over the canonical batches (each pass makes the text of every row again, so each figure
includes that), and beside each its floor on the same rows in the same process (so a loaded
machine slows both alike and the ratio stays meaningful):

    sort_s         the canonical row order, sorted on integer codes (`FindingRows.order`)
    parquet_s      findings.parquet            floor: pyarrow.parquet.ParquetWriter, defaults
    csv_s          findings.csv                floor: pyarrow.csv.CSVWriter, defaults
                                               (and pandas to_csv of the first 1M rows)
    json_s         findings.json, jsonl_s findings.jsonl (shown against the CSV's time)
    e2e_s          read + check + order + Parquet: what `check` needs before any text file
    e2e_rss_gib    peak RSS up to there; write_rss_gib: peak with every file written
    verdicts       sha256 of (account, region, resource, control, plan, status) of every
                   finding in canonical order, compared with the hash recorded for that scale

A floor is the time spent inside the plain writer's calls for the rows read back from
findings.parquet (the reading is not counted), so the ratio to it is what making the text and
our writer's options cost on top of the bare encoding.

    python bench/bench_check.py --scale 0.1 --scale 1 [--scale 2] [--cache /tmp/auditor-bench]

Issue targets at scale 1 (15.3M findings) on 2 cores: check <= 20 s and <= 6 GiB; 2x the data <=
2.2x the time; Parquet <= 10 s, CSV <= 40 s, the whole check with every file <= 6 GiB; read +
check + Parquet <= 25 s and <= 5 GiB. Each figure is printed with its limit.

Measured 2026-11-26 on the 2-core build machine while other jobs loaded it (load average 5-9, so
wall times are inflated; CPU times are the process's own):

    scale 0.1  (100k resources, 1M backups, 1.53M findings):  check 0.95-1.1 s (CPU 0.9-1.1 s), peak 0.9 GiB
    scale 0.5  (500k resources, 5M backups, 7.66M findings):  check 10.9 s (CPU 6.9 s), peak 3.5 GiB
    scale 1    (1M resources, 10M backups, 15.3M findings):   check 17.4 s (CPU 14.1 s), peak 6.75 GiB
    x2 data (0.5 -> 1): wall x1.59, CPU x2.03

Of the 6.75 GiB peak, 5.6 GiB is the inventory itself as read by `read_inventory` (10M backups as
pandas large_string columns); the evaluation adds about 1.1 GiB. Reading the Parquet inventory
took 16-20 s wall at scale 1 under that load. Writing findings is output formatting, measured
apart with --write (figures in bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNTS = [f"{100000000000 + i * 1111:012d}" for i in range(10)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
TYPES = np.array(
    [
        "ebs-volume",
        "rds-instance",
        "rds-cluster",
        "dynamodb-table",
        "efs-filesystem",
        "storagegateway-volume",
    ]
)
TYPE_P = [0.55, 0.12, 0.03, 0.15, 0.08, 0.07]
ARN_FMT = {
    "ebs-volume": ("arn:aws:ec2:{r}:{a}:volume/vol-", ""),
    "rds-instance": ("arn:aws:rds:{r}:{a}:db:db-", ""),
    "rds-cluster": ("arn:aws:rds:{r}:{a}:cluster:cl-", ""),
    "dynamodb-table": ("arn:aws:dynamodb:{r}:{a}:table/t-", ""),
    "efs-filesystem": ("arn:aws:elasticfilesystem:{r}:{a}:file-system/fs-", ""),
    "storagegateway-volume": ("arn:aws:storagegateway:{r}:{a}:gateway/sgw-1/volume/vol-", ""),
}


def _str(values) -> pa.Array:
    return pa.array(values, type=pa.string())


def _concat(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays/scalars (vectorised through pyarrow)."""
    import pyarrow.compute as pc

    arrays = [p if isinstance(p, str) else pa.array(p, type=pa.string()) for p in parts]
    return pc.binary_join_element_wise(*arrays, "").to_numpy(zero_copy_only=False)


def _dict(codes: np.ndarray, names, mask: np.ndarray | None = None) -> pa.Array:
    """A string column from small-integer codes into `names` (no Python object per row)."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), type=pa.string())).cast(
        pa.string()
    )


def _table(columns: dict, schema: pa.Schema, rows: int) -> pa.Table:
    """A table of `schema`; the columns the synthetic estate does not model are null."""
    full = {
        f.name: columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema
    }
    return pa.table(full, schema=schema)


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))


def generate(scale: float, folder: Path, seed: int = 1) -> dict:
    """Write a synthetic inventory of `scale` x (1M resources, 10M recovery points) into `folder`."""
    from auditor.inventory import SCHEMAS

    rng = np.random.default_rng(seed)
    n = int(1_000_000 * scale)
    m = int(10_000_000 * scale)
    now = int((AS_OF - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    hour = 3_600_000_000
    day = 24 * hour

    acct = rng.integers(0, len(ACCOUNTS), n)
    reg = rng.integers(0, len(REGIONS), n)
    rtype = rng.choice(len(TYPES), n, p=TYPE_P)
    ids = np.char.mod("%09d", np.arange(n))
    prefix = np.empty(n, dtype=object)
    for t, name in enumerate(TYPES):
        for a, account in enumerate(ACCOUNTS):
            for r, region in enumerate(REGIONS):
                sel = (rtype == t) & (acct == a) & (reg == r)
                prefix[sel] = ARN_FMT[name][0].format(r=region, a=account)
    arns = _concat(prefix, ids)
    engine = np.where(
        rtype == 2,
        np.where(rng.random(n) < 0.7, "aurora-postgresql", "postgres"),
        np.where(rtype == 1, "postgres", None),
    )
    native = np.where((rtype == 1) | ((rtype == 3) & (rng.random(n) < 0.3)), 1, 0).astype(bool)
    resources = _table(
        {
            "account_id": _str(np.array(ACCOUNTS, dtype=object)[acct]),
            "region": _str(np.array(REGIONS, dtype=object)[reg]),
            "resource_type": _str(TYPES[rtype].astype(object)),
            "resource_arn": _str(arns),
            "resource_id": _str(ids.astype(object)),
            "name": pa.nulls(n, pa.string()),
            "created_at": _ts(now - rng.integers(1, 1500, n) * day),
            "size_bytes": pa.array(rng.integers(1, 2000, n) * 1024**3, type=pa.int64()),
            "encrypted": pa.array(rng.random(n) < 0.9),
            "kms_key_id": pa.nulls(n, pa.string()),
            "state": _str(np.full(n, "available", dtype=object)),
            "engine": _str(engine),
            "parent_arn": pa.nulls(n, pa.string()),
            "native_schedule": _str(
                np.where(native, np.where(rtype == 1, "rds-automated", "dynamodb-pitr"), None)
            ),
            "native_frequency_hours": pa.array(
                np.where(rtype == 1, 24.0, 0.0833), type=pa.float64(), mask=~native
            ),
            "native_retention_days": pa.array(np.full(n, 7), type=pa.int64(), mask=~native),
        },
        SCHEMAS["resources"],
        n,
    )

    # Tags: backup (gold/silver/bronze/none/absent), env, team, app for some.
    tag_arn, tag_key, tag_val = [], [], []
    backup = rng.choice(
        np.array(["gold", "silver", "bronze", "none", ""], dtype=object),
        n,
        p=[0.2, 0.3, 0.2, 0.1, 0.2],
    )
    for key, values, share in (
        ("backup", backup, 1.0),
        ("env", rng.choice(np.array(["prod", "dev", "qa"], dtype=object), n), 0.9),
        (
            "team",
            rng.choice(
                np.array(
                    ["payments", "search", "data", "platform", "web", "payroll"], dtype=object
                ),
                n,
            ),
            0.8,
        ),
        ("app", rng.choice(np.array([f"app-{i}" for i in range(50)], dtype=object), n), 0.3),
    ):
        keep = (rng.random(n) < share) & (values != "")
        tag_arn.append(arns[keep])
        tag_key.append(np.full(keep.sum(), key, dtype=object))
        tag_val.append(values[keep])
    t_arn = np.concatenate(tag_arn)
    tags = pa.table(
        {
            "account_id": pa.nulls(len(t_arn), pa.string()),
            "region": pa.nulls(len(t_arn), pa.string()),
            "arn": _str(t_arn),
            "key": _str(np.concatenate(tag_key)),
            "value": _str(np.concatenate(tag_val)),
        },
        schema=SCHEMAS["tags"],
    )

    # Recovery points: ~10 per resource, a few orphans, some copies to another region.
    res_of = rng.integers(0, n, m)
    orphan = rng.random(m) < 0.02
    copy = (rng.random(m) < 0.05) & ~orphan
    age = rng.exponential(20 * day, m).astype(np.int64) + rng.integers(0, day, m)
    created = now - age
    del age
    keep_days = rng.choice(np.array([7, 35, 120, 400]), m, p=[0.2, 0.5, 0.2, 0.1])
    source_ab = rng.random(m) < 0.6
    rp_region = np.where(copy, (reg[res_of] + 1) % len(REGIONS), reg[res_of])
    rp_ids = pa.array(np.char.mod("%010d", np.arange(m)))
    import pyarrow.compute as pc

    res_arn = pa.array(arns, type=pa.string()).take(pa.array(res_of))
    gone = pc.binary_join_element_wise(
        "arn:aws:ec2:us-east-1:100000000000:volume/gone-", rp_ids, ""
    )
    src_arn = pc.if_else(pa.array(orphan), gone, res_arn)
    del res_arn, gone
    rp_arn = pc.binary_join_element_wise(
        _dict(
            source_ab.astype(np.int32),
            ["arn:aws:ec2:x::snapshot/snap-", "arn:aws:backup:x:y:recovery-point:"],
        ),
        rp_ids,
        "",
    )
    del rp_ids
    status = rng.choice(4, m, p=[0.95, 0.01, 0.02, 0.02])
    vault = rng.integers(0, 4, m)
    recovery_points = _table(
        {
            "account_id": _dict(acct[res_of], ACCOUNTS),
            "region": _dict(rp_region, REGIONS),
            "recovery_point_arn": rp_arn,
            "resource_arn": src_arn,
            "resource_type": _dict(rtype[res_of], TYPES),
            "backup_type": _dict(np.zeros(m), ["ebs-snapshot"]),
            "source": _dict(source_ab.astype(np.int32), ["native", "aws-backup"]),
            "created_by": _dict(source_ab.astype(np.int32), ["user", "aws-backup"]),
            "status": _dict(status, ["COMPLETED", "PARTIAL", "FAILED", "EXPIRED"]),
            "created_at": _ts(created),
            "completed_at": _ts(created + hour),
            "size_bytes": pa.array(rng.integers(1, 500, m) * 1024**3, type=pa.int64()),
            "size_basis": pa.nulls(m, pa.string()),
            "storage_class": _dict((now - created > 30 * day).astype(np.int32), ["warm", "cold"]),
            "delete_at": _ts(created + keep_days * day),
            "move_to_cold_at": pa.nulls(m, pa.timestamp("us", tz="UTC")),
            "encrypted": pa.array(rng.random(m) < 0.97),
            "kms_key_arn": pa.nulls(m, pa.string()),
            "vault_name": _dict(
                vault, ["gold-vault", "silver-vault", "Default", "dr-vault"], mask=~source_ab
            ),
            "vault_arn": pa.nulls(m, pa.string()),
            "backup_plan_id": pa.nulls(m, pa.string()),
            "backup_rule_id": pa.nulls(m, pa.string()),
            "copy_source_arn": _dict(np.zeros(m), ["arn:aws:backup:src"], mask=~copy),
        },
        SCHEMAS["recovery_points"],
        m,
    )
    del src_arn, rp_arn

    # Deployed AWS Backup: 3 plans per account x region.
    plans, rules, selections, vaults = [], [], [], []
    for a in ACCOUNTS:
        for r in REGIONS:
            for name, sched, keep, sel in (
                (
                    "gold",
                    "cron(0 5 ? * * *)",
                    35,
                    {
                        "ListOfTags": [
                            {
                                "ConditionType": "STRINGEQUALS",
                                "ConditionKey": "backup",
                                "ConditionValue": "gold",
                            }
                        ]
                    },
                ),
                (
                    "silver",
                    "cron(0 3 ? * SUN *)",
                    120,
                    {
                        "Resources": ["*"],
                        "Conditions": {
                            "StringEquals": [
                                {
                                    "ConditionKey": "aws:ResourceTag/backup",
                                    "ConditionValue": "silver",
                                }
                            ],
                            "StringNotEquals": [
                                {"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "dev"}
                            ],
                        },
                    },
                ),
                (
                    "pay",
                    "rate(12 hours)",
                    14,
                    {
                        "Resources": ["arn:aws:ec2:*:*:volume/*"],
                        "Conditions": {
                            "StringLike": [
                                {"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "pay*"}
                            ]
                        },
                    },
                ),
            ):
                pid = f"{a}-{r}-{name}"
                plans.append(
                    {"account_id": a, "region": r, "backup_plan_id": pid, "backup_plan_name": name}
                )
                rules.append(
                    {
                        "account_id": a,
                        "region": r,
                        "backup_plan_id": pid,
                        "rule_id": pid + "-r",
                        "rule_name": name + "-rule",
                        "target_vault_name": name + "-vault",
                        "schedule_expression": sched,
                        "delete_after_days": keep,
                    }
                )
                selections.append(
                    {
                        "account_id": a,
                        "region": r,
                        "backup_plan_id": pid,
                        "selection_id": pid + "-s",
                        "selection_name": name,
                        "resources": json.dumps(sel.get("Resources", [])),
                        "not_resources": "[]",
                        "list_of_tags": json.dumps(sel.get("ListOfTags", [])),
                        "conditions": json.dumps(sel.get("Conditions", {})),
                    }
                )
            for v, locked in (
                ("gold-vault", True),
                ("silver-vault", False),
                ("Default", False),
                ("dr-vault", True),
            ):
                vaults.append(
                    {
                        "account_id": a,
                        "region": r,
                        "vault_name": v,
                        "locked": locked,
                        "min_retention_days": 7 if locked else None,
                        "max_retention_days": 400 if locked else None,
                    }
                )

    from auditor.inventory import frame, write_table_files

    small = {
        "backup_plans": plans,
        "backup_rules": rules,
        "backup_selections": selections,
        "vaults": vaults,
    }
    tables = {"resources": resources, "tags": tags, "recovery_points": recovery_points}
    for name, rows in small.items():
        tables[name] = pa.Table.from_pandas(
            frame(name, rows), schema=SCHEMAS[name], preserve_index=False
        )
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, schema in SCHEMAS.items():
        # as `auditor collect` writes it: one file per account, dictionaries whole
        counts[name] = write_table_files(
            name, tables.get(name, schema.empty_table()), folder / name
        )
    manifest = {
        "schema_version": 1,
        "program_version": "bench",
        "accounts": ACCOUNTS,
        "regions": REGIONS,
        "collected_at": AS_OF.isoformat(),
        "tables": counts,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return counts


POLICY = """
version: 1
scope:
  exclude_tags: {backup: none}
plans:
"""


def policy_text() -> str:
    """20 plans over the synthetic tags: tags, conditions, types, copies, locks, cron and rate schedules."""
    lines = [POLICY.strip("\n")]
    combos = []
    for tier, freq, keep in (
        ("gold", "cron(0 5 ? * * *)", 35),
        ("silver", "7d", 90),
        ("bronze", "rate(2 days)", 14),
    ):
        for env in ("prod", "dev", "qa"):
            combos.append((tier, env, freq, keep))
    for tier, env, freq, keep in combos:
        lines += [
            f"  - name: {tier}-{env}",
            f"    select: {{tags: {{backup: {tier}}}, conditions: {{string_equals: {{env: {env}}}}}}}",
            f"    frequency: '{freq}'",
            "    grace: 4h",
            f"    retention_days: {keep}",
            "    max_retention_days: 400",
            f"    encrypted: {'true' if tier == 'gold' else 'false'}",
            f"    vault_lock: {'true' if tier == 'gold' and env == 'prod' else 'false'}",
        ]
        if tier == "gold" and env == "prod":
            lines.append(
                "    copy_to: {regions: [us-west-2, eu-west-1], accounts: ['100000001111']}"
            )
    extras = [
        (
            "payments",
            "{conditions: {string_like: {team: 'pay*'}}, resource_types: [ebs-volume]}",
            "12h",
            14,
            "[aws-backup]",
        ),
        (
            "databases",
            "{resource_types: [rds-instance, rds-cluster]}",
            "24h",
            7,
            "[native, aws-backup]",
        ),
        (
            "dynamo",
            "{resource_types: [dynamodb-table], conditions: {string_not_equals: {env: dev}}}",
            "24h",
            7,
            "[native]",
        ),
        ("efs", "{resource_types: [efs-filesystem]}", "24h", 35, "[aws-backup]"),
        (
            "search",
            "{conditions: {string_equals: {team: search}, string_not_like: {app: 'app-1*'}}}",
            "24h",
            30,
            "[aws-backup, native]",
        ),
        (
            "apps",
            "{tags: {app: [app-1, app-2, app-3]}}",
            "cron(0 */6 * * ? *)",
            7,
            "[aws-backup, native]",
        ),
        ("sgw", "{resource_types: [storagegateway-volume]}", "24h", 14, "[native]"),
        (
            "catchall-data",
            "{conditions: {string_equals: {team: data}}}",
            "7d",
            30,
            "[aws-backup, native]",
        ),
        (
            "aurora",
            "{resource_types: [rds-cluster], conditions: {string_equals: {env: prod}}}",
            "24h",
            7,
            "[aws-backup]",
        ),
        (
            "web-ebs",
            "{conditions: {string_equals: {team: web}}, resource_types: [ebs-volume]}",
            "24h",
            7,
            "[aws-backup]",
        ),
        (
            "platform",
            "{conditions: {string_equals: {team: platform}}}",
            "24h",
            7,
            "[aws-backup, native]",
        ),
    ]
    for name, select, freq, keep, accept in extras:
        lines += [
            f"  - name: {name}",
            f"    select: {select}",
            f"    frequency: '{freq}'",
            "    grace: 2h",
            f"    retention_days: {keep}",
            f"    accept: {accept}",
        ]
    return "\n".join(lines) + "\n"


# sha256 of the verdicts (`verdict_hash`) of the code before the findings writers changed, per
# scale: the bench says whether today's verdicts are the same rows, byte for byte.
EXPECTED_VERDICTS: dict[str, str] = {
    "0.001": "b500ef1661c7867d0e54ede341ddad6071993776654aec1f041389c70ce133ca",
    # 2,223,625 findings of the 17 controls, from findings.parquet written by ce2fd35 (before the
    # text was made column-wise and the inventory stored dictionary-encoded)
    "0.1": "0b77299a02dc6a2354d4eb4142658e02d692f38ad82ebb21eb2ca75fcca96d8e",
    # 11,110,931 and 22,217,901 findings: first recorded 2026-11-30 by the column-wise text (a
    # full run of the older code at these scales takes hours); the first 262,144 rows' hash at
    # scale 1 was the same for the older code and inventory layout and for this one
    "0.5": "0d9344fd48326f3dfd0d17daa40135b869cabc90a925d02b8b8f8180b2806f48",
    "1": "f62162c1d656da8f77ef49904abf748a09b1216ce2ed3f22e48ef04cfc0e9ff2",
}
# Issue targets at scale 1 (15.3M findings): seconds and GiB.
LIMITS = {"parquet_s": 10.0, "csv_s": 40.0, "write_rss_gib": 6.0, "e2e_s": 25.0, "e2e_rss_gib": 5.0}


def _peak_gib() -> float:
    """This process's peak resident set size, in GiB.

    Linux keeps a process's `ru_maxrss` across exec, and a child forked from this script starts
    with the parent's: after the parent generated the 10M-backup inventory (about 5 GiB), every
    child would report at least that. `VmHWM` is the peak of the process's own address space,
    which exec makes anew, so it is read where the kernel offers it.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024**2, 2)  # kB
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)


def verdict_hash(batches) -> str:
    """sha256 of (account, region, resource, control, plan, status) of every finding, in order."""
    import hashlib

    import pyarrow.compute as pc

    from auditor.findings import _string_bytes

    digest = hashlib.sha256()
    cols = ["account_id", "region", "resource_arn", "control_id", "plan", "status"]
    for part in batches:
        values = [pc.fill_null(part.column(c).cast(pa.string()), "\x00") for c in cols]
        line = pc.binary_join_element_wise(*values, pa.scalar("\x1f"))
        digest.update(_string_bytes(pc.binary_join_element_wise(line, "\n", "")))
    return digest.hexdigest()


def _timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn(*args)
    return round(time.perf_counter() - t, 2), round(time.process_time() - c, 2)


def _progress(out: dict) -> None:
    """The figures so far, on stderr: a run stopped half way still says what it measured."""
    print(json.dumps(out), file=sys.stderr, flush=True)


def _read_back(path: Path, columns=None):
    """findings.parquet's rows again, a batch at a time (what the floors write)."""
    from auditor.findings import BATCH_ROWS

    return pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _floor(path: Path, make_writer) -> float:
    """Seconds spent in a plain pyarrow writer's calls for the rows of findings.parquet (the
    reading is not counted): the floor of writing those rows in that format."""
    spent = 0.0
    writer = None
    for batch in _read_back(path):
        t = time.perf_counter()
        if writer is None:
            writer = make_writer(batch.schema)
        writer.write_batch(batch)
        spent += time.perf_counter() - t
    if writer is not None:
        t = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - t
    return round(spent, 2)


def _first(batches, limit: int | None):
    """The first `limit` batches (all when None)."""
    import itertools

    return batches if limit is None else itertools.islice(batches, limit)


def measure_writes(
    findings,
    out: dict,
    t_start: float,
    c_start: float,
    text_files=("csv", "json", "jsonl"),
    limit: int | None = None,
) -> None:
    """Write every findings file as `check` does, each beside its floor on the same rows.

    The rows' order is sorted on integer codes once; then each file is written in its own pass
    over the batches (each pass makes the text of every batch again, as `check` would once for
    all the files it writes), so each figure includes making the text of 15.3M rows.
    """
    from auditor import findings as fw

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        head = fw._head(findings, None)
        parquet = folder / "findings.parquet"
        t, c = time.perf_counter(), time.process_time()
        findings.rows().order()
        out["sort_s"] = round(time.perf_counter() - t, 2)
        out["sort_cpu_s"] = round(time.process_time() - c, 2)
        out["parquet_s"], out["parquet_cpu_s"] = _timed(
            fw.write_streams,
            _first(findings.batches(fw.batch_rows(len(findings)), typed=True), limit),
            parquet,
            [],
            [],
            head,
        )
        # read + evaluate + order + write Parquet: what `check` needs before any text file
        out["e2e_s"] = round(time.perf_counter() - t_start, 2)
        out["e2e_cpu_s"] = round(time.process_time() - c_start, 2)
        out["e2e_rss_gib"] = _peak_gib()
        out["parquet_mib"] = round(parquet.stat().st_size / 2**20, 1)
        out["rows_written"] = pq.read_metadata(parquet).num_rows
        _progress(out)
        for name in text_files:
            path = folder / f"findings.{name}"
            out[f"{name}_s"], out[f"{name}_cpu_s"] = _timed(
                fw.write_streams,
                _first(findings.batches(fw.batch_rows(len(findings)), typed=True), limit),
                None,
                [path],
                [fw._WRITERS[name]],
                head,
            )
            out[f"{name}_mib"] = round(path.stat().st_size / 2**20, 1)
            path.unlink()
            _progress(out)
        out["write_rss_gib"] = _peak_gib()  # every file `check` writes, and the evaluation before
        out["verdicts_sha256"] = verdict_hash(_read_back(parquet))
        _progress(out)
        # Floors, after the peak was taken: the same rows written by plain pyarrow defaults.
        import pyarrow.csv as pacsv

        floor = folder / "floor"
        out["parquet_floor_s"] = _floor(parquet, lambda schema: pq.ParquetWriter(floor, schema))
        if "csv" in text_files:
            out["csv_floor_s"] = _floor(parquet, lambda schema: pacsv.CSVWriter(floor, schema))
        floor.unlink()
        first = pq.ParquetFile(parquet).iter_batches(batch_size=1_000_000)
        frame = next(first).to_pandas()
        pandas_s, _ = _timed(lambda: frame.to_csv(floor, index=False))
        out["csv_pandas_floor_1m_s"] = pandas_s  # pandas to_csv of the first 1M rows only
        _progress(out)


def child(
    folder: str,
    policy_path: str,
    write: bool,
    text_files=("csv", "json", "jsonl"),
    limit: int | None = None,
) -> None:
    """Timed part, in a fresh process: read, check (and optionally write findings)."""
    from auditor.controls import check_inventory
    from auditor.inventory import read_inventory
    from auditor.memory import use_compact_arrow_pool
    from auditor.policy import load_policies

    t0, c0 = time.perf_counter(), time.process_time()
    use_compact_arrow_pool()  # as `auditor check` does before it reads
    policies = load_policies(policy_path)
    inventory = read_inventory(folder, compact=True)  # as `auditor check` reads it
    t1, c1 = time.perf_counter(), time.process_time()
    findings = check_inventory(inventory, policies, AS_OF)
    t2, c2 = time.perf_counter(), time.process_time()
    out = {
        "read_s": round(t1 - t0, 2),
        "check_s": round(t2 - t1, 2),
        "check_cpu_s": round(c2 - c1, 2),
        "findings": findings.summary["total"],
        "plans": len(policies.plans),
        "resources": len(inventory.resources),
        "recovery_points": len(inventory.recovery_points),
        "by_status": findings.summary["by_status"],
    }
    out["rss_gib"] = _peak_gib()
    _progress(out)
    if write:
        measure_writes(findings, out, t0, c0, text_files, limit)
    print(json.dumps(out))


def _limit(result: dict, key: str, unit: str, floor_key: str | None = None) -> str:
    """`figure (limit L, ratio to limit R; floor F, x ratio)` for one measured figure."""
    value, limit = result[key], LIMITS.get(key)
    text = f"{value}{unit}"
    if limit is not None and result["scale"] == 1:
        text += f" (limit {limit:g}{unit}: {value / limit:.2f} of it)"
    elif limit is not None:
        text += f" (limit at scale 1: {limit:g}{unit})"
    if floor_key and result.get(floor_key):
        text += f", floor {result[floor_key]}{unit} -> x{value / result[floor_key]:.2f}"
    return text


def print_writes(result: dict) -> None:
    """The --write figures, each with its limit and its floor."""
    print(f"  canonical order, sorted on codes {result['sort_s']}s (CPU {result['sort_cpu_s']}s)")
    if result["rows_written"] < result["findings"]:
        share = result["rows_written"] / result["findings"]
        print(
            f"  ONLY THE FIRST {result['rows_written']:,} ROWS WRITTEN ({share:.1%} of the findings,"
            f" --batches): the file times below are for those rows; x{1 / share:.1f} for all"
        )
    print(
        f"  Parquet  {_limit(result, 'parquet_s', 's', 'parquet_floor_s')} (CPU {result['parquet_cpu_s']}s,"
        f" {result['parquet_mib']} MiB; floor: pyarrow.parquet.ParquetWriter of the same rows)"
    )
    if "csv_s" in result:
        print(
            f"  CSV      {_limit(result, 'csv_s', 's', 'csv_floor_s')} (CPU {result['csv_cpu_s']}s,"
            f" {result['csv_mib']} MiB; floor: pyarrow.csv.CSVWriter of the same rows;"
            f" pandas to_csv of 1M of the rows: {result['csv_pandas_floor_1m_s']}s)"
        )
    for name in ("json", "jsonl"):
        if f"{name}_s" not in result:
            continue
        versus = (
            f", x{result[f'{name}_s'] / result['csv_s']:.2f} the CSV's time"
            if "csv_s" in result
            else ""
        )
        print(
            f"  {name.upper():8} {result[f'{name}_s']}s (CPU {result[f'{name}_cpu_s']}s,"
            f" {result[f'{name}_mib']} MiB{versus})"
        )
    print(
        f"  end to end (read + check + order + Parquet) {_limit(result, 'e2e_s', 's')} (CPU {result['e2e_cpu_s']}s)"
    )
    print(f"  peak RSS up to Parquet {_limit(result, 'e2e_rss_gib', ' GiB')}")
    print(f"  peak RSS with every file {_limit(result, 'write_rss_gib', ' GiB')}")
    expected = EXPECTED_VERDICTS.get(f"{result['scale']:g}")
    verdict = (
        "no recorded hash for this scale"
        if expected is None
        else (
            "identical to the recorded verdicts"
            if expected == result["verdicts_sha256"]
            else "DIFFERENT from the recorded verdicts"
        )
    )
    print(f"  verdicts sha256 {result['verdicts_sha256']}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale",
        type=float,
        action="append",
        help="data scale (1 = 1M resources, 10M backups); repeatable",
    )
    parser.add_argument(
        "--cache", default=os.path.join(tempfile.gettempdir(), "auditor-bench-check")
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="also write every findings file (Parquet, CSV, JSON, JSON Lines), each beside its floor",
    )
    parser.add_argument(
        "--text",
        default="csv,json,jsonl",
        help="with --write: the text files to write, each in its own pass (default all three;"
        " at scale 1 each pass makes the text of 15.3M rows again)",
    )
    parser.add_argument(
        "--batches",
        type=int,
        help="with --write: write only the first N batches of rows of each file (the order is"
        " still sorted for every finding): the peak memory is the same (one batch of text at a"
        " time), the times are for those rows only and say so",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    text_files = tuple(n for n in args.text.split(",") if n)
    if args.child:
        child(args.child[0], args.child[1], args.write, text_files, args.batches)
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    policy_path = cache / "policy.yaml"
    policy_path.write_text(policy_text())
    results = []
    for scale in args.scale or [0.1, 1.0]:
        folder = cache / f"inventory-{scale:g}"
        if not (folder / "manifest.json").is_file():
            t = time.perf_counter()
            counts = generate(scale, folder)
            print(
                f"generated scale {scale:g}: {counts['resources']:,} resources, {counts['recovery_points']:,} recovery points,"
                f" {counts['tags']:,} tags in {time.perf_counter() - t:.1f}s",
                file=sys.stderr,
            )
        cmd = [sys.executable, __file__, "--child", str(folder), str(policy_path)] + (
            ["--write", "--text", args.text] if args.write else []
        )
        if args.write and args.batches:
            cmd += ["--batches", str(args.batches)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(proc.returncode)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["scale"] = scale
        results.append(result)
        print(
            f"scale {scale:g}: {result['resources']:,} resources, {result['recovery_points']:,} recovery points, "
            f"{result['plans']} plans -> {result['findings']:,} findings | read {result['read_s']}s, "
            f"check {result['check_s']}s (CPU {result['check_cpu_s']}s)"
            + f", peak RSS {result['rss_gib']} GiB"
        )
        if args.write:
            print_writes(result)
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            ratio = r["check_s"] / base["check_s"] if base["check_s"] else float("nan")
            print(f"check time x{r['scale'] / base['scale']:g} data: x{ratio:.2f}")


if __name__ == "__main__":
    main()
