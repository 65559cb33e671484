"""EC2's native backups in the inventory: AMIs with their snapshots, and DLM schedules (vectorised).

- An AMI's storage is its EBS snapshots. The AMI row (aws/ec2.py) names them; DescribeSnapshots
  lists them too, as snapshots of whatever volume they were taken from. Each such snapshot is
  folded into its AMI: the AMI's size becomes the sum of their exact sizes (when every one is known
  exactly), and the snapshot rows are dropped, so storage is counted once and an AMI's snapshots
  are not taken for backups of a volume (or orphans of a deleted one).
- A Data Lifecycle Manager policy is the native schedule of the volumes (VOLUME) or instances
  (INSTANCE) in its account and region that carry one of its target tags; only ENABLED policies
  run ("LifecyclePolicy", DLM API Reference). A resource targeted by several policies gets the
  most frequent one (and, among equally frequent ones, the longest-kept).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.arrow_take import take_rows
from auditor.aws.pieces import plain, replaced
from auditor.inventory import _types_mapper

# DLM's resource types -> the inventory's
_DLM_TYPES = {"VOLUME": "ebs-volume", "INSTANCE": "ec2-instance"}
_SCHEDULED_POLICIES = {"EBS_SNAPSHOT_MANAGEMENT", "IMAGE_MANAGEMENT"}


def _snapshot_arn(image_arns: pd.Series, snapshot_ids: pd.Series) -> pd.Series:
    """The snapshot ARN EBS rows carry, in the AMI's partition and region (no account)."""
    parts = image_arns.astype(str).str.split(":", n=4, expand=True)
    return "arn:" + parts[1] + ":ec2:" + parts[3] + "::snapshot/" + snapshot_ids.astype(str)


# Helper column: True for an AMI's EBS snapshot, counted with its AMI (its own row is left out).
FOLDED = "_folded_into_image"


def fold_image_snapshots(columns: dict[str, pa.ChunkedArray]) -> None:
    """Count each AMI's EBS snapshots with the AMI, and mark their own rows (`FOLDED`) to be
    left out of the inventory.

    `columns` are the listed recovery points' (declared and helper columns, Arrow); the columns
    this changes are replaced in it. Only the AMIs and the native EBS snapshots are made pandas
    frames (a few columns of a part of the rows), not the listing.
    """
    count = len(columns["recovery_point_arn"])
    folded = np.zeros(count, dtype=bool)
    columns[FOLDED] = pa.chunked_array([folded])
    ids = columns["_image_snapshot_ids"]
    at_images = np.flatnonzero(pc.is_valid(ids).to_numpy(zero_copy_only=False))
    if not len(at_images):
        return
    images = _rows(columns, ["account_id", "recovery_point_arn", "_image_snapshot_ids"], at_images)
    listed = images["_image_snapshot_ids"].map(json.loads).explode().dropna()
    if listed.empty:
        return
    links = pd.DataFrame(
        {
            "_image": listed.index,
            "account_id": images.loc[listed.index, "account_id"].to_numpy(),
            "recovery_point_arn": _snapshot_arn(
                images.loc[listed.index, "recovery_point_arn"], listed
            ).to_numpy(),
        }
    )
    del images, listed
    origin = columns["_origin"]
    is_snapshot = pc.and_(
        pc.fill_null(pc.equal(columns["backup_type"], "ebs-snapshot"), False),
        pc.fill_null(pc.not_equal(origin, "backup"), True),
    )
    at_snapshots = np.flatnonzero(is_snapshot.to_numpy(zero_copy_only=False))
    snaps = _rows(
        columns, ["account_id", "recovery_point_arn", "size_bytes", "_size_exact"], at_snapshots
    )
    snaps["_exact"] = snaps.pop("_size_exact").fillna(False).astype(bool)
    snaps["_row"] = snaps.index
    found = links.merge(snaps, on=["account_id", "recovery_point_arn"], how="left")
    del links, snaps
    per_image = found.groupby("_image").agg(
        total=("size_bytes", lambda s: s.sum(min_count=1)),
        known=("_row", "count"),
        wanted=("recovery_point_arn", "size"),
        exact=("_exact", "all"),
    )
    complete = (per_image["known"] == per_image["wanted"]) & per_image["exact"].astype(bool)
    # The snapshots' rows are marked, not dropped: the merge of the listings
    # (`auditor.aws.normalize`) leaves marked rows out.
    folded[found["_row"].dropna().astype(int).unique()] = True
    columns[FOLDED] = pa.chunked_array([folded])
    fixed = per_image.index[complete].to_numpy()
    if not len(fixed):
        return
    at_fixed = np.zeros(count, dtype=bool)
    at_fixed[fixed] = True
    mask = pa.array(at_fixed)
    sizes = pd.Series(pd.NA, index=range(count), dtype="Int64")
    sizes.iloc[fixed] = per_image.loc[fixed, "total"].to_numpy()
    columns["size_bytes"] = pc.if_else(
        mask, pa.array(sizes, type=pa.int64()), columns["size_bytes"]
    )
    columns["size_basis"] = replaced(
        columns["size_basis"], mask, pa.scalar("FullSnapshotSizeInBytes(sum of AMI snapshots)")
    )
    columns["_size_exact"] = pc.if_else(mask, True, columns["_size_exact"])


def _rows(columns: dict[str, pa.ChunkedArray], names: list[str], at: np.ndarray) -> pd.DataFrame:
    """Columns `names` at row positions `at`, as pandas (indexed by those positions)."""
    # The listed columns have a chunk per collected piece: taken chunk by chunk, not joined whole.
    taken = pa.table({name: plain(take_rows(columns[name], at)) for name in names})
    df = taken.to_pandas(types_mapper=_types_mapper)
    df.index = at
    return df


def apply_lifecycle_policies(
    resources: pd.DataFrame, tags: pd.DataFrame, policies: pd.DataFrame
) -> pd.DataFrame:
    """Give volumes and instances their DLM policy as native schedule (where they have none)."""
    if resources.empty or policies.empty or tags.empty:
        return resources
    active = policies[
        (policies["state"] == "ENABLED") & policies["policy_type"].isin(_SCHEDULED_POLICIES)
    ]
    if active.empty:
        return resources
    targets = active.assign(
        _types=active["resource_types"].map(json.loads),
        _tags=active["target_tags"].map(json.loads),
    )
    targets = targets.explode("_types").explode("_tags").dropna(subset=["_types", "_tags"])
    if targets.empty:
        return resources
    targets = targets.assign(
        resource_type=targets["_types"].map(_DLM_TYPES),
        key=targets["_tags"].map(lambda t: t.get("Key")),
        value=targets["_tags"].map(lambda t: t.get("Value")),
    ).dropna(subset=["resource_type"])
    tagged = tags.rename(columns={"arn": "resource_arn"})[
        ["account_id", "region", "resource_arn", "key", "value"]
    ]
    hits = tagged.merge(
        targets[
            [
                "account_id",
                "region",
                "resource_type",
                "key",
                "value",
                "policy_id",
                "frequency_hours",
                "retention_days",
            ]
        ],
        on=["account_id", "region", "key", "value"],
    )
    if hits.empty:
        return resources
    best = (
        hits.sort_values(["frequency_hours", "retention_days"], ascending=[True, False])
        .drop_duplicates(["resource_arn", "resource_type"])
        .set_index(["resource_arn", "resource_type"])
    )
    key = pd.MultiIndex.from_arrays([resources["resource_arn"], resources["resource_type"]])
    policy = pd.Series(best["policy_id"].reindex(key).to_numpy(), index=resources.index)
    free = policy.notna() & resources["native_schedule"].isna()
    if not free.any():
        return resources
    resources = resources.copy()
    resources.loc[free, "native_schedule"] = "dlm:" + policy[free]
    resources.loc[free, "native_frequency_hours"] = (
        best["frequency_hours"].reindex(key).to_numpy()[free.to_numpy()]
    )
    resources.loc[free, "native_retention_days"] = (
        best["retention_days"].reindex(key).to_numpy()[free.to_numpy()]
    )
    return resources
