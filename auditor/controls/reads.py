"""Which inventory data each failed collection call leaves incomplete.

A control declares the data it reads (`reads=` on its registration, names from `DATA`). When a
collection call failed, the findings of exactly the controls that read the data that call fills
become NOT_ASSESSED for the resources the failure may have touched; the other controls keep their
verdict (a volume's coverage does not depend on whether its snapshots could be listed).

This module is data only: the policy loader and plan-check may import it without the engine.
"""

from __future__ import annotations

__all__ = ["ALL_DATA", "BACKUP_DATA", "CALL_DATA", "DATA", "PLAN_CONFIG_DATA", "data_of_call"]

# The inventory tables, plus one column group that a separate call fills.
DATA = (
    "resources",
    "tags",
    # DynamoDB's continuous backups (point-in-time recovery) of a table: its native schedule and
    # latest restorable time in `resources`, filled by DescribeContinuousBackups.
    "continuous_backups",
    "recovery_points",
    "backup_jobs",
    "vaults",
    "backup_plans",
    "backup_rules",
    "backup_selections",
    "region_settings",
    # AWS Backup restore jobs and restore testing plans/selections.
    "restore_jobs",
    # Vault access policies (GetBackupVaultAccessPolicy) and backups shared with everyone.
    "vault_policies",
    "public_backups",
)
ALL_DATA = frozenset(DATA)
# Backups and where they are kept.
BACKUP_DATA = frozenset({"recovery_points", "backup_jobs", "vaults"})
# AWS Backup's configuration: plans, their rules and selections, and the region's opt-in settings.
PLAN_CONFIG_DATA = frozenset(
    {"backup_plans", "backup_rules", "backup_selections", "region_settings"}
)

# (service, operation) -> the data that call fills. A call not listed fills `resources` and `tags`
# (listings of resources and their tags), or, for another AWS Backup call, every AWS Backup table.
CALL_DATA: dict[tuple[str, str], frozenset[str]] = {
    ("ec2", "ListSnapshotsInRecycleBin"): frozenset({"recovery_points"}),
    # The same listings find the public EBS snapshots (RestorableByUserIds=all) and the manual RDS
    # snapshots whose sharing is checked: incomplete, they leave `public_backups` incomplete too.
    ("ec2", "DescribeSnapshots"): frozenset({"recovery_points", "public_backups"}),
    ("rds", "DescribeDBSnapshots"): frozenset({"recovery_points", "public_backups"}),
    ("rds", "DescribeDBClusterSnapshots"): frozenset({"recovery_points", "public_backups"}),
    ("dynamodb", "ListBackups"): frozenset({"recovery_points"}),
    ("dynamodb", "DescribeContinuousBackups"): frozenset({"continuous_backups"}),
    ("backup", "ListRecoveryPointsByBackupVault"): frozenset({"recovery_points"}),
    ("backup", "ListRecoveryPointsByResource"): frozenset({"recovery_points"}),
    ("backup", "DescribeRecoveryPoint"): frozenset({"recovery_points"}),
    ("backup", "ListBackupJobs"): frozenset({"backup_jobs"}),
    ("backup", "ListCopyJobs"): frozenset({"backup_jobs"}),
    ("backup", "ListBackupVaults"): frozenset({"vaults"}),
    ("backup", "DescribeBackupVault"): frozenset({"vaults"}),
    ("backup", "ListBackupPlans"): frozenset({"backup_plans"}),
    ("backup", "GetBackupPlan"): frozenset({"backup_plans", "backup_rules"}),
    ("backup", "ListBackupSelections"): frozenset({"backup_selections"}),
    ("backup", "GetBackupSelection"): frozenset({"backup_selections"}),
    ("backup", "DescribeRegionSettings"): frozenset({"region_settings"}),
    ("backup", "ListRestoreJobs"): frozenset({"restore_jobs"}),
    ("backup", "ListRestoreTestingPlans"): frozenset({"restore_jobs"}),
    ("backup", "ListRestoreTestingSelections"): frozenset({"restore_jobs"}),
    ("backup", "GetBackupVaultAccessPolicy"): frozenset({"vault_policies"}),
    ("ec2", "DescribeImages"): frozenset({"public_backups"}),
    ("rds", "DescribeDBSnapshotAttributes"): frozenset({"public_backups"}),
    ("rds", "DescribeDBClusterSnapshotAttributes"): frozenset({"public_backups"}),
}
_OTHER_BACKUP_CALL = BACKUP_DATA | PLAN_CONFIG_DATA
_OTHER_CALL = frozenset({"resources", "tags"})


def data_of_call(service: str, operation: str) -> frozenset[str]:
    """The data a failed call (service, operation) may have left incomplete."""
    known = CALL_DATA.get((service, operation))
    if known is not None:
        return known
    return _OTHER_BACKUP_CALL if service == "backup" else _OTHER_CALL
