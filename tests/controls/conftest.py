"""Hand-built inventories and policies for the control tests.

`estate` gives a small builder: add resources (with tags), backups (by age), vaults, deployed plans
and errors, then `.inventory()`. `policy(text)` loads policy YAML written to a temp file.
`verdicts(findings, control)` maps (resource_arn, plan) to status for table-driven assertions.
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from auditor.controls import check_inventory
from auditor.inventory import Inventory, frame
from auditor.policy import load_policies

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"

_ARN = {
    "ebs-volume": "arn:aws:ec2:{region}:{account}:volume/{name}",
    "rds-instance": "arn:aws:rds:{region}:{account}:db:{name}",
    "rds-cluster": "arn:aws:rds:{region}:{account}:cluster:{name}",
    "dynamodb-table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "efs-filesystem": "arn:aws:elasticfilesystem:{region}:{account}:file-system/{name}",
    "storagegateway-volume": "arn:aws:storagegateway:{region}:{account}:gateway/sgw-1/volume/{name}",
}


class Estate:
    """A tiny inventory under construction."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.n = 0
        self.accounts = {ACCOUNT}
        self.regions = {REGION}

    def resource(
        self,
        name: str,
        rtype: str = "ebs-volume",
        tags: dict | None = None,
        age_days: float = 400,
        account: str = ACCOUNT,
        region: str = REGION,
        **extra,
    ) -> str:
        arn = _ARN[rtype].format(region=region, account=account, name=name)
        self.accounts.add(account)
        self.regions.add(region)
        self.rows["resources"].append(
            dict(
                account_id=account,
                region=region,
                resource_type=rtype,
                resource_arn=arn,
                resource_id=name,
                name=name,
                created_at=AS_OF - timedelta(days=age_days),
                size_bytes=100 * 1024**3,
                **extra,
            )
        )
        for key, value in (tags or {}).items():
            self.rows["tags"].append(
                dict(account_id=account, region=region, arn=arn, key=key, value=value)
            )
        return arn

    def backup(
        self,
        arn: str,
        age_hours: float,
        *,
        source: str = "aws-backup",
        status: str = "COMPLETED",
        keep_days: float | None = None,
        encrypted: bool | None = True,
        vault: str | None = "vault-a",
        region: str | None = None,
        account: str | None = None,
        copy_of: str | None = None,
        rtype: str | None = None,
        created_by: str | None = None,
        size_gib: int = 10,
    ) -> str:
        self.n += 1
        rp_arn = (
            f"arn:aws:backup:{region or REGION}:{account or ACCOUNT}:recovery-point:rp-{self.n}"
        )
        created = AS_OF - timedelta(hours=age_hours)
        self.rows["recovery_points"].append(
            dict(
                account_id=account or ACCOUNT,
                region=region or REGION,
                recovery_point_arn=rp_arn,
                resource_arn=arn,
                resource_type=rtype or _type_of(arn),
                backup_type="ebs-snapshot",
                source=source,
                created_by=created_by or ("aws-backup" if source == "aws-backup" else "user"),
                status=status,
                created_at=created,
                completed_at=created,
                size_bytes=size_gib * 1024**3,
                storage_class="warm",
                delete_at=None if keep_days is None else created + timedelta(days=keep_days),
                encrypted=encrypted,
                vault_name=vault if source == "aws-backup" else None,
                copy_source_arn=copy_of,
            )
        )
        return rp_arn

    def daily(self, arn: str, days: int, keep_days: float | None = 35, **kw) -> None:
        """One backup a day, the newest 1 hour old, going back `days` days."""
        for d in range(days):
            self.backup(arn, 1 + 24 * d, keep_days=keep_days, **kw)

    def vault(
        self,
        name: str = "vault-a",
        locked: bool = True,
        min_days: int | None = None,
        max_days: int | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
    ) -> None:
        self.rows["vaults"].append(
            dict(
                account_id=account,
                region=region,
                vault_name=name,
                locked=locked,
                min_retention_days=min_days,
                max_retention_days=max_days,
            )
        )

    def deployed(
        self,
        selection: dict,
        rules: list[dict],
        plan_id: str | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
        name: str | None = None,
    ) -> None:
        """A deployed AWS Backup plan: `selection` in AWS's shape, rules as backup_rules rows
        (a rule's `rule_name` may be given; the plan's name is its id unless `name`)."""
        plan_id = plan_id or f"plan-{len(self.rows['backup_plans']) + 1}"
        self.rows["backup_plans"].append(
            dict(
                account_id=account,
                region=region,
                backup_plan_id=plan_id,
                backup_plan_name=name or plan_id,
            )
        )
        for i, rule in enumerate(rules):
            self.rows["backup_rules"].append(
                {
                    "account_id": account,
                    "region": region,
                    "backup_plan_id": plan_id,
                    "rule_id": f"{plan_id}-r{i}",
                    "rule_name": f"{plan_id}-rule{i}",
                    "target_vault_name": "vault-a",
                    **rule,
                }
            )
        self.rows["backup_selections"].append(
            dict(
                account_id=account,
                region=region,
                backup_plan_id=plan_id,
                selection_id=f"{plan_id}-sel",
                selection_name=f"{plan_id}-sel",
                resources=json.dumps(selection.get("Resources", [])),
                not_resources=json.dumps(selection.get("NotResources", [])),
                list_of_tags=json.dumps(selection.get("ListOfTags", [])),
                conditions=json.dumps(selection.get("Conditions", {})),
            )
        )

    def error(
        self,
        affects: str = "*",
        account: str = ACCOUNT,
        region: str = REGION,
        service: str = "ec2",
        operation: str = "DescribeSnapshots",
        code: str = "AccessDenied",
    ) -> None:
        self.rows["errors"].append(
            dict(
                account_id=account,
                region=region,
                service=service,
                operation=operation,
                error_code=code,
                message="denied",
                affects=affects,
            )
        )

    def add(self, table: str, **row) -> None:
        self.rows[table].append(row)

    def inventory(self) -> Inventory:
        tables = {name: frame(name, rows) for name, rows in self.rows.items()}
        return Inventory(
            tables=tables,
            manifest={"accounts": sorted(self.accounts), "regions": sorted(self.regions)},
        )


def _type_of(arn: str) -> str:
    if ":volume/" in arn and ":ec2:" in arn:
        return "ebs-volume"
    if ":db:" in arn:
        return "rds-instance"
    if ":cluster:" in arn:
        return "rds-cluster"
    if ":dynamodb:" in arn:
        return "dynamodb-table"
    if "file-system" in arn:
        return "efs-filesystem"
    return "storagegateway-volume"


@pytest.fixture
def estate() -> Estate:
    return Estate()


@pytest.fixture
def policy(tmp_path):
    """Load policy YAML text (dedented) as a PolicySet."""
    counter = {"n": 0}

    def load(text: str):
        counter["n"] += 1
        path = tmp_path / f"policy-{counter['n']}.yaml"
        path.write_text(textwrap.dedent(text))
        return load_policies(path)

    return load


def plan_text(name: str = "p", **fields) -> str:
    """A one-plan policy document; `fields` override the plan's keys (values as YAML text)."""
    base = {
        "select": "{tags: {backup: gold}}",
        "frequency": "24h",
        "grace": "2h",
        "retention_days": "35",
    }
    base.update({k: v for k, v in fields.items() if v is not None})
    for key in [k for k, v in fields.items() if v is None]:
        base.pop(key, None)
    lines = ["version: 1", "plans:", f"  - name: {name}"] + [
        f"    {k}: {v}" for k, v in base.items()
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def plan_policy(policy):
    """plan_policy(**fields) -> PolicySet with one plan 'p' (select backup=gold, 24h + 2h, 35 days)."""
    return lambda **fields: policy(plan_text(**fields))


def verdicts(findings, control: str) -> dict:
    """{(resource_arn, plan): status} for one control."""
    f = findings.frame
    f = f[f["control_id"] == control]
    return {(a, p): s for a, p, s in zip(f["resource_arn"], f["plan"], f["status"])}


def one(findings, control: str, arn: str, plan: str | None = "p"):
    """The single finding row of `control` for `arn` (and plan)."""
    f = findings.frame
    rows = f[(f["control_id"] == control) & (f["resource_arn"] == arn)]
    if plan is not None:
        rows = rows[rows["plan"] == plan]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture
def check():
    """check(estate, policies, controls=None, as_of=AS_OF) -> Findings."""

    def run(estate: Estate, policies, controls=None, as_of=AS_OF):
        return check_inventory(estate.inventory(), policies, as_of, controls=controls)

    return run


GOLD = {"backup": "gold"}


@pytest.fixture
def h():
    """Helpers and constants for tests (conftest modules are not importable under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        AS_OF=AS_OF,
        ACCOUNT=ACCOUNT,
        OTHER_ACCOUNT=OTHER_ACCOUNT,
        REGION=REGION,
        GOLD=GOLD,
        one=one,
        verdicts=verdicts,
        plan_text=plan_text,
        timedelta=timedelta,
    )
