"""Every finding that calls for a change says what to change (`remediation`), per control and
situation; findings that need none leave it empty."""

from __future__ import annotations

import json

from auditor.controls import check_inventory
from auditor.findings import findings_csv_text


def test_vault_lock_names_the_vault_and_the_cli_command(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.daily(arn, 40, keep_days=35, vault="open-vault")
    estate.vault("open-vault", locked=False)
    pol = policy(h.plan_text(accept="[aws-backup]", vault_lock="true", max_retention_days="400"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame
    row = frame[(frame["control_id"] == "vault-lock")].iloc[0]
    assert row["status"] == "FAIL"
    assert "Lock vault open-vault (us-east-1)" in row["remediation"]
    assert (
        "aws backup put-backup-vault-lock-configuration --region us-east-1"
        " --backup-vault-name open-vault --min-retention-days 35 --max-retention-days 400"
    ) in row["remediation"]


def test_plan_aware_texts_and_nulls_where_nothing_is_to_change(estate, policy, h):
    fresh = estate.resource("vol-ok", tags=h.GOLD)
    estate.daily(fresh, 40, keep_days=35)
    stale = estate.resource("vol-stale", tags=h.GOLD)
    estate.backup(stale, age_hours=40, keep_days=7)
    estate.resource("vol-untagged")
    pol = policy(h.plan_text(name="gold", accept="[aws-backup]"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame

    def text(control, arn):
        rows = frame[(frame["control_id"] == control) & (frame["resource_arn"] == arn)]
        assert len(rows) == 1
        return rows.iloc[0]["status"], rows.iloc[0]["remediation"]

    status, rem = text("backup-recency", stale)
    assert status == "FAIL" and "Plan gold needs a completed backup every 24h" in rem
    assert "aws backup start-backup-job" in rem
    status, rem = text("backup-retention", stale)
    assert status == "FAIL" and "DeleteAfterDays to at least 35" in rem
    untagged = frame[frame["resource_arn"].str.endswith("vol-untagged")]
    covered = untagged[untagged["control_id"] == "resource-covered"].iloc[0]
    assert covered["status"] == "FAIL"
    assert 'plan gold selects {"tags": {"backup": "gold"}}' in covered["remediation"]
    # PASS and NOT_APPLICABLE rows need no change: no remediation.
    quiet = frame[frame["status"].isin(["PASS", "NOT_APPLICABLE"])]
    assert len(quiet) and quiet["remediation"].isna().all()


def test_every_fail_has_a_remediation_and_the_csv_carries_it(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=40, keep_days=None, encrypted=False)
    estate.backup(arn.replace("vol-1", "vol-gone"), age_hours=24 * 90, keep_days=None)
    estate.resource("vol-untagged")
    pol = policy(
        h.plan_text(
            accept="[aws-backup]",
            encrypted="true",
            vault_lock="true",
            copy_to="{regions: [eu-west-1], accounts: ['" + h.OTHER_ACCOUNT + "']}",
            max_retention_days="100",
        )
    )
    findings = check_inventory(estate.inventory(), pol, h.AS_OF)
    frame = findings.frame
    fails = frame[frame["status"] == "FAIL"]
    assert len(set(fails["control_id"])) >= 7, set(fails["control_id"])
    assert fails["remediation"].map(lambda t: isinstance(t, str) and len(t) > 20).all()
    header = findings_csv_text(findings).splitlines()[0]
    assert '"remediation"' in header.split(",")


def test_not_assessed_says_how_to_get_the_data(estate, policy, h):
    arn = estate.resource("vol-1", tags=h.GOLD)
    estate.backup(arn, age_hours=2)
    estate.error(affects="ebs-volume")
    pol = policy(h.plan_text(accept="[aws-backup]"))
    frame = check_inventory(estate.inventory(), pol, h.AS_OF).frame
    na = frame[frame["status"] == "NOT_ASSESSED"]
    assert len(na)
    assert na["remediation"].str.contains("permission the failed call needs").all()
    assert json.dumps(list(na["remediation"]))


def test_resource_name_is_the_name_tag(estate, policy, h):
    named = estate.resource("vol-1", tags={**h.GOLD, "Name": "billing-db-data"})
    estate.backup(named, age_hours=2)
    unnamed = estate.resource("vol-2", tags=h.GOLD)
    estate.backup(unnamed, age_hours=2)
    estate.backup(unnamed.replace("vol-2", "vol-gone"), age_hours=24 * 90)
    findings = check_inventory(estate.inventory(), policy(h.plan_text()), h.AS_OF)
    frame = findings.frame
    assert set(frame.loc[frame["resource_arn"] == named, "resource_name"]) == {"billing-db-data"}
    assert frame.loc[frame["resource_arn"] == unnamed, "resource_name"].isna().all()
    orphan = frame[frame["control_id"] == "orphaned-backup"]
    assert len(orphan) and orphan["resource_name"].isna().all()
    assert '"resource_name"' in findings_csv_text(findings).splitlines()[0]
