"""`--dask local:2` writes the same findings files, byte for byte, as a run in one process.

The estate is served by a `SandboxServer` (moto over HTTP on loopback), so the Dask worker
processes of `local:2` reach it through `AWS_ENDPOINT_URL` the way they would reach AWS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
MGMT, MEMBER = "123456789012", "111111111111"
POLICIES = Path(__file__).resolve().parents[2] / "policies"

pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")


@pytest.fixture
def served_org(monkeypatch):
    """Two accounts of an Organization, seeded, behind a loopback endpoint."""
    from auditor.sandbox import SandboxServer, seed_estate, seed_organization

    with SandboxServer() as server:
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_MAX_ATTEMPTS"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGIONS[0])
        seed_organization(AS_OF, [MGMT, MEMBER])
        for seed, account in ((7, MGMT), (8, MEMBER)):
            seed_estate(AS_OF, seed=seed, regions=REGIONS, account_id=account, scale=0.1)
        yield server


def _audit(out: Path, *extra: str) -> int:
    from typer.testing import CliRunner

    from auditor.cli import app

    args = [
        "audit",
        "--org",
        "--policies",
        str(POLICIES),
        "--out",
        str(out),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json,csv",
        "--no-history",
        "--quiet",
        *extra,
    ]
    for region in REGIONS:
        args += ["--region", region]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def test_dask_local_2_writes_byte_identical_findings(served_org, tmp_path):
    plain_code = _audit(tmp_path / "plain")
    dask_code = _audit(tmp_path / "dask", "--dask", "local:2")

    assert plain_code == dask_code == 3  # both complete, both find failures
    plain_doc = json.loads((tmp_path / "plain" / "findings.json").read_text())
    accounts = {f["account_id"] for f in plain_doc["findings"]}
    assert accounts == {MGMT, MEMBER}  # both accounts judged: the rows of two tasks were merged
    for name in ("findings.json", "findings.csv"):
        plain = (tmp_path / "plain" / name).read_bytes()
        dask = (tmp_path / "dask" / name).read_bytes()
        assert plain == dask, f"{name} differs between a plain run and --dask local:2"
