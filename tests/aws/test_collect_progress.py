"""The gather progress bar is sized once, when the work is known, and never runs backwards."""

from __future__ import annotations

from typing import ClassVar

import boto3

import auditor.aws.collect as collect_module


class _Recorder:
    """Stands in for auditor.progress.Progress and records what the collection tells its bar."""

    events: ClassVar[list[tuple[str, int | None]]] = []

    def __init__(self, enabled: bool = True, **_: object) -> None:
        pass

    def __enter__(self) -> _Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def phase(self, description: str, total: int | None = None) -> _Recorder:
        _Recorder.events.append(("start", total))
        return self

    def set_total(self, total: int | None) -> None:
        _Recorder.events.append(("total", total))

    def advance(self, n: int = 1) -> None:
        _Recorder.events.append(("advance", n))

    def done(self) -> None:
        _Recorder.events.append(("done", None))


def test_total_is_set_once_and_reached_exactly(aws, collect, monkeypatch):
    # vaults and tables make the collectors split work off (more tasks than units)
    for region in ("us-east-1", "eu-west-1"):
        backup = boto3.client("backup", region)
        for i in range(3):
            backup.create_backup_vault(BackupVaultName=f"vault-{i}")
        ddb = boto3.client("dynamodb", region)
        for i in range(3):
            ddb.create_table(
                TableName=f"t{i}",
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
    _Recorder.events = []
    monkeypatch.setattr(collect_module, "Progress", _Recorder)
    inventory = collect(regions=("us-east-1", "eu-west-1"), progress=True)
    assert inventory.errors.empty

    totals = [n for kind, n in _Recorder.events if kind == "total"]
    units = 1 * 2 * len(collect_module.COLLECTORS)  # accounts × regions × services
    assert totals == [units]
    done = 0
    for kind, n in _Recorder.events[_Recorder.events.index(("total", units)) :]:
        if kind == "advance":
            done += n
            assert done <= units  # the percentage never goes past 100 or backwards
    assert done == units
