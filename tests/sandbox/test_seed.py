"""seed_estate: the estate served through boto3 agrees with its ground truth and AWS's conventions."""

from __future__ import annotations

import pandas as pd

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")


def _vault_points(backup):
    out = {}
    for vault in backup.list_backup_vaults()["BackupVaultList"]:
        pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=vault["BackupVaultName"]
        )
        for p in pages:
            for rp in p["RecoveryPoints"]:
                out[rp["RecoveryPointArn"]] = rp
    return out


def test_estate_has_every_kind_of_thing(estate):
    r, b = estate.resources, estate.backups
    assert set(r.region) == set(REGIONS)
    assert set(r.resource_type) == {
        "ebs-volume",
        "rds-instance",
        "rds-cluster",
        "dynamodb-table",
        "efs-filesystem",
        "storagegateway-volume",
        "fsx-filesystem",
        "docdb-cluster",
        "neptune-cluster",
        "ec2-instance",
        "s3-bucket",
    }
    assert 60 <= len(r) <= 150
    backup_values = {t.get("backup") for t in r.tags}
    assert {"gold", "silver", "none", None} <= backup_values
    assert {t.get("env") for t in r.tags} >= {"prod", "dev"}
    assert any(t == {} for t in r.tags) and any("team" in t for t in r.tags)
    assert set(r[r.resource_type == "rds-cluster"].engine) <= {"aurora-mysql", "aurora-postgresql"}
    assert r.size_bytes.min() < 50 * 1024**3 and r.size_bytes.max() >= 1024**4  # GiB to TiB
    assert 1000 <= len(b) <= 5000
    assert set(b.source) == {"aws-backup", "native"}
    assert {"aws-backup", "automated", "user", "storage-gateway"} <= set(b.created_by)
    assert {"COMPLETED", "EXPIRED", "PARTIAL"} <= set(b.status)
    assert {"warm", "cold", "archive"} <= set(b.storage_class)
    assert b.orphan.any() and (~b.encrypted.astype(bool)).any() and b.copy_source_arn.notna().any()
    assert {"FAILED", "EXPIRED"} <= set(estate.jobs.state)
    ages = (estate.as_of - b.created_at).dt.days
    assert ages.max() >= 85
    assert len(estate.deleted_resources) > 0
    assert set(estate.vaults.locked) == {True, False} and set(
        estate.vaults.customer_managed_key
    ) == {True, False}


def test_vault_listings_equal_the_aws_backup_ground_truth(estate, api):
    for region in REGIONS:
        listed = _vault_points(api("backup", region))
        truth = estate.backups[
            (estate.backups.region == region) & (estate.backups.source == "aws-backup")
        ]
        assert set(listed) == set(truth.recovery_point_arn)
        sizes = {a: rp["BackupSizeInBytes"] for a, rp in listed.items()}
        assert sizes == dict(zip(truth.recovery_point_arn, truth.size_bytes))


def test_native_listings_equal_the_native_ground_truth(estate, api):
    for region in REGIONS:
        b = estate.backups[estate.backups.region == region]
        ec2 = api("ec2", region)
        snaps = {
            s["SnapshotId"]: s
            for p in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"])
            for s in p["Snapshots"]
        }
        ebs = b[b.backup_type.isin(["ebs-snapshot", "storagegateway-snapshot"])]
        images = [
            i
            for p in ec2.get_paginator("describe_images").paginate(Owners=["self"])
            for i in p["Images"]
        ]
        assert {f"arn:aws:ec2:{region}::image/{i['ImageId']}" for i in images} == set(
            b[b.backup_type == "ec2-image"].recovery_point_arn
        )
        # an AMI's EBS snapshots are the AMI's storage, counted with it
        behind = {m["Ebs"]["SnapshotId"] for i in images for m in i["BlockDeviceMappings"]}
        assert behind <= set(snaps)
        assert {f"arn:aws:ec2:{region}::snapshot/{i}" for i in set(snaps) - behind} == set(
            ebs.recovery_point_arn
        )
        rds = api("rds", region)
        db = [
            s
            for t in ("manual", "automated", "awsbackup")
            for p in rds.get_paginator("describe_db_snapshots").paginate(SnapshotType=t)
            for s in p["DBSnapshots"]
        ]
        assert {s["DBSnapshotArn"] for s in db} == set(
            b[b.backup_type == "rds-snapshot"].recovery_point_arn
        )
        cl = [
            s
            for p in rds.get_paginator("describe_db_cluster_snapshots").paginate()
            for s in p["DBClusterSnapshots"]
        ]
        # every engine's cluster snapshots but AWS Backup's (those come from the vaults)
        cluster_kinds = [
            "rds-cluster-snapshot",
            "docdb-cluster-snapshot",
            "neptune-cluster-snapshot",
        ]
        assert {s["DBClusterSnapshotArn"] for s in cl} == set(
            b[b.backup_type.isin(cluster_kinds) & (b.source == "native")].recovery_point_arn
        )
        ddb = api("dynamodb", region)
        arns = set()
        # ALL lists USER and SYSTEM backups; AWS Backup's need AWS_BACKUP (as on AWS).
        for backup_type in ("ALL", "AWS_BACKUP"):
            start = None
            while True:
                resp = ddb.list_backups(
                    BackupType=backup_type,
                    **({"ExclusiveStartBackupArn": start} if start else {}),
                )
                arns |= {x["BackupArn"] for x in resp["BackupSummaries"]}
                start = resp.get("LastEvaluatedBackupArn")
                if not start:
                    break
        native_ddb = b[
            (b.backup_type == "dynamodb-backup")
            & ~b.recovery_point_arn.str.contains(":recovery-point:")
        ]
        assert arns == set(native_ddb.recovery_point_arn)


def test_resources_are_listed_and_deleted_ones_are_not(estate, api):
    for region in REGIONS:
        r = estate.resources[estate.resources.region == region]
        gone = estate.deleted_resources[estate.deleted_resources.region == region]
        vols = {
            v["VolumeId"]
            for p in api("ec2", region).get_paginator("describe_volumes").paginate()
            for v in p["Volumes"]
        }
        assert vols == set(r[r.resource_type == "ebs-volume"].resource_id)
        dbs = {
            d["DBInstanceArn"] for d in api("rds", region).describe_db_instances()["DBInstances"]
        }
        assert dbs == set(r[r.resource_type == "rds-instance"].resource_arn)
        clusters = {
            c["DBClusterArn"]: c for c in api("rds", region).describe_db_clusters()["DBClusters"]
        }
        # RDS's DescribeDBClusters also lists DocumentDB and Neptune clusters (RDS API reference)
        cluster_types = ["rds-cluster", "docdb-cluster", "neptune-cluster"]
        assert set(clusters) == set(r[r.resource_type.isin(cluster_types)].resource_arn)
        aurora = {a for a, c in clusters.items() if c["Engine"].startswith("aurora")}
        assert aurora == set(r[r.resource_type == "rds-cluster"].resource_arn)
        assert {c["Engine"] for c in clusters.values()} <= {
            "aurora-mysql",
            "aurora-postgresql",
            "docdb",
            "neptune",
        }
        tables = set(api("dynamodb", region).list_tables()["TableNames"])
        assert tables == set(r[r.resource_type == "dynamodb-table"].resource_id)
        efs = {
            f["FileSystemId"]: f for f in api("efs", region).describe_file_systems()["FileSystems"]
        }
        assert set(efs) == set(r[r.resource_type == "efs-filesystem"].resource_id)
        efs_truth = r[r.resource_type == "efs-filesystem"].set_index("resource_id").size_bytes
        assert {k: v["SizeInBytes"]["Value"] for k, v in efs.items()} == efs_truth.to_dict()
        sgw = {v["VolumeARN"] for v in api("storagegateway", region).list_volumes()["VolumeInfos"]}
        assert sgw == set(r[r.resource_type == "storagegateway-volume"].resource_arn)
        assert not set(gone.resource_arn) & (dbs | set(clusters) | sgw)


def test_aws_backup_made_natives_are_marked_like_aws(estate, api):
    b = estate.backups
    ab = b[(b.source == "aws-backup") & (b.region == "us-east-1")]
    ec2 = api("ec2")
    ebs_ids = [
        a.rsplit("/", 1)[1] for a in ab[ab.backup_type == "ebs-snapshot"].recovery_point_arn[:50]
    ]
    for snap in ec2.describe_snapshots(SnapshotIds=ebs_ids)["Snapshots"]:
        assert snap["Description"] == "This snapshot is created by the AWS Backup service."
        assert {t["Key"] for t in snap["Tags"]} == {"aws:backup:source-resource"}
        assert snap["FullSnapshotSizeInBytes"] > 0
    rds = api("rds").describe_db_snapshots(SnapshotType="awsbackup", MaxRecords=20)["DBSnapshots"]
    assert rds and all(s["DBSnapshotIdentifier"].startswith("awsbackup:job-") for s in rds)
    # us-east-1: DynamoDB without advanced features -> AWS_BACKUP backups; eu-west-1: managed.
    own = ab[(ab.resource_type == "dynamodb-table") & ab.copy_source_arn.isna()]
    assert own.recovery_point_arn.str.contains(
        ":table/"
    ).all()  # copies from eu-west-1 stay managed
    eu = b[
        (b.source == "aws-backup")
        & (b.region == "eu-west-1")
        & (b.resource_type == "dynamodb-table")
    ]
    assert eu.recovery_point_arn.str.contains(":recovery-point:").all()
    assert (
        api("backup", "eu-west-1").describe_region_settings()["ResourceTypeManagementPreference"][
            "DynamoDB"
        ]
        is True
    )
    efs = b[(b.source == "aws-backup") & (b.resource_type == "efs-filesystem")]
    assert efs.recovery_point_arn.str.match(
        r"arn:aws:backup:[a-z0-9-]+:\d{12}:recovery-point:[0-9A-F-]{36}$"
    ).all()
    assert b[b.resource_type == "rds-cluster"].source.eq("native").all()


def test_storage_gateway_snapshots_link_by_volume_id(estate, api):
    b = estate.backups
    # Copies from another region point at that region's gateway volume: left out here.
    sg = b[
        (b.backup_type == "storagegateway-snapshot")
        & (b.region == "us-east-1")
        & b.copy_source_arn.isna()
    ]
    vols = {
        v["VolumeId"].lower(): v["VolumeARN"]
        for v in api("storagegateway").list_volumes()["VolumeInfos"]
    }
    ids = [a.rsplit("/", 1)[1] for a in sg.recovery_point_arn]
    snaps = {
        s["SnapshotId"]: s for s in api("ec2").describe_snapshots(SnapshotIds=ids)["Snapshots"]
    }
    for arn, resource, created_by in zip(sg.recovery_point_arn, sg.resource_arn, sg.created_by):
        snap = snaps[arn.rsplit("/", 1)[1]]
        assert vols[snap["VolumeId"]] == resource
        if created_by == "storage-gateway":
            assert (
                snap["Description"]
                == f"Scheduled snapshot of {snap['VolumeId'].upper().replace('VOL-', 'vol-')}"
            )


def test_copies_carry_their_origin(estate, api):
    copies = estate.backups[estate.backups.copy_source_arn.notna()]
    assert len(copies) > 0
    src_region = {"eu-west-1": "us-east-1", "us-east-1": "eu-west-1"}
    for region in REGIONS:
        here = copies[copies.region == region]
        if here.empty:
            continue
        backup = api("backup", region)
        jobs = {
            j["DestinationRecoveryPointArn"]: j
            for p in api("backup", src_region[region])
            .get_paginator("list_copy_jobs")
            .paginate(ByState="COMPLETED")
            for j in p["CopyJobs"]
        }
        for row in here.head(10).itertuples():
            rp = backup.describe_recovery_point(
                BackupVaultName=row.vault_name, RecoveryPointArn=row.recovery_point_arn
            )
            assert rp["SourceBackupVaultArn"].startswith(f"arn:aws:backup:{src_region[region]}:")
            assert rp["ResourceArn"] == row.resource_arn
            assert jobs[row.recovery_point_arn]["SourceRecoveryPointArn"] == row.copy_source_arn


def test_selections_follow_aws_semantics(estate, api):
    from auditor.sandbox.seed import selects

    backup = api("backup")
    plans = {
        p["BackupPlanName"]: p["BackupPlanId"]
        for p in backup.list_backup_plans()["BackupPlansList"]
    }
    assert {"gold", "silver", "ebs-critical", "legacy"} <= set(plans)
    silver_id = plans["silver"]
    sel_id = backup.list_backup_selections(BackupPlanId=silver_id)["BackupSelectionsList"][0][
        "SelectionId"
    ]
    sel = backup.get_backup_selection(BackupPlanId=silver_id, SelectionId=sel_id)["BackupSelection"]
    assert sel["Resources"] == ["*"] and sel["Conditions"]["StringNotEquals"]
    b = estate.backups
    silver_rp = b[b.vault_name.eq("silver-vault") & b.copy_source_arn.isna()]
    r = pd.concat([estate.resources, estate.deleted_resources])
    tags = dict(zip(r.resource_arn, r.tags))
    for arn in set(silver_rp.resource_arn):
        t = tags[arn]
        assert t.get("backup") == "silver" and t.get("env") != "dev"
    assert selects(
        sel, "arn:aws:ec2:us-east-1:1:volume/vol-1", {"aws:ResourceTag/backup": "silver"}
    )
    assert not selects(sel, "x", {"aws:ResourceTag/backup": "silver", "aws:ResourceTag/env": "dev"})
    ebs_id = plans["ebs-critical"]
    sid = backup.list_backup_selections(BackupPlanId=ebs_id)["BackupSelectionsList"][0][
        "SelectionId"
    ]
    ebs_sel = backup.get_backup_selection(BackupPlanId=ebs_id, SelectionId=sid)["BackupSelection"]
    assert ebs_sel["NotResources"] and ebs_sel["Resources"] == ["arn:aws:ec2:*:*:volume/*"]
    excluded = ebs_sel["NotResources"][0]
    ebs_plan_points = b[
        b.vault_name.eq("gold-vault") & b.resource_arn.eq(excluded) & (b.created_at.dt.hour == 17)
    ]
    assert ebs_plan_points.empty  # NotResources wins over the Resources wildcard


def test_tagging_api_serves_dynamodb_tables(estate, api):
    tagging = api("resourcegroupstaggingapi")
    found = {
        m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]}
        for p in tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["dynamodb:table"]
        )
        for m in p["ResourceTagMappingList"]
    }
    r = estate.resources[
        (estate.resources.region == "us-east-1")
        & (estate.resources.resource_type == "dynamodb-table")
    ]
    truth = {a: t for a, t in zip(r.resource_arn, r.tags) if t}
    assert found == truth
