"""snapshot-not-public: no backup of a resource in scope can be restored by anyone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.catalog import collected_types
from auditor.controls import frames as fr
from auditor.controls.context import Context
from auditor.controls.registry import control
from auditor.controls.verdicts import FAIL, PASS, Part
from auditor.policy.columns import index_in

# The kinds of backup that can be shared with everyone: EBS snapshots (and the AMIs they back)
# and manual RDS DB and DB cluster snapshots. DynamoDB and EFS backups have no public sharing.
SHAREABLE_KINDS = frozenset({"ebs-snapshot", "rds-snapshot", "rds-cluster-snapshot"})
# The resource types whose backups are of those kinds (from the catalogue).
PUBLIC_CAPABLE = tuple(
    rec.type_id for rec in collected_types() if SHAREABLE_KINDS & set(rec.backup_kinds)
)

# How to make each kind private again.
# EC2 API reference, ModifySnapshotAttribute (createVolumePermission, Remove the `all` group).
# EC2 API reference, ModifyImageAttribute (LaunchPermission, Remove the `all` group).
# RDS API reference, ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute (restore,
# ValuesToRemove all).
_FIX = {
    "ebs-snapshot": "aws ec2 modify-snapshot-attribute --region {region} --snapshot-id {id} "
    '--attribute createVolumePermission --create-volume-permission "Remove=[{{Group=all}}]"',
    "ami": "aws ec2 modify-image-attribute --region {region} --image-id {id} "
    '--launch-permission "Remove=[{{Group=all}}]"',
    "rds-snapshot": "aws rds modify-db-snapshot-attribute --region {region} "
    "--db-snapshot-identifier {id} --attribute-name restore --values-to-remove all",
    "rds-cluster-snapshot": "aws rds modify-db-cluster-snapshot-attribute --region {region} "
    "--db-cluster-snapshot-identifier {id} --attribute-name restore --values-to-remove all",
}
_NAMES = {
    "ebs-snapshot": "EBS snapshot",
    "ami": "AMI",
    "rds-snapshot": "RDS DB snapshot",
    "rds-cluster-snapshot": "RDS DB cluster snapshot",
}


def _public_per_resource(ctx: Context) -> tuple[np.ndarray, dict[int, list[tuple[str, str, str]]]]:
    """Per resource, how many of its backups are public, and (type, id, region) of each."""
    public = ctx.inventory["public_backups"]
    count = np.zeros(ctx.n, dtype=np.int64)
    listed: dict[int, list[tuple[str, str, str]]] = {}
    if not len(public) or not ctx.n:
        return count, listed
    ridx = index_in(public["resource_arn"], ctx.res["resource_arn"])
    rows = np.flatnonzero(ridx >= 0)
    np.add.at(count, ridx[rows], 1)
    # Few rows: public backups are the exception, so naming them one by one is cheap.
    kinds = public["backup_type"].to_numpy(dtype=object)
    ids = public["backup_id"].to_numpy(dtype=object)
    regions = public["region"].to_numpy(dtype=object)
    for i in rows:
        listed.setdefault(int(ridx[i]), []).append((kinds[i], ids[i], regions[i]))
    return count, listed


@control(
    "snapshot-not-public",
    "No backup can be restored by anyone",
    "critical",
    per="resource",
    reads=("resources", "tags", "public_backups"),
    scope="account",
    pre_deploy=None,  # templates do not share snapshots
    remediation="Remove the public (`all`) permission from the snapshot or AMI.",
    order=105,
    # AWS Config managed rules ebs-snapshot-public-restorable-check and
    # rds-snapshots-public-prohibited (AWS Config Developer Guide).
    equivalent=(
        "AWS Config ebs-snapshot-public-restorable-check (EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK) "
        "and rds-snapshots-public-prohibited (RDS_SNAPSHOTS_PUBLIC_PROHIBITED)"
    ),
)
def snapshot_not_public(ctx: Context) -> Part:
    """Always on: no backup of a resource in the policy's scope may be restorable by anyone.

    FAIL when one of the resource's EBS snapshots grants its create volume permission to the `all`
    group, when a public AMI is backed by a snapshot of it, or when a manual RDS DB or DB cluster
    snapshot of it lists `all` among the accounts allowed to restore it: anyone with an AWS
    account can then copy the data. Judged for the EBS volumes and RDS instances and clusters in the
    scope (the types whose backups can be shared publicly); other types and resources outside the
    scope get no finding. Manual RDS snapshots past the per-region check bound are NOT_ASSESSED.
    """
    count, listed = _public_per_resource(ctx)
    rtype = ctx.res["resource_type"].astype("str").to_numpy(dtype=object) if ctx.n else []
    capable = np.isin(np.asarray(rtype, dtype=object), PUBLIC_CAPABLE)
    # Only the resources it judges get a finding (as plan controls judge only selected ones).
    judged = np.flatnonzero(ctx.in_scope & capable)
    names = np.full(ctx.n, None, dtype=object)
    for r, items in listed.items():
        names[r] = ", ".join(f"{_NAMES.get(k, k)} {i}" for k, i, _ in sorted(items))
    frame = pd.DataFrame(
        {
            "ridx": judged.astype(np.int64),
            "plan": np.full(len(judged), -1, dtype=np.int16),
            "status": np.where(count[judged] > 0, FAIL, PASS).astype(np.int8),
            "ev.public_backups": pd.Categorical(names[judged]),
            "ev.public_count": count[judged],
        }
    )

    def describe(f: pd.DataFrame, ctx: Context) -> pd.Series:
        s = fr.status_of(f)
        public = fr.col(f, "public_backups")
        text = fr.select(
            [(s == PASS, "None of its backups is shared publicly.")],
            np.array(
                [f"Anyone with an AWS account can restore its backup(s): {p}." for p in public],
                dtype=object,
            ),
        )
        return pd.Series(text, dtype=object)

    def remediate(f: pd.DataFrame, ctx: Context) -> np.ndarray:
        out = np.full(len(f), None, dtype=object)
        for i, r in enumerate(f["ridx"].to_numpy()):
            items = listed.get(int(r)) if r >= 0 else None
            if items:
                out[i] = "Make it private: " + "; ".join(
                    f"`{_FIX[k].format(region=region, id=ident)}`"
                    for k, ident, region in sorted(items)
                    if k in _FIX
                )
        return out

    return Part("snapshot-not-public", frame, describe, remediate=remediate)
