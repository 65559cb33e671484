"""Hostile input: every malformed policy file, price table, CUR file, inventory folder or template
gives exit 2 and ONE stderr line (`auditor: error: ...`) -- never a traceback, never an internal
error, never a partial output. YAML bombs, deep nesting and huge files are refused by the limits in
`auditor.limits`.

Property tests run the real CLI in-process (Typer's runner) on inputs hypothesis derives from valid
files: random text, structural mutations (a value replaced by any YAML/JSON value) and byte damage
(truncation, overwritten bytes).
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.inventory import Inventory, frame, write_inventory

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "plancheck" / "fixtures"
POLICY_TEXT = (ROOT / "policies" / "backup-plans.yaml").read_text()
CFN_TEXT = (FIXTURES / "cfn" / "covered.yaml").read_text()
TF_DOC = json.loads((FIXTURES / "tf" / "covered.json").read_text())
AS_OF = "2026-11-26T12:00:00Z"
ACCT = "111122223333"

# CI: 40 fixed examples per property. AUDITOR_HYPOTHESIS_EXAMPLES=N explores N random ones instead.
_EXPLORE = int(os.environ.get("AUDITOR_HYPOTHESIS_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=_EXPLORE or 40,
    deadline=None,
    derandomize=not _EXPLORE,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# any JSON/YAML value, small
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(h, args, out: Path | None, before: dict | None = None):
    """Run the CLI; exit 2 must be one line with no output written; nothing may be an internal error."""
    result = h.invoke(args)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.stderr, result.exception)
    if result.exit_code == 2:
        h.one_line_error(result, 2)
        if out is not None:
            now = h.snapshot(out) if out.exists() else {}
            assert now == (before or {}), f"partial output after a refused input: {sorted(now)}"
    return result


def _paths(doc, prefix=()):
    """Every path to a value inside a JSON-like document."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, prefix + (i,))


def _replace(doc, path, value):
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


def _mutated(doc):
    """A strategy: `doc` with one value (anywhere) replaced by any value."""
    paths = list(_paths(doc))
    return st.tuples(st.sampled_from(paths), VALUES).map(lambda pv: _replace(doc, pv[0], pv[1]))


def _damaged(data: bytes):
    """A strategy: `data` truncated, or with a run of bytes overwritten, or with text inserted."""
    n = len(data)
    return st.one_of(
        st.integers(0, max(0, n - 1)).map(lambda k: data[:k]),
        st.tuples(st.integers(0, max(0, n - 1)), st.binary(min_size=1, max_size=16)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] + len(t[1]) :]
        ),
        st.tuples(
            st.integers(0, n),
            st.sampled_from(
                [
                    b"{",
                    b"[",
                    b"]",
                    b":",
                    b"\t",
                    b'"',
                    b"&a",
                    b"*a",
                    b"!Ref",
                    b"\x00",
                    b"\xff",
                    b"- ",
                    b"\n  -",
                    b"'",
                    b"%YAML 9\n",
                ]
            ),
        ).map(lambda t: data[: t[0]] + t[1] + data[t[0] :]),
    )


@pytest.fixture(scope="module")
def inventory_dir(tmp_path_factory) -> Path:
    """A small valid inventory: two tagged volumes (one backed up), one orphaned snapshot."""
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    vol = lambda v: f"arn:aws:ec2:us-east-1:{ACCT}:volume/{v}"  # noqa: E731
    resources = frame(
        "resources",
        [
            {
                "account_id": ACCT,
                "region": "us-east-1",
                "resource_type": "ebs-volume",
                "resource_arn": vol(v),
                "resource_id": v,
                "created_at": t0,
                "size_bytes": 10 * 2**30,
                "encrypted": True,
                "state": "in-use",
            }
            for v in ("vol-1", "vol-2")
        ],
    )
    tags = frame(
        "tags",
        [
            {
                "account_id": ACCT,
                "region": "us-east-1",
                "arn": vol(v),
                "key": "backup",
                "value": "gold",
            }
            for v in ("vol-1", "vol-2")
        ],
    )
    rps = frame(
        "recovery_points",
        [
            {
                "account_id": ACCT,
                "region": "us-east-1",
                "recovery_point_arn": f"arn:aws:ec2:us-east-1::snapshot/snap-{i}",
                "resource_arn": vol(v),
                "resource_type": "ebs-volume",
                "backup_type": "ebs-snapshot",
                "source": "native",
                "created_by": "user",
                "status": "COMPLETED",
                "created_at": t0,
                "completed_at": t0,
                "size_bytes": 2**30,
                "storage_class": "warm",
                "encrypted": True,
            }
            for i, v in enumerate(("vol-1", "vol-9"))
        ],
    )
    tables = {"resources": resources, "tags": tags, "recovery_points": rps}
    inv = Inventory(
        tables=tables,
        manifest={
            "accounts": [ACCT],
            "regions": ["us-east-1"],
            "collected_at": "2026-11-26T12:00:00+00:00",
        },
    )
    return write_inventory(inv, tmp_path_factory.mktemp("inv") / "inventory")


@pytest.fixture
def work():
    """`with work() as folder:` a fresh folder per hypothesis example (a fixture lives for all of them)."""
    import contextlib

    @contextlib.contextmanager
    def fresh():
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)

    return fresh


def test_the_valid_inputs_pass(h, inventory_dir, tmp_path):
    """The inputs the properties mutate are valid, so a refusal below is the mutation's doing."""
    (tmp_path / "p.yaml").write_text(POLICY_TEXT)
    result = h.invoke(
        [
            "check",
            "--inventory",
            inventory_dir,
            "--policies",
            tmp_path / "p.yaml",
            "--out",
            tmp_path / "o",
            "--as-of",
            AS_OF,
        ]
    )
    assert result.exit_code in (0, 3), result.stderr
    (tmp_path / "c.yaml").write_text(CFN_TEXT)
    (tmp_path / "t.json").write_text(json.dumps(TF_DOC))
    for template in ("c.yaml", "t.json"):
        result = h.invoke(
            ["plan-check", "--policies", FIXTURES / "policies" / "backup.yaml", tmp_path / template]
        )
        assert result.exit_code in (0, 3), result.stderr


# --- policy files ----------------------------------------------------------------------------------


@SETTINGS
@given(doc=_mutated(yaml.safe_load(POLICY_TEXT)))
def test_policy_structure_mutations(h, inventory_dir, work, doc):
    with work() as work:
        policy = work / "p.yaml"
        policy.write_text(yaml.safe_dump(doc, allow_unicode=True))
        out = work / "out"
        result = _outcome(
            h,
            [
                "check",
                "--inventory",
                inventory_dir,
                "--policies",
                policy,
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            out,
        )
        if result.exit_code == 2:
            assert str(policy) in result.stderr  # names the file


@SETTINGS
@given(data=_damaged(POLICY_TEXT.encode()))
def test_policy_text_damage(h, inventory_dir, work, data):
    with work() as work:
        policy = work / "p.yaml"
        policy.write_bytes(data)
        out = work / "out"
        _outcome(
            h,
            [
                "check",
                "--inventory",
                inventory_dir,
                "--policies",
                policy,
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            out,
        )
        result = h.invoke(
            ["validate", policy, "--as-of", AS_OF]
        )  # lint lists every problem, still never a traceback
        assert (
            result.exit_code in (0, 2)
            and "Traceback" not in result.stderr
            and "internal error" not in result.stderr
        )


# --- price tables -----------------------------------------------------------------------------------

PRICES = {
    "version": 1,
    "currency": "USD",
    "prices": {"us-east-1": {"EBS:SnapshotUsage": 0.05, "WarmStorage-ByteHrs-EFS": 0.05}},
}


@SETTINGS
@given(doc=_mutated(PRICES) | _damaged(yaml.safe_dump(PRICES).encode()))
def test_price_table_mutations(h, inventory_dir, work, doc):
    with work() as work:
        prices = work / "prices.yaml"
        prices.write_bytes(
            doc if isinstance(doc, bytes) else yaml.safe_dump(doc, allow_unicode=True).encode()
        )
        out = work / "out"
        _outcome(
            h,
            [
                "meter",
                "--inventory",
                inventory_dir,
                "--prices",
                prices,
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            out,
        )


# --- Cost and Usage Reports -----------------------------------------------------------------------

CUR_FRAME = pd.DataFrame(
    {
        "lineItem/UsageAccountId": [ACCT, ACCT],
        "lineItem/LineItemType": ["Usage", "Usage"],
        "lineItem/UsageStartDate": ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"],
        "lineItem/ProductCode": ["AmazonEC2", "AWSBackup"],
        "lineItem/UsageType": ["EBS:SnapshotUsage", "USE1-WarmStorage-ByteHrs-EFS"],
        "lineItem/UsageAmount": ["1.5", "2"],
        "lineItem/UnblendedCost": ["0.075", "0.1"],
        "product/region": ["us-east-1", ""],
    }
)
CUR_CSV = CUR_FRAME.to_csv(index=False).encode()
CUR_GZ = gzip.compress(CUR_CSV, mtime=0)
_buffer = io.BytesIO()
pq.write_table(
    pa.Table.from_pandas(
        CUR_FRAME.rename(columns=lambda c: c.replace("/", "_").lower()), preserve_index=False
    ),
    _buffer,
)
CUR_PARQUET = _buffer.getvalue()

CSV_CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "NaN", "1e309", "-0", "inf", "2026-13-45", '"', "0x10"]),
)


@st.composite
def _cur_csv(draw):
    """A CSV with CUR columns (some maybe missing or duplicated) and arbitrary cells."""
    columns = draw(
        st.lists(st.sampled_from(list(CUR_FRAME.columns) + ["x", ""]), min_size=1, max_size=9)
    )
    rows = draw(
        st.lists(st.lists(CSV_CELLS, min_size=len(columns), max_size=len(columns)), max_size=4)
    )
    return pd.DataFrame(rows, columns=columns).to_csv(index=False).encode()


@SETTINGS
@given(
    data=_cur_csv()
    | _damaged(CUR_CSV)
    | _damaged(CUR_GZ)
    | _damaged(CUR_PARQUET)
    | st.binary(max_size=64)
)
def test_cur_files(h, inventory_dir, work, data):
    with work() as work:
        cur = work / "cur-00001.csv"
        cur.write_bytes(data)
        out = work / "out"
        _outcome(
            h,
            ["meter", "--inventory", inventory_dir, "--cur", cur, "--out", out, "--as-of", AS_OF],
            out,
        )


# --- inventory folders ----------------------------------------------------------------------------


@st.composite
def _inventory_damage(draw, files):
    victim = draw(st.sampled_from(files))
    kind = draw(
        st.sampled_from(["delete", "truncate", "overwrite", "manifest", "swap", "empty-dir"])
    )
    detail = draw(
        st.tuples(
            st.integers(0, 10**6), st.binary(min_size=1, max_size=8), VALUES, st.sampled_from(files)
        )
    )
    return victim, kind, detail


def _inventory_files(inventory_dir):
    return sorted(
        p.relative_to(inventory_dir).as_posix() for p in inventory_dir.rglob("*") if p.is_file()
    )


@pytest.fixture(scope="module")
def inventory_files(inventory_dir):
    return _inventory_files(inventory_dir)


@SETTINGS
@given(damage=st.data())
def test_inventory_folders(h, inventory_dir, inventory_files, work, damage):
    with work() as work:
        victim, kind, (offset, junk, value, other) = damage.draw(_inventory_damage(inventory_files))
        inv = work / "inv"
        shutil.copytree(inventory_dir, inv)
        path = inv / victim
        if kind == "delete":
            path.unlink()
        elif kind == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: offset % max(1, len(data))])
        elif kind == "overwrite":
            data = path.read_bytes()
            at = offset % max(1, len(data))
            path.write_bytes(data[:at] + junk + data[at + len(junk) :])
        elif kind == "manifest":
            manifest = json.loads((inv / "manifest.json").read_text())
            key = sorted(manifest)[offset % len(manifest)]
            manifest[key] = value
            (inv / "manifest.json").write_text(json.dumps(manifest))
        elif kind == "swap" and other != victim:
            shutil.copyfile(inv / other, path)
        elif kind == "empty-dir":
            shutil.rmtree(path.parent)
            path.parent.mkdir()
        out = work / "out"
        _outcome(
            h,
            [
                "check",
                "--inventory",
                inv,
                "--policies",
                ROOT / "policies",
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            out,
        )


# --- templates ------------------------------------------------------------------------------------


@SETTINGS
@given(data=_damaged(CFN_TEXT.encode()))
def test_cloudformation_damage(h, work, data):
    with work() as work:
        template = work / "stack.yaml"
        template.write_bytes(data)
        out = work / "out" / "report.sarif"
        _outcome(
            h,
            [
                "plan-check",
                "--policies",
                FIXTURES / "policies" / "backup.yaml",
                template,
                "--format",
                "sarif",
                "--out",
                out,
            ],
            out.parent,
        )


@SETTINGS
@given(doc=_mutated(TF_DOC))
def test_terraform_plan_mutations(h, work, doc):
    with work() as work:
        plan = work / "plan.json"
        plan.write_text(json.dumps(doc))
        out = work / "out" / "report.sarif"
        _outcome(
            h,
            [
                "plan-check",
                "--policies",
                FIXTURES / "policies" / "backup.yaml",
                plan,
                "--format",
                "sarif",
                "--out",
                out,
            ],
            out.parent,
        )


# --- bombs, nesting, huge files -------------------------------------------------------------------

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)
DEEP = "[" * 50_000 + "]" * 50_000


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n  ").rstrip() + "\n"


@pytest.mark.parametrize("what", ["bomb", "deep"])
def test_yaml_bombs_and_deep_nesting_are_refused(h, inventory_dir, tmp_path, what):
    payload = _indent(LAUGHS) if what == "bomb" else f"  x: {DEEP}\n"
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nscope:\n  resource_types: [ebs-volume]\nx-notes:\n" + payload)
    prices = tmp_path / "prices.yaml"
    prices.write_text(
        "version: 1\nnotes:\n" + payload + "prices:\n  us-east-1: {EBS:SnapshotUsage: 0.05}\n"
    )
    template = tmp_path / "stack.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nMetadata:\n"
        + payload
        + "Resources:\n  V:\n    Type: AWS::EC2::Volume\n    Properties: {Size: 1, AvailabilityZone: a}\n"
    )
    out = tmp_path / "out"
    runs = {
        "policy": [
            "check",
            "--inventory",
            inventory_dir,
            "--policies",
            policy,
            "--out",
            out,
            "--as-of",
            AS_OF,
        ],
        "prices": [
            "meter",
            "--inventory",
            inventory_dir,
            "--prices",
            prices,
            "--out",
            out,
            "--as-of",
            AS_OF,
        ],
        # a CloudFormation template nested 50,000 deep used to kill the process (libyaml C recursion)
        "template": ["plan-check", "--policies", FIXTURES / "policies" / "backup.yaml", template],
    }
    for name, args in runs.items():
        line = h.one_line_error(h.invoke(args))
        expected = ("aliases", "bomb") if what == "bomb" else ("nest", "deep")
        assert any(word in line for word in expected), (name, line)
        assert not out.exists(), name


def test_deep_json_is_refused(h, tmp_path):
    for name, text in (
        ("plan.json", '{"format_version": "1.2", "planned_values": ' + DEEP + "}"),
        ("stack.json", '{"Resources": ' + DEEP + "}"),
    ):
        path = tmp_path / name
        path.write_text(text)
        line = h.one_line_error(
            h.invoke(["plan-check", "--policies", FIXTURES / "policies" / "backup.yaml", path])
        )
        assert "deep" in line, line


def _sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space (a hole)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_huge_files_are_refused_before_reading(h, inventory_dir, tmp_path):
    from auditor import limits

    out = tmp_path / "out"
    cases = [
        (
            [
                "check",
                "--inventory",
                inventory_dir,
                "--policies",
                _sparse(tmp_path / "p.yaml", limits.MAX_POLICY_BYTES + 1),
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            "limited to",
        ),
        (
            [
                "meter",
                "--inventory",
                inventory_dir,
                "--prices",
                _sparse(tmp_path / "prices.yaml", limits.MAX_PRICE_TABLE_BYTES + 1),
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            "limit",
        ),
        (
            [
                "meter",
                "--inventory",
                inventory_dir,
                "--cur",
                _sparse(tmp_path / "cur.csv.gz", limits.MAX_CUR_FILE_BYTES + 1),
                "--out",
                out,
                "--as-of",
                AS_OF,
            ],
            "limit",
        ),
        (
            [
                "plan-check",
                "--policies",
                FIXTURES / "policies" / "backup.yaml",
                _sparse(tmp_path / "plan.json", limits.MAX_PLAN_BYTES + 1),
            ],
            "limit",
        ),
    ]
    for args, word in cases:
        line = h.one_line_error(h.invoke(args))
        assert word in line and "bytes" in line, line
        assert not out.exists()


def test_cur_row_limit(h, inventory_dir, tmp_path, monkeypatch):
    import auditor.cur

    monkeypatch.setattr(auditor.cur, "MAX_CUR_ROWS", 1)  # the test report has 2 line items
    out = tmp_path / "out"
    for name, data in (("cur.csv", CUR_CSV), ("cur.csv.gz", CUR_GZ), ("cur.parquet", CUR_PARQUET)):
        (tmp_path / name).write_bytes(data)
        line = h.one_line_error(
            h.invoke(
                [
                    "meter",
                    "--inventory",
                    inventory_dir,
                    "--cur",
                    tmp_path / name,
                    "--out",
                    out,
                    "--as-of",
                    AS_OF,
                ]
            )
        )
        assert "row limit" in line or "-row limit" in line, line
        assert not out.exists()
