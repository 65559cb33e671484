"""Metering a compact inventory (repeated strings as categoricals) gives the very same result.

`auditor meter` and `check` read the inventory with `read_inventory(compact=True)`: the repeated
string columns (accounts, regions, backup types, storage classes, source ARNs...) arrive
dictionary-encoded and metering works on their codes. Every figure must equal metering of the
same inventory read as plain strings.
"""

from __future__ import annotations

import json

import pandas as pd

from auditor.inventory import read_inventory, write_inventory
from auditor.metering import meter
from auditor.metering.result import _records


def _estate(mk):
    kinds = [
        ("ebs-snapshot", "warm"),
        ("ebs-snapshot", "cold"),
        ("storagegateway-snapshot", "warm"),
        ("rds-snapshot", "warm"),
        ("rds-cluster-snapshot", "warm"),
        ("dynamodb-backup", "warm"),
        ("efs-backup", "cold"),
    ]
    backups = []
    for i, (kind, storage) in enumerate(kinds):
        first = mk.backup(
            kind, 10 + i, storage_class=storage, region="eu-west-1" if i % 2 else "us-east-1"
        )
        backups.append(first)
        # a second backup of the same resource (a chain), made later
        backups.append(
            mk.backup(
                kind,
                5 + i,
                resource_arn=first["resource_arn"],
                created_at="2026-11-02T00:00:00Z",
                region=first["region"],
                storage_class=storage,
            )
        )
    orphan = mk.backup("ebs-snapshot", 7)  # its volume is gone
    resources = [mk.resource_for(b) for b in backups[::2]]
    table = mk.resource_for(mk.backup("dynamodb-backup", 1))
    table.update(
        native_schedule="dynamodb-pitr", size_bytes=3 * mk.GiB, created_at="2026-01-01T00:00:00Z"
    )
    resources.append(table)  # a table with point-in-time recovery on: a synthetic recovery point
    tags = [{"arn": r["resource_arn"], "key": "team", "value": "data"} for r in resources[:3]]
    return mk.inventory(backups + [orphan], resources=resources, tags=tags)


def test_metering_a_compact_inventory_equals_the_plain_one(mk, prices, tmp_path):
    folder = write_inventory(_estate(mk), tmp_path / "inventory")
    plain = meter(read_inventory(folder), prices, mk.AS_OF, by_tags=["team"])
    compact_inventory = read_inventory(folder, compact=True)
    assert isinstance(compact_inventory.recovery_points["resource_arn"].dtype, pd.CategoricalDtype)
    compact = meter(compact_inventory, prices, mk.AS_OF, by_tags=["team"])
    doc = lambda result: json.dumps(  # noqa: E731
        {k: v for k, v in result.to_dict().items() if k != "timings"}, sort_keys=True, default=str
    )
    assert len(plain.orphans) == 1
    assert doc(compact) == doc(plain)
    assert _records(compact.frame) == _records(plain.frame)
