"""vault_lock: true | governance | compliance, on vaults locked through the AWS Backup API.

AWS Backup Vault Lock (https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html):
PutBackupVaultLockConfiguration with ChangeableForDays sets a LockDate; from it the lock is in
compliance mode (immutable). Before it, and without ChangeableForDays, the lock is in governance
mode: users with backup:DeleteBackupVaultLockConfiguration can remove it. Expected verdicts:

  vault \\ plan requires      true   governance   compliance
  governance (no LockDate)    PASS   PASS         FAIL
  compliance, LockDate past   PASS   PASS         PASS
  compliance, LockDate ahead  PASS   PASS         FAIL   (still governance until the LockDate)
  not locked                  FAIL   FAIL         FAIL
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from moto import mock_aws

import auditor.sandbox

sys.path.insert(0, str(Path(__file__).parent))
from e2e_estate import ACCOUNT, REGION, Estate, as_of_now, collect_and_check

H = timedelta(hours=1)
D = timedelta(days=1)
BOUNDS = {"MinRetentionDays": 1, "MaxRetentionDays": 3650}

POLICY = """
version: 1
scope: {resource_types: [ebs-volume]}
plans:
""" + "".join(
    f"""  - {{name: {name}, select: {{tags: {{backup: gold}}}}, frequency: 24h, grace: 2h,
     retention_days: 7, accept: [aws-backup], vault_lock: {mode}}}
"""
    for name, mode in (("any", "true"), ("gov", "governance"), ("comp", "compliance"))
)

EXPECTED = {
    "governance": {"any": "PASS", "gov": "PASS", "comp": "FAIL"},
    "compliance": {"any": "PASS", "gov": "PASS", "comp": "PASS"},
    "pending": {"any": "PASS", "gov": "PASS", "comp": "FAIL"},
    "unlocked": {"any": "FAIL", "gov": "FAIL", "comp": "FAIL"},
}


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    from moto.backup.models import backup_backends

    auditor.sandbox.install()
    with mock_aws():
        as_of = as_of_now()
        e = Estate(as_of)
        e.vault("governance", lock=BOUNDS)
        e.vault("compliance", lock={**BOUNDS, "ChangeableForDays": 3})
        e.vault("pending", lock={**BOUNDS, "ChangeableForDays": 3})
        e.vault("unlocked")
        # The compliance vault's cooling-off ended a day before as_of (moto stores epoch seconds).
        vault = backup_backends[ACCOUNT][REGION].vaults["compliance"]
        vault.lock_date = (as_of - D).timestamp()
        for name in EXPECTED:
            e.volume(name, {"backup": "gold"}, age_days=1)
            e.backup_job(name, name, 3 * H)
        findings = collect_and_check(tmp_path_factory.mktemp("lock"), POLICY, as_of)
    return e, findings


@pytest.mark.parametrize("vault", list(EXPECTED))
def test_lock_modes(locked, vault):
    e, findings = locked
    got = {
        plan: findings[(e.arns[vault], "vault-lock", plan)]["status"] for plan in EXPECTED[vault]
    }
    assert got == EXPECTED[vault]


def test_governance_lock_says_privileged_users_can_remove_it(locked):
    e, findings = locked
    passed = findings[(e.arns["governance"], "vault-lock", "any")]
    assert "governance mode" in passed["detail"]
    assert "backup:DeleteBackupVaultLockConfiguration can remove" in passed["detail"]
    assert passed["evidence"]["governance_vaults"] == "governance (us-east-1)"
    failed = findings[(e.arns["pending"], "vault-lock", "comp")]["detail"]
    assert "governance mode until its lock date" in failed and "requires compliance" in failed
    in_force = findings[(e.arns["compliance"], "vault-lock", "any")]["detail"]
    assert "governance" not in in_force
