"""The findings rows made from a check's codes: the same rows, in the same order, as a text sort.

`FindingRows` sorts on integer ranks and makes the text per batch; reading the files back and
sorting their rows as text (what findings gathered from tasks go through) must give the very
same rows, batch size whatever, ties between rows of equal keys included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from auditor.controls import rows as rows_module
from auditor.controls.engine import Findings
from auditor.controls.verdicts import FAIL, Part
from auditor.findings import COLUMNS, canonical_batches, canonical_table
from auditor.owners import DEFAULT_OWNER_TAGS, owner_columns


def _as_text_sorted(findings) -> pa.Table:
    """The findings' rows sorted as text (the path of findings read back from disk)."""
    frame = findings.frame.copy()
    return canonical_table(Findings(findings.as_of, frame=frame, summary=findings.summary))


SNAP = "arn:aws:ec2:us-east-1:111122223333:snapshot/snap-1"
OTHER = "arn:aws:ec2:us-east-1:111122223333:snapshot/snap-0"


def _batches(findings, size: int) -> pa.Table:
    made = list(findings.batches(size))
    return pa.Table.from_batches(made)


def _estate(estate, h):
    for i, name in enumerate(("vol-b", "vol-a", "vol-c", "vol-d")):
        arn = estate.resource(name, tags=h.GOLD if i % 2 else {"backup": "none"})
        estate.backup(arn, age_hours=10 + 30 * i)
    estate.resource("db-1", rtype="rds-instance", region="eu-west-1", tags=h.GOLD)
    estate.resource("t-1", rtype="dynamodb-table", account=h.OTHER_ACCOUNT)


def test_rows_sorted_on_codes_equal_the_text_sort(estate, plan_policy, check, h):
    _estate(estate, h)
    findings = check(estate, plan_policy())
    expected = _as_text_sorted(findings)
    for size in (1, 3, 1000):
        assert _batches(findings, size).equals(expected.cast(_batches(findings, size).schema))


@pytest.mark.parametrize("spare_bits", [0, 1, -1])
def test_every_way_of_sorting_gives_the_text_order(
    estate, plan_policy, check, h, monkeypatch, spare_bits
):
    """Keys and row numbers in one word, keys alone (stable argsort), or too wide for a word
    (account, region and ARN as separate keys, sorted column by column): the same rows."""
    _estate(estate, h)
    findings = check(estate, plan_policy())
    findings._parts.append(_tie_part([SNAP, SNAP, OTHER], ["b", "a", "z"], [2.5, 9.5, 0.5]))
    probe = findings.rows()
    key_bits = sum(width for width, _ in probe._key_columns())
    row_bits = int(probe.total).bit_length()
    budget = {0: key_bits + row_bits, 1: key_bits, -1: 2}[spare_bits]
    monkeypatch.setattr(rows_module, "_KEY_BITS", budget)
    findings._rows = None
    table = _batches(findings, 4)
    assert table.equals(_as_text_sorted(findings).cast(table.schema))


def _tie_part(arns: list[str], details: list[str], scores: list[float]) -> Part:
    """Rows about backups that share account, region, ARN, control, plan and status; each row's
    detail is found by its (distinct) score, so any subset of the rows describes itself."""
    frame = pd.DataFrame(
        {
            "ridx": np.full(len(arns), -1),
            "plan": np.full(len(arns), -1, dtype=np.int16),
            "status": np.full(len(arns), FAIL, dtype=np.int8),
            "resource_arn": arns,
            "resource_type": ["ebs-volume"] * len(arns),
            "account_id": ["111122223333"] * len(arns),
            "region": ["us-east-1"] * len(arns),
            "ev.score": scores,
        }
    )
    detail_of = dict(zip(scores, details))
    return Part(
        "orphaned-backup",
        frame,
        lambda f, ctx: pd.Series([detail_of[s] for s in f["ev.score"]], dtype=object),
    )


def test_rows_with_equal_keys_are_ordered_by_detail_then_evidence(estate, plan_policy, check, h):
    _estate(estate, h)
    findings = check(estate, plan_policy())
    snap, other = SNAP, OTHER
    findings._parts.append(
        _tie_part(
            [snap, snap, snap, snap, other],
            ["b", "a", "b", "a", "z"],
            [2.5, 9.5, 1.5, 3.5, 0.5],
        )
    )
    table = _batches(findings, 2)
    rows = table.to_pandas()
    mine = rows[rows["resource_arn"].isin([snap, other])]
    assert list(mine["resource_arn"]) == [other, snap, snap, snap, snap]
    assert list(mine["detail"]) == ["z", "a", "a", "b", "b"]
    assert list(mine["evidence"]) == [
        '{"score": 0.5}',
        '{"score": 3.5}',
        '{"score": 9.5}',
        '{"score": 1.5}',
        '{"score": 2.5}',
    ]
    assert table.equals(_as_text_sorted(findings).cast(table.schema))


def test_every_findings_column_is_made(estate, plan_policy, check, h):
    _estate(estate, h)
    findings = check(estate, plan_policy())
    batch = next(canonical_batches(findings))
    # the fixed columns, then one per owner tag of the run (the default ones here)
    assert list(batch.schema.names) == list(COLUMNS) + owner_columns(DEFAULT_OWNER_TAGS)


def test_typed_batches_hold_the_same_rows_as_the_text_ones(estate, plan_policy, check, h):
    """What the file writers take: the columns of few values dictionary-encoded as they are
    made, their values the text batches' values row for row (rows about a backup, with no
    resource, and NOT_ASSESSED, FAIL and PASS rows among them)."""
    from auditor.findings import typed_schema

    _estate(estate, h)
    estate.backup("arn:aws:ec2:us-east-1:111122223333:volume/vol-gone", age_hours=100)
    estate.error(region="eu-west-1", service="rds", operation="DescribeDBInstances")
    findings = check(estate, plan_policy())
    assert findings._arrow is None  # made from the check's codes, not from rows already made
    for size in (1, 7, 1000):
        typed = pa.Table.from_batches(list(findings.batches(size, typed=True)))
        plain = _batches(findings, size)
        assert {"FAIL", "PASS", "NOT_ASSESSED"} <= set(plain["status"].to_pylist())
        assert None in plain["resource_type"].to_pylist() or plain["remediation"].null_count
        assert typed.schema == typed_schema(plain.column_names)
        assert typed.cast(plain.schema).equals(plain)
        for name in typed.column_names:
            if pa.types.is_dictionary(typed.schema.field(name).type):
                for chunk in typed[name].chunks:  # each value once: pandas reads categories
                    assert len(set(chunk.dictionary.to_pylist())) == len(chunk.dictionary)


def test_findings_parquet_keeps_few_valued_columns_dictionary_encoded(
    estate, plan_policy, check, h, tmp_path
):
    """findings.parquet as its readers see it: remediation and the short columns read back as
    categories (each text stored once per row group), the same text as findings.csv."""
    from auditor.findings import write_findings

    _estate(estate, h)
    findings = check(estate, plan_policy())
    write_findings(findings, tmp_path, formats=("csv",))
    frame = pd.read_parquet(tmp_path / "findings.parquet")
    for name in ("remediation", "control_id", "status", "plan", "tag_owner"):
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name
    assert frame["resource_arn"].dtype != "category"
    text = pd.read_csv(tmp_path / "findings.csv", dtype=str, keep_default_na=False)
    got = frame["remediation"].astype(object).where(frame["remediation"].notna(), "")
    assert got.tolist() == text["remediation"].tolist()
    assert (frame["status"] == "FAIL").any() and frame["remediation"].notna().any()


def test_joined_dictionary_pieces_hold_each_text_once():
    pieces = [
        pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2], pa.int32()), ["a", "a", "b"]),
        pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int32()), ["b", "c"]),
    ]
    joined = rows_module._joined(pieces)
    assert joined.to_pylist() == ["a", "a", None, "b", "c", "b"]
    assert sorted(joined.dictionary.to_pylist()) == ["a", "b", "c"]
    assert joined.type == pa.dictionary(pa.int32(), pa.string())


def test_findings_of_an_estate_with_backups_but_no_resources_are_written(
    estate, plan_policy, check, tmp_path
):
    """Only orphaned backups (no resource was listed): every column, typed or not, is made for
    rows about no resource, and each file is written."""
    from auditor.findings import read_findings, write_findings

    estate.backup("arn:aws:ec2:us-east-1:111122223333:volume/vol-gone", age_hours=100)
    findings = check(estate, plan_policy())
    write_findings(findings, tmp_path, formats=("csv", "json", "jsonl"))
    back = read_findings(tmp_path / "findings.parquet")
    assert list(back.frame["control_id"]) == ["orphaned-backup"]
    assert back.frame["tag_owner"].isna().all()
    text = pd.read_csv(tmp_path / "findings.csv", dtype=str)
    assert text["status"].tolist() == ["FAIL"]
