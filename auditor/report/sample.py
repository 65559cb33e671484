"""A small hand-made set of results (every status, severity and report section) at a fixed as_of.

Used by the renderer, evidence and pipeline tests and by benchmarks: `make_results()` builds it in
memory, `write_results_folder(folder)` writes it as a results folder (findings, metering, run,
history, policies with waivers, inventory).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from auditor.inventory import Inventory, frame, write_inventory
from auditor.report.model import ControlInfo, Results, findings_frame, metering_frame

AS_OF = "2026-11-26T00:00:00+00:00"
A1, A2 = "111122223333", "444455556666"


def _arn(account, region, kind, rid):
    return f"arn:aws:{kind}:{region}:{account}:{rid}"


VOL1 = _arn(A1, "us-east-1", "ec2", "volume/vol-0001")
VOL2 = _arn(A1, "us-east-1", "ec2", "volume/vol-0002")
DB1 = _arn(A1, "eu-west-1", "rds", "db:orders")
TBL = _arn(A2, "us-east-1", "dynamodb", "table/sessions")
EFS = _arn(A2, "eu-west-1", "elasticfilesystem", "file-system/fs-01")

FINDINGS = [
    dict(
        resource_arn=VOL1,
        resource_type="ebs-volume",
        account_id=A1,
        region="us-east-1",
        control_id="backup-recency",
        status="FAIL",
        severity="high",
        plan="gold",
        detail="Newest backup is 3 days old; plan gold requires one every 24h (+2h grace).",
        evidence={
            "last_backup_at": "2026-11-23T01:00:00+00:00",
            "age_hours": 71.0,
            "limit_hours": 26,
        },
    ),
    dict(
        resource_arn=VOL1,
        resource_type="ebs-volume",
        account_id=A1,
        region="us-east-1",
        control_id="resource-covered",
        status="PASS",
        severity="high",
        plan="gold",
        detail="Selected by plan gold.",
        evidence={"plans": ["gold"]},
    ),
    dict(
        resource_arn=VOL2,
        resource_type="ebs-volume",
        account_id=A1,
        region="us-east-1",
        control_id="resource-covered",
        status="FAIL",
        severity="critical",
        plan=None,
        detail="In scope but no declared plan selects it | <b>not escaped?</b>",
        evidence={"tags": {"team": "web"}},
    ),
    dict(
        resource_arn=DB1,
        resource_type="rds-instance",
        account_id=A1,
        region="eu-west-1",
        control_id="backup-encrypted",
        status="WAIVED",
        severity="medium",
        plan="silver",
        detail="Unencrypted snapshot; waived until 2027-01-31 (owner dba@example.com).",
        evidence={
            "waiver": {"owner": "dba@example.com", "expires": "2027-01-31", "reason": "migration"}
        },
    ),
    dict(
        resource_arn=DB1,
        resource_type="rds-instance",
        account_id=A1,
        region="eu-west-1",
        control_id="backup-recency",
        status="PASS",
        severity="high",
        plan="silver",
        detail="Newest backup is 5 hours old.",
        evidence={"age_hours": 5.0},
    ),
    dict(
        resource_arn=TBL,
        resource_type="dynamodb-table",
        account_id=A2,
        region="us-east-1",
        control_id="backup-recency",
        status="NOT_ASSESSED",
        severity="high",
        plan="gold",
        detail="DynamoDB backups could not be listed (AccessDenied).",
        evidence={"error_code": "AccessDeniedException", "operation": "ListBackups"},
    ),
    dict(
        resource_arn=EFS,
        resource_type="efs-filesystem",
        account_id=A2,
        region="eu-west-1",
        control_id="vault-lock",
        status="NOT_APPLICABLE",
        severity="low",
        plan="silver",
        detail="Plan silver does not require a locked vault.",
        evidence={},
    ),
    dict(
        resource_arn=EFS,
        resource_type="efs-filesystem",
        account_id=A2,
        region="eu-west-1",
        control_id="backup-retention",
        status="FAIL",
        severity="medium",
        plan="silver",
        detail="Recovery point expires after 7 days; plan silver keeps 35.",
        evidence={"delete_after_days": 7, "retention_days": 35},
    ),
]

METERING = [
    dict(
        account_id=A1,
        region="us-east-1",
        service="ebs",
        billing_owner="AmazonEC2",
        storage_class="warm",
        gb_months=120.5,
        estimated_cost_usd=6.03,
    ),
    dict(
        account_id=A1,
        region="eu-west-1",
        service="rds",
        billing_owner="AmazonRDS",
        storage_class="warm",
        gb_months=40.0,
        estimated_cost_usd=3.8,
    ),
    dict(
        account_id=A2,
        region="eu-west-1",
        service="efs",
        billing_owner="AWSBackup",
        storage_class="warm",
        gb_months=10.0,
        estimated_cost_usd=0.5,
    ),
    dict(
        account_id=A2,
        region="eu-west-1",
        service="efs",
        billing_owner="AWSBackup",
        storage_class="cold",
        gb_months=100.0,
        estimated_cost_usd=1.0,
    ),
]

CONTROLS = [
    ControlInfo(
        "backup-encrypted",
        "Backups are encrypted",
        "medium",
        "FAIL when a recovery point is unencrypted while the plan requires encryption.",
    ),
    ControlInfo(
        "backup-recency",
        "Newest backup is recent enough",
        "high",
        "FAIL when the newest completed backup is older than the plan's frequency plus grace.",
    ),
    ControlInfo(
        "backup-retention",
        "Backups are kept long enough",
        "medium",
        "FAIL when a recovery point expires before retention_days.",
    ),
    ControlInfo(
        "resource-covered",
        "Every resource in scope has a plan",
        "critical",
        "FAIL when a resource in scope matches no declared plan.",
    ),
    ControlInfo(
        "vault-lock",
        "Vault is locked where required",
        "low",
        "FAIL when the plan requires a locked vault that is not locked.",
    ),
]

HISTORY = {
    "trend": [
        {"as_of": "2026-11-24T00:00:00+00:00", "compliance_pct": 50.0, "FAIL": 3},
        {"as_of": "2026-11-25T00:00:00+00:00", "compliance_pct": 60.0, "FAIL": 2},
        {"as_of": AS_OF, "compliance_pct": 42.9, "FAIL": 3},
    ],
    "changes": {
        "previous_as_of": "2026-11-25T00:00:00+00:00",
        "new_failures": [{"resource_arn": VOL1, "control_id": "backup-recency"}],
        "new_failures_count": 1,
        "resolved": [],
        "resolved_count": 0,
        "new_resources": [EFS],
        "new_resources_count": 1,
        "removed_resources_count": 0,
    },
}


def inventory() -> Inventory:
    """Two resources with backups over the last weeks, and one failed call."""
    rps = []
    for day in range(3, 40, 1):
        rps.append(
            dict(
                account_id=A1,
                region="us-east-1",
                recovery_point_arn=f"arn:aws:ec2:us-east-1::snapshot/snap-{day:04d}",
                resource_arn=VOL1,
                resource_type="ebs-volume",
                backup_type="ebs-snapshot",
                source="aws-backup" if day % 2 else "native",
                created_by="aws-backup",
                status="COMPLETED",
                created_at=(pd.Timestamp(AS_OF) - pd.Timedelta(days=day, hours=-1)).isoformat(),
                size_bytes=8_000_000_000,
                storage_class="warm",
                encrypted=True,
            )
        )
    rps.append(
        dict(
            account_id=A1,
            region="eu-west-1",
            recovery_point_arn="arn:aws:rds:eu-west-1:111122223333:snapshot:rds:orders-1",
            resource_arn=DB1,
            resource_type="rds-instance",
            backup_type="rds-snapshot",
            source="native",
            created_by="automated",
            status="COMPLETED",
            created_at="2026-11-25T19:00:00Z",
            size_bytes=20_000_000_000,
            storage_class="warm",
            encrypted=False,
        )
    )
    errors = [
        dict(
            account_id=A2,
            region="us-east-1",
            service="dynamodb",
            operation="ListBackups",
            error_code="AccessDeniedException",
            message="User is not authorized to perform dynamodb:ListBackups",
            affects="dynamodb-table",
        )
    ]
    return Inventory(
        tables={
            "recovery_points": frame("recovery_points", rps),
            "errors": frame("errors", errors),
        },
        manifest={
            "accounts": [A1, A2],
            "regions": ["eu-west-1", "us-east-1"],
            "collected_at": AS_OF,
        },
    )


WAIVERS_YAML = f"""version: 1
plans: []
waivers:
  - resource: {DB1}
    controls: [backup-encrypted]
    reason: migration to encrypted storage
    owner: dba@example.com
    expires: 2027-01-31
  - resource: {VOL2}
    controls: [backup-recency]
    reason: old waiver
    owner: storage-team@example.com
    expires: 2026-01-31
"""


def make_results(with_inventory: bool = True) -> Results:
    """The hand-made Results (every status, severity and report section)."""
    return Results(
        as_of=AS_OF,
        findings=findings_frame(FINDINGS),
        summary={"total": len(FINDINGS)},
        metering=metering_frame(METERING),
        inventory=inventory() if with_inventory else None,
        run={
            "command": "auditor audit --policies policies",
            "scope": {"accounts": [A1, A2], "regions": ["eu-west-1", "us-east-1"]},
        },
        history=HISTORY,
        waivers=[
            {
                "resource": DB1,
                "controls": ["backup-encrypted"],
                "reason": "migration to encrypted storage",
                "owner": "dba@example.com",
                "expires": "2027-01-31",
                "active": True,
                "file": "p.yaml",
            },
            {
                "resource": VOL2,
                "controls": ["backup-recency"],
                "reason": "old waiver",
                "owner": "storage-team@example.com",
                "expires": "2026-01-31",
                "active": False,
                "file": "p.yaml",
            },
        ],
        controls=CONTROLS,
    )


def write_results_folder(folder: Path) -> Path:
    """Write the hand-made results as a results folder (findings/metering/run/history/inventory/policies)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "findings.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "as_of": AS_OF,
                "summary": {"total": len(FINDINGS)},
                "findings": FINDINGS,
            },
            indent=2,
        )
    )
    (folder / "metering.json").write_text(
        json.dumps({"schema_version": 1, "as_of": AS_OF, "rows": METERING}, indent=2)
    )
    (folder / "run.json").write_text(
        json.dumps(
            {
                "command": "auditor audit --policies policies",
                "as_of": AS_OF,
                "scope": {"accounts": [A1, A2], "regions": ["eu-west-1", "us-east-1"]},
            }
        )
    )
    (folder / "history.json").write_text(json.dumps(HISTORY))
    (folder / "policies").mkdir(exist_ok=True)
    (folder / "policies" / "waivers.yaml").write_text(WAIVERS_YAML)
    write_inventory(inventory(), folder / "inventory")
    return folder
