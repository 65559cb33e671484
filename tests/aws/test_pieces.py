"""Compact pieces: a collection normalised task by task gives the inventory it gave all at once."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

import auditor.aws.context as context_module
from auditor.aws import CollectOptions, collect_inventory
from auditor.aws.context import Context
from auditor.aws.normalize import _frame_of_pieces, build_tables
from auditor.aws.pieces import piece
from auditor.inventory import SCHEMAS, TABLES, frame
from auditor.sandbox.seed import seed_estate

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# Values of each Arrow type a collector might hand over, including ones only pandas coerces.
_ODD_VALUES = {
    "string": ["a", None, 5, math.nan],
    "timestamp": [
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "2026-01-02T03:04:05Z",
        datetime(2026, 1, 2, 3, 4, 5),  # naive: taken as UTC, as frame() does
        None,
    ],
    "bool": [True, None, False, True],
    "int64": [1, None, 2**40, 0],
    "double": [1.5, 2, None, math.nan],
}


def _kind(typ: pa.DataType) -> str:
    return "timestamp" if pa.types.is_timestamp(typ) else str(typ)


@pytest.mark.parametrize("table", TABLES)
def test_a_piece_coerces_values_as_frame_does(table):
    schema = SCHEMAS[table]
    rows = [{f.name: _ODD_VALUES[_kind(f.type)][i] for f in schema} for i in range(4)] + [
        {"account_id": "111122223333"}
    ]  # missing keys are nulls
    pd.testing.assert_frame_equal(
        _frame_of_pieces(table, [piece(table, rows)]), frame(table, rows), check_exact=True
    )


def test_plain_values_and_odd_values_in_separate_pieces_concatenate():
    plain = [{"account_id": "1", "region": "r", "arn": "a", "key": "k", "value": "v"}]
    odd = [{"account_id": 2, "region": "r", "arn": "a", "key": "k", "value": None}]
    got = _frame_of_pieces("tags", [piece("tags", plain), piece("tags", odd)])
    pd.testing.assert_frame_equal(got, frame("tags", plain + odd), check_exact=True)


def test_an_undeclared_column_is_an_error():
    with pytest.raises(ValueError, match="undeclared columns"):
        piece("tags", [{"account_id": "1", "arn": "a", "key": "k", "valeu": "v"}])


def test_task_by_task_pieces_give_the_all_at_once_inventory(aws, monkeypatch):
    """Every task's rows kept as pieces (a long listing as several) build the same tables as all
    the rows in one piece."""
    seed_estate(AS_OF, regions=["us-east-1", "eu-west-1"])
    monkeypatch.setattr(context_module, "FLUSH_ROWS", 7)  # long listings become several pieces
    tasks: list[dict[str, list[pa.Table]]] = []
    compacted = Context.compacted

    def keep(self):
        part = compacted(self)
        tasks.append(part)
        return part

    monkeypatch.setattr(Context, "compacted", keep)
    inventory = collect_inventory(
        CollectOptions(regions=["us-east-1", "eu-west-1"], as_of=AS_OF, max_workers=4)
    )
    assert len(tasks) > 20 and len(inventory.recovery_points) > 100
    assert any(len(pieces) > 1 for part in tasks for pieces in part.values())
    at_once: dict[str, list[dict]] = {}
    by_task: dict[str, list[pa.Table]] = {}
    for part in tasks:
        for table, pieces in part.items():
            by_task.setdefault(table, []).extend(pieces)
            for compact in pieces:
                at_once.setdefault(table, []).extend(compact.to_pylist())
    whole, split = build_tables(at_once), build_tables(by_task)
    for table in TABLES:
        pd.testing.assert_frame_equal(split[table], whole[table], check_exact=True)
        assert len(split[table]) == len(inventory.tables[table])
