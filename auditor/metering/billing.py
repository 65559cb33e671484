"""Who bills the storage of each backup, under which usage type: the rows of the estimate.

A native backup stays billed by its service, whoever created it:
- EBS snapshots, including those AWS Backup created and Storage Gateway volume snapshots -> AmazonEC2
  (`EBS:SnapshotUsage`; the archive tier, which AWS Backup calls "cold" -> `EBS:SnapshotArchiveStorage`);
- RDS DB snapshots and non-Aurora cluster snapshots -> AmazonRDS `RDS:ChargedBackupUsage`; Aurora
  cluster snapshots -> AmazonRDS `Aurora:BackupUsage` (a cluster snapshot whose cluster is gone is
  taken as Aurora, by far the common case);
- DynamoDB backups: the backup's ARN decides, not the region's setting (see `encode.variants`).
  AWS Backup recovery points (`arn:aws:backup:...`, made with AWS Backup's advanced features on)
  -> AWSBackup `WarmStorage-ByteHrs-DynamoDB` / `ColdStorage-ByteHrs-DynamoDB`; DynamoDB's own
  backups (`arn:aws:dynamodb:...`, including those AWS Backup started without advanced features)
  -> AmazonDynamoDB `TimedBackupStorage-ByteHrs`. A cold DynamoDB backup is AWSBackup-billed in any
  case (cold storage exists only under those advanced features). SYSTEM backups are free
  (`allowance`);
- DynamoDB point-in-time recovery -> AmazonDynamoDB `TimedPITRStorage-ByteHrs` (`pitr`);
- EFS recovery points -> AWSBackup `WarmStorage-ByteHrs-EFS` / `ColdStorage-ByteHrs-EFS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditor import catalog

if TYPE_CHECKING:
    from auditor.metering.encode import Encoded
    from auditor.metering.estimate import Groups
    from auditor.metering.prices import PriceTable

GIB = float(1 << 30)
CLASSES = ("warm", "cold", "archive")

# backup_type -> (service, billing owner) and (billing owner, service, storage class) -> usage type
# (without region prefix): both from the resource-type catalogue, where each kind cites its pricing
# page.
BACKUP_TYPES: dict[str, tuple[str, str]] = catalog.backup_billing()
USAGE_TYPES: dict[tuple[str, str, str], str] = catalog.usage_types()

# Columns of the row frame before the allowance and the cost are added (`_key`, `_class` locate
# the row's group and class in `Groups`).
_GROUP_ROW_COLUMNS = (
    "_key",
    "_class",
    "account_id",
    "region",
    "service",
    "billing_owner",
    "storage_class",
    "usage_type",
    "backups",
    "gb_months",
    "upper_bound_gb_months",
    "unsized_backups",
    "size_basis",
    "price_usd_per_gb_month",
)


def _service_and_owner(btype: Any, variant: bool, unknown_types: set[str]) -> tuple[str, str]:
    """(service, billing owner) of a backup type; `variant` is `Encoded.flag`'s second variant."""
    if btype in BACKUP_TYPES:
        service, owner = BACKUP_TYPES[btype]
    else:
        service, owner = (btype or "(unknown)"), "(unknown)"
        unknown_types.add(str(btype))
    if btype == "rds-cluster-snapshot" and variant:
        service = "RDS"
    if btype == "dynamodb-backup" and variant:
        owner = "AWSBackup"
    return service, owner


def billed_rows(
    groups: Groups,
    enc: Encoded,
    prices: PriceTable,
    warnings: list[str],
) -> pd.DataFrame:
    """One row per group and storage class with backups: service, owner, usage type and price."""
    unknown_types: set[str] = set()
    cold_ddb: set[str] = set()
    rows = []
    for j, gk in enumerate(groups.live):
        acct, region = enc.acct_u[groups.acct[j]], enc.reg_u[groups.reg[j]]
        btype = enc.bt_u[groups.bt[j]]
        service, owner = _service_and_owner(btype, bool(groups.flag[j]), unknown_types)
        bases = sorted(
            str(enc.basis_u[b]) if b else "(none)" for b in np.flatnonzero(groups.present[gk])
        )
        for c, cls in enumerate(CLASSES):
            count = int(groups.count[gk, c])
            gbm_c = float(groups.gbm[gk, c])
            if count == 0 and gbm_c == 0.0:
                continue
            row_owner = owner
            if service == "DynamoDB" and cls == "cold" and owner != "AWSBackup":
                # Cold DynamoDB backups exist only under AWS Backup's advanced features, which
                # AWS Backup bills, whatever the region settings collected say.
                row_owner = "AWSBackup"
                cold_ddb.add(f"{acct}/{region}")
            usage_type = USAGE_TYPES.get((row_owner, service, cls))
            chained = bool(groups.chained[gk, c])
            rows.append(
                (
                    int(gk),
                    c,
                    acct if acct is not None else "(unknown)",
                    region if region is not None else "(unknown)",
                    service,
                    row_owner,
                    cls,
                    usage_type,
                    count,
                    gbm_c,
                    float(groups.upper[gk, c]),
                    int(groups.unsized[gk, c]),
                    "; ".join(
                        f"{b}(chain-estimate)" if chained and b != "(none)" else b for b in bases
                    ),
                    prices.price(region, usage_type, row_owner),
                )
            )
    if cold_ddb:
        warnings.append(
            f"DynamoDB backups in cold storage in {', '.join(sorted(cold_ddb))} with a DynamoDB ARN: "
            "cold storage exists only under AWS Backup's advanced features, so they are counted as "
            "AWSBackup-billed"
        )
    if unknown_types:
        warnings.append(
            f"unknown backup type(s) {', '.join(sorted(unknown_types))}: owner unknown, left unpriced"
        )
    df = pd.DataFrame(rows, columns=list(_GROUP_ROW_COLUMNS))
    df["price_usd_per_gb_month"] = df["price_usd_per_gb_month"].astype("float64")
    return df
