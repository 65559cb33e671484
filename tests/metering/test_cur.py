"""Cost and Usage Reports: legacy CSV (plain/gzip), CUR 2.0 Parquet and CSV; reconciliation."""

from __future__ import annotations

import gzip

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor.cur import CUR_COLUMNS, read_cur, strip_region_prefix
from auditor.errors import InputError
from auditor.metering import meter

ACCT = "111122223333"

# (account, usage type as billed, product code, GB-months, USD, line item type, region column)
LINES = [
    (ACCT, "EBS:SnapshotUsage", "AmazonEC2", 100.0, 5.00, "Usage", "us-east-1"),
    (ACCT, "USW2-EBS:SnapshotUsage", "AmazonEC2", 10.0, 0.50, "Usage", "us-west-2"),
    (ACCT, "EUW1-WarmStorage-ByteHrs-EFS", "AWSBackup", 30.0, 1.65, "Usage", "eu-west-1"),
    (ACCT, "USE1-TimedBackupStorage-ByteHrs", "AmazonDynamoDB", 20.0, 2.00, "Usage", "us-east-1"),
    (
        ACCT,
        "APS2-RDS:ChargedBackupUsage",
        "AmazonRDS",
        4.0,
        0.38,
        "Usage",
        "",
    ),  # empty region: from prefix
    (
        ACCT,
        "EBS:SnapshotUsage",
        "AmazonEC2",
        0.0,
        -1.00,
        "Credit",
        "us-east-1",
    ),  # not usage: ignored
    (
        ACCT,
        "USE1-BoxUsage:t3.micro",
        "AmazonEC2",
        700.0,
        7.28,
        "Usage",
        "us-east-1",
    ),  # not backup storage
    (
        "999999999999",
        "EBS:SnapshotUsage",
        "AmazonEC2",
        50.0,
        2.50,
        "Usage",
        "us-east-1",
    ),  # not inventoried
]


def _legacy_frame():
    return pd.DataFrame(
        {
            "identity/LineItemId": [f"id{i}" for i in range(len(LINES))],
            "lineItem/UsageAccountId": [line[0] for line in LINES],
            "lineItem/LineItemType": [line[5] for line in LINES],
            "lineItem/UsageStartDate": ["2026-11-01T00:00:00Z"] * len(LINES),
            "lineItem/ProductCode": [line[2] for line in LINES],
            "lineItem/UsageType": [line[1] for line in LINES],
            "lineItem/UsageAmount": [str(line[3]) for line in LINES],
            "lineItem/UnblendedCost": [str(line[4]) for line in LINES],
            "product/region": [line[6] for line in LINES],
        }
    )


def _cur2_table():
    return pa.table(
        {
            "bill_billing_period_start_date": pa.array(
                [pd.Timestamp("2026-11-01", tz="UTC")] * len(LINES)
            ),
            "line_item_usage_account_id": [line[0] for line in LINES],
            "line_item_line_item_type": [line[5] for line in LINES],
            "line_item_usage_start_date": pa.array(
                [pd.Timestamp("2026-11-02", tz="UTC")] * len(LINES)
            ),
            "line_item_product_code": [line[2] for line in LINES],
            "line_item_usage_type": [line[1] for line in LINES],
            "line_item_usage_amount": [line[3] for line in LINES],
            "line_item_unblended_cost": [line[4] for line in LINES],
            "product_region_code": [line[6] for line in LINES],
        }
    )


def _write_cur(kind, tmp_path):
    if kind == "legacy-csv":
        path = tmp_path / "cur.csv"
        _legacy_frame().to_csv(path, index=False)
    elif kind == "legacy-csv-gz":
        path = tmp_path / "cur-00001.csv.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            _legacy_frame().to_csv(handle, index=False)
    elif kind == "legacy-csv-zip":
        import zipfile

        path = tmp_path / "cur-00001.csv.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("cur-00001.csv", _legacy_frame().to_csv(index=False))
    elif kind == "cur2-parquet":
        path = tmp_path / "data.snappy.parquet"
        pq.write_table(_cur2_table(), path)
    else:
        path = tmp_path / "cur2.csv"
        _cur2_table().to_pandas().to_csv(path, index=False)
    return path


@pytest.fixture(
    params=["legacy-csv", "legacy-csv-gz", "legacy-csv-zip", "cur2-parquet", "cur2-csv"]
)
def cur_file(request, tmp_path):
    return _write_cur(request.param, tmp_path)


@pytest.fixture(params=["legacy-csv-gz", "cur2-parquet"])
def cur_file_2(request, tmp_path):
    return _write_cur(request.param, tmp_path)


def test_read_cur_normalises_every_format(cur_file):
    cur = read_cur(cur_file)
    assert tuple(cur.columns) == CUR_COLUMNS
    assert len(cur) == len(LINES)
    assert cur["usage_type"].tolist()[:5] == [
        "EBS:SnapshotUsage",
        "EBS:SnapshotUsage",
        "WarmStorage-ByteHrs-EFS",
        "TimedBackupStorage-ByteHrs",
        "RDS:ChargedBackupUsage",
    ]
    assert cur["region"].tolist()[:5] == [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "us-east-1",
        "ap-southeast-2",
    ]
    assert cur["usage_amount"].sum() == pytest.approx(sum(line[3] for line in LINES))
    assert cur["unblended_cost"].sum() == pytest.approx(sum(line[4] for line in LINES))
    assert cur["usage_start"].notna().all()


def test_region_from_prefix_when_the_report_has_no_region_column(tmp_path):
    path = tmp_path / "noregion.csv"
    _legacy_frame().drop(columns=["product/region"]).to_csv(path, index=False)
    cur = read_cur(path)
    assert cur["region"].tolist()[:5] == [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "us-east-1",
        "ap-southeast-2",
    ]


def test_strip_region_prefix():
    stripped, region = strip_region_prefix(
        pd.Series(
            [
                "EUC1-EBS:SnapshotUsage",
                "EU-WarmStorage-ByteHrs-EFS",
                "EBS:SnapshotUsage",
                "APS3-Aurora:BackupUsage",
                "ZZZ9-Foo",
            ]
        )
    )
    assert stripped.tolist() == [
        "EBS:SnapshotUsage",
        "WarmStorage-ByteHrs-EFS",
        "EBS:SnapshotUsage",
        "Aurora:BackupUsage",
        "Foo",
    ]
    assert region.tolist()[:4] == ["eu-central-1", "eu-west-1", "us-east-1", "ap-south-1"]
    assert pd.isna(region.iloc[4])


def test_folder_of_parts_is_read_as_one(tmp_path):
    (tmp_path / "parts").mkdir()
    pq.write_table(_cur2_table(), tmp_path / "parts" / "a.parquet")
    pq.write_table(_cur2_table(), tmp_path / "parts" / "b.parquet")
    (tmp_path / "parts" / "manifest.json").write_text("{}")
    assert len(read_cur(tmp_path / "parts")) == 2 * len(LINES)


def test_reconciliation_billed_vs_estimated(mk, prices, cur_file_2):
    cur_file = cur_file_2
    recs = [
        mk.backup("ebs-snapshot", 80, region="us-east-1", account=ACCT),
        mk.backup("efs-backup", 30, region="eu-west-1", account=ACCT),
        mk.backup("dynamodb-backup", 20, region="us-east-1", account=ACCT),
    ]
    result = meter(mk.inventory(recs), prices, mk.AS_OF, cur=read_cur(cur_file))
    rec = result.reconciliation.set_index(["region", "billing_owner", "service"])
    ebs = rec.loc[("us-east-1", "AmazonEC2", "EBS")]
    assert ebs.billed_usd == 5.00 and ebs.estimated_usd == 4.00
    assert ebs.difference_usd == 1.00 and ebs.difference_pct == 25.0
    assert ebs.billed_gb_months == 100 and ebs.estimated_gb_months == 80
    efs = rec.loc[("eu-west-1", "AWSBackup", "EFS")]
    assert efs.metered_by == "AWS Backup" and efs.billed_usd == 1.65 and efs.difference_usd == 0.0
    ddb = rec.loc[("us-east-1", "AmazonDynamoDB", "DynamoDB")]
    assert ddb.metered_by == "native" and ddb.difference_usd == 0.0
    west = rec.loc[("us-west-2", "AmazonEC2", "EBS")]  # billed, nothing estimated
    assert west.estimated_usd == 0 and pd.isna(west.difference_pct)
    rds = rec.loc[("ap-southeast-2", "AmazonRDS", "RDS")]
    assert rds.billed_usd == 0.38
    assert result.totals["billed_usd"] == pytest.approx(5.00 + 0.50 + 1.65 + 2.00 + 0.38)
    assert result.totals["billed_backup_metered_usd"] == pytest.approx(1.65)
    assert result.totals["billed_native_usd"] == pytest.approx(5.00 + 0.50 + 2.00 + 0.38)
    assert any("999999999999" in w for w in result.warnings)


def test_cur_lines_outside_the_month_are_ignored(mk, prices, tmp_path):
    df = _legacy_frame()
    df["lineItem/UsageStartDate"] = "2026-10-05T00:00:00Z"
    path = tmp_path / "old.csv"
    df.to_csv(path, index=False)
    result = meter(
        mk.inventory([mk.backup("ebs-snapshot", 1, account=ACCT)]),
        prices,
        mk.AS_OF,
        cur=read_cur(path),
    )
    assert result.reconciliation["billed_usd"].sum() == 0
    assert any("outside 2026-11" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("writer", "message"),
    [
        (
            lambda p: (
                _legacy_frame().drop(columns=["lineItem/UnblendedCost"]).to_csv(p, index=False)
            ),
            "lacks column(s) lineItem/UnblendedCost",
        ),
        (
            lambda p: (
                _cur2_table().drop_columns(["line_item_usage_type"]).to_pandas().to_parquet(p)
            ),
            "lacks column(s) line_item_usage_type",
        ),
        (lambda p: pd.DataFrame({"a": [1], "b": [2]}).to_csv(p, index=False), "unknown format"),
        (lambda p: p.write_bytes(b"\x00\x01\x02\x03binary junk\xff\xfe"), "unknown format"),
        (lambda p: p.write_bytes(b"PAR1" + b"\x00" * 50), "corrupt Parquet file"),
        (
            lambda p: p.write_bytes(b"\x1f\x8b\x08\x00broken gzip"),
            "cannot read as a Cost and Usage Report CSV",
        ),
        (
            lambda p: (
                _legacy_frame().assign(**{"lineItem/UsageAmount": "lots"}).to_csv(p, index=False)
            ),
            "lineItem/UsageAmount: 'lots' is not a number (data row 1)",
        ),
    ],
)
def test_bad_cur_is_one_line_naming_the_file(tmp_path, writer, message):
    path = tmp_path / "bad.file"
    writer(path)
    with pytest.raises(InputError) as err:
        read_cur(path)
    text = str(err.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text
    assert err.value.exit_code == 2


def test_missing_cur_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_cur(tmp_path / "nope.csv")
