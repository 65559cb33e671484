"""EBS Recycle Bin and managed volumes, which moto lacks, as AWS documents them.

Recycle Bin (Amazon EBS User Guide, "Recover deleted Amazon EBS snapshots and EBS-backed AMIs
with Recycle Bin" and "Considerations for Recycle Bin"): with a retention rule for EBS snapshots in
force, DeleteSnapshot does not delete a snapshot but moves it to the bin for the rule's retention
period. There it is no longer listed by DescribeSnapshots; only ListSnapshotsInRecycleBin shows it
(SnapshotId, VolumeId, Description, RecycleBinEnterTime, RecycleBinExitTime: EC2 API reference,
SnapshotRecycleBinInfo), paged by MaxResults 5..1000. It carries the system tag
`aws:recycle-bin:resource-in-bin=true`, cannot be used until recovered, and is still billed as
snapshot storage ("Pricing" on the same page). The sandbox's `set_snapshot_retention_rule` stands for
a region-wide rbin:CreateRule (ResourceType EBS_SNAPSHOT, no resource tags).

Managed volumes (EC2 API reference, DescribeVolumes `IncludeManagedResources`, and
ManagedResourceVisibilitySettings): volumes that an AWS service manages carry
`Operator={Managed: true, Principal: ...}` and, with the account's default visibility `hidden`, are
left out of DescribeVolumes unless the request sets IncludeManagedResources=true.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.responses import ActionResult

from auditor.sandbox.moto_ext.paging import page

IN_BIN_TAG = "aws:recycle-bin:resource-in-bin"


def _state(backend: Any) -> dict[str, Any]:
    """The bin of one EC2 backend (kept on the backend, so moto's reset clears it)."""
    state = getattr(backend, "_auditor_recycle_bin", None)
    if state is None:
        state = {"retention_days": None, "snapshots": {}}
        backend._auditor_recycle_bin = state
    return state


def _backend(account_id: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region]


def set_snapshot_retention_rule(account_id: str, region: str, days: int | None) -> None:
    """A region-wide Recycle Bin retention rule for EBS snapshots (None removes it).

    Retention periods run from 1 day to 1 year (Recycle Bin API reference, RetentionPeriod).
    """
    if days is not None and not 1 <= int(days) <= 365:
        raise ValueError("Recycle Bin retention is 1 to 365 days")
    _state(_backend(account_id, region))["retention_days"] = days


def put_in_bin(backend: Any, snapshot: Any, entered: datetime | None = None) -> None:
    """Move `snapshot` (already removed from the backend's snapshots) into the bin."""
    state = _state(backend)
    enter = entered or datetime.now(UTC)
    if enter.tzinfo is None:
        enter = enter.replace(tzinfo=UTC)
    snapshot.recycle_bin_enter_time = enter
    snapshot.recycle_bin_exit_time = enter + timedelta(days=int(state["retention_days"] or 1))
    backend.tags.setdefault(snapshot.id, {})[IN_BIN_TAG] = "true"
    state["snapshots"][snapshot.id] = snapshot


def bin_snapshots(account_id: str, region: str) -> dict[str, Any]:
    """The snapshots in the bin of one account and region, by id (seeding and tests)."""
    return _state(_backend(account_id, region))["snapshots"]


def _patch_delete_snapshot() -> None:
    from moto.ec2.models.elastic_block_store import EBSBackend

    original = EBSBackend.delete_snapshot

    def delete_snapshot(self: Any, snapshot_id: str) -> Any:
        snapshot = original(self, snapshot_id)
        if _state(self)["retention_days"] is not None:
            put_in_bin(self, snapshot)
        return snapshot

    EBSBackend.delete_snapshot = delete_snapshot  # type: ignore[method-assign]


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def list_snapshots_in_recycle_bin(self: Any) -> ActionResult:
    """ListSnapshotsInRecycleBin: the bin's snapshots, MaxResults 5..1000 (EC2 API reference)."""
    from moto.ec2.exceptions import EC2ClientError, InvalidParameterValueError

    from auditor.sandbox.moto_ext.services import _ec2_scope

    wanted = self._get_param("SnapshotIds", [])
    max_results = self._get_int_param("MaxResults")
    if max_results is not None and not 5 <= max_results <= 1000:
        raise InvalidParameterValueError(f"MaxResults={max_results}: must be between 5 and 1000")
    held = _state(self.ec2_backend)["snapshots"]
    snaps = [held[s] for s in wanted if s in held] if wanted else list(held.values())
    chunk, nxt = page(
        sorted(snaps, key=lambda s: s.id),
        self._get_param("NextToken"),
        max_results,
        default=1000,
        maximum=1000,
        scope=_ec2_scope(self),
        bad_token=lambda message: EC2ClientError("InvalidNextToken", message),
    )
    body: dict[str, Any] = {
        "Snapshots": [
            {
                "SnapshotId": s.id,
                "RecycleBinEnterTime": _iso(s.recycle_bin_enter_time),
                "RecycleBinExitTime": _iso(s.recycle_bin_exit_time),
                "Description": s.description or "",
                "VolumeId": s.volume.id,
            }
            for s in chunk
        ]
    }
    if nxt:
        body["NextToken"] = nxt
    return ActionResult(body)


def mark_managed(volume: Any, principal: str) -> None:
    """Make `volume` a managed volume of `principal` (e.g. an EKS Auto Mode node's volume)."""
    volume.operator = {"Managed": True, "Principal": principal, "HiddenByDefault": True}


def is_hidden(volume: Any) -> bool:
    """Whether DescribeVolumes leaves `volume` out unless IncludeManagedResources=true."""
    operator = getattr(volume, "operator", None) or {}
    return bool(operator.get("Managed")) and bool(operator.get("HiddenByDefault", True))


def install() -> None:
    """Add ListSnapshotsInRecycleBin and the bin to moto's EC2 (idempotent)."""
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    if getattr(ElasticBlockStore, "_auditor_recycle_bin", False):
        return
    ElasticBlockStore.list_snapshots_in_recycle_bin = list_snapshots_in_recycle_bin  # type: ignore[attr-defined]
    _patch_delete_snapshot()
    ElasticBlockStore._auditor_recycle_bin = True  # type: ignore[attr-defined]
