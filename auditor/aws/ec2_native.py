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

import pandas as pd

# DLM's resource types -> the inventory's
_DLM_TYPES = {"VOLUME": "ebs-volume", "INSTANCE": "ec2-instance"}
_SCHEDULED_POLICIES = {"EBS_SNAPSHOT_MANAGEMENT", "IMAGE_MANAGEMENT"}


def _snapshot_arn(image_arns: pd.Series, snapshot_ids: pd.Series) -> pd.Series:
    """The snapshot ARN EBS rows carry, in the AMI's partition and region (no account)."""
    parts = image_arns.astype(str).str.split(":", n=4, expand=True)
    return "arn:" + parts[1] + ":ec2:" + parts[3] + "::snapshot/" + snapshot_ids.astype(str)


# Helper column: True for an AMI's EBS snapshot, counted with its AMI (its own row is left out).
FOLDED = "_folded_into_image"


def fold_image_snapshots(points: pd.DataFrame) -> pd.DataFrame:
    """Count each AMI's EBS snapshots with the AMI, and mark their own rows (`FOLDED`) to be
    left out of the inventory."""
    if points.empty or "_image_snapshot_ids" not in points:
        return points
    images = points[points["_image_snapshot_ids"].notna()]
    if images.empty:
        return points
    listed = images["_image_snapshot_ids"].map(json.loads).explode().dropna()
    if listed.empty:
        return points
    links = pd.DataFrame(
        {
            "_image": listed.index,
            "account_id": images.loc[listed.index, "account_id"].to_numpy(),
            "recovery_point_arn": _snapshot_arn(
                images.loc[listed.index, "recovery_point_arn"], listed
            ).to_numpy(),
        }
    )
    origin = points["_origin"] if "_origin" in points else pd.Series(None, index=points.index)
    is_snapshot = (points["backup_type"] == "ebs-snapshot").fillna(False) & (
        origin != "backup"
    ).fillna(True)
    snaps = points.loc[is_snapshot, ["account_id", "recovery_point_arn", "size_bytes"]].copy()
    snaps["_exact"] = (
        points.loc[is_snapshot, "_size_exact"].astype("boolean").fillna(False).astype(bool)
        if "_size_exact" in points
        else False
    )
    snaps["_row"] = snaps.index
    found = links.merge(snaps, on=["account_id", "recovery_point_arn"], how="left")
    per_image = found.groupby("_image").agg(
        total=("size_bytes", lambda s: s.sum(min_count=1)),
        known=("_row", "count"),
        wanted=("recovery_point_arn", "size"),
        exact=("_exact", "all"),
    )
    complete = (per_image["known"] == per_image["wanted"]) & per_image["exact"].astype(bool)
    # The snapshots' rows are marked, not dropped: dropping copied every column of every row,
    # and the merge of the listings (`auditor.aws.normalize`) leaves marked rows out anyway.
    points = points.copy(deep=False)  # copy-on-write: only the columns set below are copied
    points[FOLDED] = points.index.isin(found["_row"].dropna().astype(int).unique())
    fixed = per_image.index[complete]
    if len(fixed):
        points.loc[fixed, "size_bytes"] = per_image.loc[fixed, "total"].to_numpy()
        points.loc[fixed, "size_basis"] = "FullSnapshotSizeInBytes(sum of AMI snapshots)"
        points.loc[fixed, "_size_exact"] = True
    return points


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
