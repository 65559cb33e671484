"""`--dask`: per-account collect → check as tasks on a Dask cluster gives a plain run's findings.

The cluster is a `distributed.LocalCluster` of two workers in this process (threads): moto's
in-process state is then visible to the tasks. Process workers work the same way against a
sandbox server endpoint (`AWS_ENDPOINT_URL`); that is what the benchmarks and `--dask local` use.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
MGMT, GOOD, BAD = "123456789012", "111111111111", "222222222222"

distributed = pytest.importorskip("distributed")

# moto warns that AccessDenied is not among STS's modelled errors; AWS does answer AssumeRole with it.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*AccessDenied does not match an error shape:UserWarning"),
    # Two test processes (xdist) each start a cluster; the second one's HTTP server moves port.
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
]


@pytest.fixture(scope="module")
def client(org_estate):
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _options(**kwargs):
    from auditor.aws import CollectOptions

    return CollectOptions(regions=list(REGIONS), as_of=AS_OF, **kwargs)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "account_id",
        "region",
        "resource_arn",
        "resource_type",
        "control_id",
        "plan",
        "status",
        "severity",
        "detail",
    ]
    return frame[cols].astype(str).sort_values(cols).reset_index(drop=True)


@pytest.fixture(scope="module")
def plain_run(org_estate, policies):
    """Collect and check in this process, without Dask: what every Dask run must equal."""
    from auditor.aws import collect_inventory
    from auditor.controls import check_inventory

    inventory = collect_inventory(_options(org=True))
    return inventory, check_inventory(inventory, policies, AS_OF)


def test_dask_run_gives_the_findings_of_a_plain_run(org_estate, policies, client, plain_run):
    from auditor.distributed import collect_and_check

    plain_inventory, plain = plain_run

    inventory, findings = collect_and_check(
        _options(org=True), client=client, policies=policies, as_of=AS_OF
    )

    pd.testing.assert_frame_equal(_rows(findings.frame), _rows(plain.frame))
    assert findings.summary["by_status"] == plain.summary["by_status"]
    assert findings.summary["by_account"] == plain.summary["by_account"]
    assert set(findings.frame.loc[findings.frame["account_id"] == BAD, "status"]) == {
        "NOT_ASSESSED"
    }
    # The combined inventory holds the same rows as the plain one.
    for table in ("resources", "recovery_points", "errors"):
        key = (
            "recovery_point_arn"
            if table == "recovery_points"
            else ("resource_arn" if table == "resources" else "account_id")
        )
        assert sorted(inventory[table][key].astype(str)) == sorted(
            plain_inventory[table][key].astype(str)
        ), table
    assert inventory.manifest["accounts"] == sorted([MGMT, GOOD, BAD])
    assert inventory.manifest["accounts_failed"] == [BAD]


def test_a_task_that_dies_makes_only_its_account_not_assessed(
    org_estate, policies, client, monkeypatch
):
    import auditor.distributed as d

    real = d.run_account

    def flaky(work):
        if work.account_id == GOOD:
            raise RuntimeError("worker lost")
        return real(work)

    monkeypatch.setattr(d, "run_account", flaky)
    works = d.works_for(_options(), [MGMT, GOOD], policies=policies, as_of=AS_OF)
    inventory, findings = d.combine(
        d.run_on_dask(works, client=client), policies=policies, as_of=AS_OF
    )
    frame = findings.frame
    assert set(frame.loc[frame["account_id"] == GOOD, "status"]) == {"NOT_ASSESSED"}
    assert "PASS" in set(frame.loc[frame["account_id"] == MGMT, "status"])
    assert inventory.errors[["account_id", "service", "error_code", "affects"]].values.tolist() == [
        [GOOD, "dask", "RuntimeError", "*"]
    ]


def test_audit_cli_with_dask_writes_the_plain_findings(
    org_estate, policies_path, client, plain_run, tmp_path
):
    import json

    from typer.testing import CliRunner

    from auditor.cli import app

    plain = plain_run[1].summary
    out = tmp_path / "results"
    args = [
        "audit",
        "--org",
        "--dask",
        client.scheduler.address,
        "--policies",
        str(policies_path),
        "--out",
        str(out),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        "--no-history",
        "--quiet",
    ]
    for region in REGIONS:
        args += ["--region", region]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # BAD could not be entered
    doc = json.loads((out / "findings.json").read_text())
    assert doc["summary"]["by_status"] == plain["by_status"]
    assert doc["summary"]["by_account"] == plain["by_account"]
    run = json.loads((out / "run.json").read_text())
    assert run["collection"]["accounts_failed"] == [BAD]
