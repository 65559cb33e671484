"""Listings handled page by page count all of a listing or none of it, like whole listings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

import auditor.aws.context as context_module
from auditor.aws.context import Context, Target
from auditor.aws.pieces import piece

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


class _Paginator:
    """Pages of three items with NextToken "1", "2", ...; `script[page]` says how page `page`
    (1-based, counted over every request) answers: "ok", "fail" (connection closed) or
    "throttle" (throttled after botocore's retry quota ran dry)."""

    _pagination_cfg: ClassVar[dict[str, str]] = {
        "output_token": "NextToken",
        "limit_key": "MaxResults",
    }

    def __init__(self, pages: int, script: dict[int, str]) -> None:
        self.pages, self.script, self.requests = pages, script, 0
        self.starts: list[str | None] = []

    def paginate(self, PaginationConfig: dict[str, Any], **_: Any):
        start = int(PaginationConfig.get("StartingToken") or 0)
        self.starts.append(PaginationConfig.get("StartingToken"))
        for number in range(start, self.pages):
            self.requests += 1
            answer = self.script.get(self.requests, "ok")
            if answer == "fail":
                raise ConnectionClosedError(endpoint_url="https://backup.invalid")
            if answer == "throttle":
                raise ClientError(
                    {
                        "Error": {"Code": "ThrottlingException", "Message": "slow down"},
                        "ResponseMetadata": {"RetryQuotaReached": True},
                    },
                    "ListBackupJobs",
                )
            token = str(number + 1) if number + 1 < self.pages else None
            yield {
                "Items": [{"Id": f"item-{number}-{i}"} for i in range(3)],
                **({"NextToken": token} if token else {}),
            }


class _Client:
    def __init__(self, paginator: _Paginator) -> None:
        self.paginator = paginator
        self.meta = type("Meta", (), {"method_to_api_mapping": {"list_items": "ListItems"}})

    def get_paginator(self, method: str) -> _Paginator:
        return self.paginator


class _Sessions:
    def __init__(self, client: _Client) -> None:
        self.the_client = client

    def client(self, session: Any, service: str, region: str) -> _Client:
        return self.the_client


def _context(paginator: _Paginator) -> Context:
    target = Target(ACCOUNT, boto3.Session(region_name="us-east-1"))
    return Context(target, "us-east-1", _Sessions(_Client(paginator)))  # type: ignore[arg-type]


def _tag_rows(ctx: Context, page: list[dict]) -> None:
    for item in page:
        ctx.add_tags(item["Id"], {"k": "v"})
        ctx.spawn(print, item["Id"])


def _tags(ctx: Context) -> pd.DataFrame:
    return pd.concat(
        [p.to_pandas() for p in ctx.compacted().get("tags", [])] or [pd.DataFrame()],
        ignore_index=True,
    )


def test_a_failed_later_page_undoes_the_rows_of_earlier_pages_even_once_compacted(monkeypatch):
    monkeypatch.setattr(context_module, "FLUSH_ROWS", 4)  # page 1 and 2's rows become a piece
    ctx = _context(_Paginator(pages=4, script={3: "fail"}))
    ctx.add_tags("before-1", {"k": "v"})  # rows held before the listing stay
    ctx.add_tags("before-2", {"k": "v"})
    ctx.spawn(print, "before")

    done = ctx.each_page("backup", "list_items", "Items", lambda p: _tag_rows(ctx, p), affects="x")

    assert done is False
    assert [args for _, args in ctx.spawned] == [("before",)]
    errors = ctx.error_rows()
    assert [(e["operation"], e["error_code"]) for e in errors] == [
        ("ListItems", "ConnectionClosed")
    ]
    assert _tags(ctx)["arn"].tolist() == ["before-1", "before-2"]


def test_a_complete_listing_keeps_every_page_in_order(monkeypatch):
    monkeypatch.setattr(context_module, "FLUSH_ROWS", 4)
    ctx = _context(_Paginator(pages=3, script={}))
    assert ctx.each_page("backup", "list_items", "Items", lambda p: _tag_rows(ctx, p), affects="x")
    expected = [f"item-{n}-{i}" for n in range(3) for i in range(3)]
    assert _tags(ctx)["arn"].tolist() == expected
    assert len(ctx.spawned) == 9 and not ctx.error_rows()


def test_a_throttled_page_resumes_where_it_stopped_without_counting_twice(monkeypatch):
    monkeypatch.setattr(context_module, "_sleep", lambda seconds: None)
    paginator = _Paginator(pages=3, script={2: "throttle"})
    ctx = _context(paginator)
    assert ctx.each_page("backup", "list_items", "Items", lambda p: _tag_rows(ctx, p), affects="x")
    assert paginator.starts == [None, "1"]  # asked again from the second page, not the first
    assert _tags(ctx)["arn"].tolist() == [f"item-{n}-{i}" for n in range(3) for i in range(3)]


def test_a_throttled_first_page_starts_again_from_nothing(monkeypatch):
    monkeypatch.setattr(context_module, "_sleep", lambda seconds: None)
    ctx = _context(_Paginator(pages=2, script={1: "throttle"}))
    assert ctx.each_page("backup", "list_items", "Items", lambda p: _tag_rows(ctx, p), affects="x")
    assert len(_tags(ctx)) == 6 and len(ctx.spawned) == 6


def test_the_undone_piece_equals_the_rows_held_before(monkeypatch):
    monkeypatch.setattr(context_module, "FLUSH_ROWS", 5)
    ctx = _context(_Paginator(pages=3, script={3: "fail"}))
    for i in range(2):
        ctx.add_tags(f"before-{i}", {"k": str(i)})
    ctx.each_page("backup", "list_items", "Items", lambda p: _tag_rows(ctx, p), affects="x")
    rows = [
        {
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "arn": f"before-{i}",
            "key": "k",
            "value": str(i),
        }
        for i in range(2)
    ]
    (kept,) = ctx.compacted()["tags"]
    assert kept.equals(piece("tags", rows))


@pytest.mark.parametrize("operation", ["DescribeSnapshots", "ListRecoveryPointsByBackupVault"])
def test_a_collection_whose_listing_fails_on_page_two_keeps_none_of_it(
    aws, collect, hooks, monkeypatch, operation
):
    """12 snapshots of 12 volumes, copied by AWS Backup into a vault: with pages of 5 (and rows
    made compact every 3), a listing failing on its second page leaves none of its rows."""
    monkeypatch.setattr(context_module, "FLUSH_ROWS", 3)
    region = "us-east-1"
    ec2 = boto3.client("ec2", region)
    backup = boto3.client("backup", region)
    backup.create_backup_vault(BackupVaultName="v0")
    for _ in range(12):
        volume = ec2.create_volume(Size=1, AvailabilityZone=f"{region}a")["VolumeId"]
        ec2.create_snapshot(
            VolumeId=volume,
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}],
        )
        backup.start_backup_job(
            BackupVaultName="v0",
            ResourceArn=f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{volume}",
            IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/backup",
        )
    whole = collect(page_size=5)
    assert whole.errors.empty
    service = "ec2" if operation == "DescribeSnapshots" else "backup"
    hooks.fail_on_page(service, operation, page=2)
    failed = collect(session_factory=hooks, page_size=5)

    (error,) = failed.errors.itertuples()
    assert (error.operation, error.error_code) == (operation, "ConnectionClosed")
    rps, all_rps = failed.recovery_points, whole.recovery_points
    if operation == "DescribeSnapshots":
        native = all_rps[all_rps["source"] == "native"]
        assert len(native) == 12
        assert rps[rps["source"] == "native"].empty
        assert not failed.tables["tags"]["arn"].isin(native["recovery_point_arn"]).any()
        assert failed.tables["tags"]["arn"].str.contains(":volume/").sum() == (
            whole.tables["tags"]["arn"].str.contains(":volume/").sum()
        )
    else:
        assert (all_rps["vault_name"] == "v0").sum() == 12
        assert not (rps["vault_name"] == "v0").any()
    assert len(failed.resources) == len(whole.resources) == 12
