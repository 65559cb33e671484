"""EC2 instances with their root volumes, their AMIs, and Data Lifecycle Manager policies.

- Each instance has one EBS root volume, seeded as an `ebs-volume` carrying the instance's tags.
- AWS Backup's recovery point of an instance is an AMI with one EBS snapshot per volume ("Amazon
  EC2 backups", AWS Backup Developer Guide; "Create an Amazon EBS-backed AMI", EC2 User Guide:
  CreateImage names each snapshot "Created by CreateImage(<instance>) for <ami>").
- Instances tagged `snapshot: daily` are targeted by two DLM policies of their region: daily AMIs
  of the instance, and daily snapshots of its volumes, seven of each kept. DLM tags what it makes
  `aws:dlm:lifecycle-policy-id` ("Automate backups with Amazon Data Lifecycle Manager", Amazon
  EBS User Guide). Some instances also have a hand-made AMI.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, Artifact, TypeSeeder, count, naive, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

DLM_TAG = ("snapshot", "daily")
DLM_KEEP = 7


def add_image(
    reg: _Region,
    region: str,
    instance: dict[str, Any],
    created: datetime,
    *,
    size: int,
    encrypted: bool,
    description: str,
    tags: dict[str, str],
    source_instance: bool = True,
) -> str:
    """One AMI of `instance` with one EBS snapshot of its root volume; the AMI's ARN."""
    from moto.ec2.models.amis import Ami

    backend = reg.backends(region)["ec2"]
    ami_id = f"ami-{reg.hex(17)}"
    volume_id = instance["root_volume_id"]
    sid = native.add_ebs_snapshot(
        reg.acct,
        region,
        volume_id=volume_id,
        volume_size_gib=instance["root_gib"],
        created=naive(created),
        description=f"Created by CreateImage({instance['resource_id']}) for {ami_id}",
        encrypted=encrypted,
        full_size_bytes=size,
        snapshot_id=f"snap-{reg.hex(17)}",
        backend=backend,
    )
    ami = Ami(
        backend,
        ami_id,
        name=f"{instance['name']}-{created:%Y%m%d%H%M}",
        description=description,
        creation_date=naive(created),
        tags=tags or None,
        region_name=f"{region}a",
    )
    # moto's Ami makes a throw-away snapshot of its own; the seeded one replaces it.
    backend.snapshots.pop(ami.ebs_snapshot.id, None)
    ami._sandbox_mappings = [  # type: ignore[attr-defined]
        {
            "DeviceName": "/dev/xvda",
            "Ebs": {
                "SnapshotId": sid,
                "VolumeSize": instance["root_gib"],
                "DeleteOnTermination": True,
                "VolumeType": "gp3",
                "Encrypted": encrypted,
            },
        }
    ]
    ami.root_device_type = "ebs"
    if source_instance:
        ami.instance_id = instance["resource_id"]
    backend.amis[ami_id] = ami
    return f"arn:aws:ec2:{region}::image/{ami_id}"


class Ec2Seeder(TypeSeeder):
    """Instances (and their root volumes); AWS Backup's recovery points of them are AMIs."""

    type_id = "ec2-instance"
    base_count = 4
    deleted_divisor = 2

    def seed(self, reg: _Region, scale: float) -> None:
        """The region's instances, then the DLM policies that target some of them."""
        self.create(reg, count(self.base_count, scale))
        self._policies(reg)

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` instances (a deleted one is recorded only: its AMIs outlive it)."""
        backend = native.ec2_backend(reg.acct, reg.region)
        for i in range(n):
            name = f"{'old-' if deleted else ''}app-{reg.region}-{i:04d}"
            tags = reg.tags("ec2", name)
            if not deleted and (i == 0 or reg.rng.random() < 0.3):
                tags[DLM_TAG[0]] = DLM_TAG[1]
            created = reg.created_at()
            size = reg.rng.choice((8, 20, 50, 100))
            iid, vid = f"i-{reg.hex(17)}", f"vol-{reg.hex(17)}"
            row = reg.add_resource(
                resource_type="ec2-instance",
                resource_arn=f"arn:aws:ec2:{reg.region}:{reg.acct}:instance/{iid}",
                resource_id=iid,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=None,  # an instance's storage is its volumes, listed as volumes
                encrypted=True,
                deleted=deleted,
                root_volume_id=vid,
                root_gib=size,
            )
            row["used_bytes"] = int(size * GIB * reg.rng.uniform(0.2, 0.7))
            if deleted:
                continue
            self._launch(reg, backend, row, vid, size)

    def _launch(self, reg: _Region, backend: Any, row: dict[str, Any], vid: str, size: int) -> None:
        """Run the instance in moto under the seeded ids, its root volume a seeded EBS volume."""
        reservation = backend.run_instances(
            "ami-12345678",
            1,
            None,
            [],
            instance_type="t3.medium",
            placement=f"{reg.region}a",
            is_instance_type_default=False,
            tags={"instance": dict(row["tags"])} if row["tags"] else {},
        )
        inst = reservation.instances[0]
        # moto keys tags by resource id: they move with the seeded id
        backend.tags[row["resource_id"]] = backend.tags.pop(inst.id, {})
        inst.id = row["resource_id"]
        inst.launch_time = naive(row["created_at"])
        for device in inst.block_device_mapping.values():
            vol = backend.volumes.pop(device.volume_id)
            vol.id = device.volume_id = vid
            vol.size = size
            vol.encrypted = True
            vol.create_time = naive(row["created_at"])
            backend.volumes[vid] = vol
            if row["tags"]:
                backend.tags[vid].update(row["tags"])
            volume = reg.add_resource(
                resource_type="ebs-volume",
                resource_arn=f"arn:aws:ec2:{reg.region}:{reg.acct}:volume/{vid}",
                resource_id=vid,
                name=row["tags"].get("Name"),
                tags=dict(row["tags"]),
                created_at=row["created_at"],
                size_bytes=size * GIB,
                encrypted=True,
            )
            volume["used_bytes"] = row["used_bytes"]
            row["root_volume"] = volume

    def _policies(self, reg: _Region) -> None:
        """Two DLM policies of the region: daily AMIs of, and daily snapshots of the volumes of,
        every instance tagged snapshot=daily (seven kept)."""
        from auditor.sandbox.moto_ext.dlm.models import dlm_backends

        backend = dlm_backends[reg.acct][reg.region]
        created = reg.as_of - timedelta(days=200)
        key, value = DLM_TAG
        for kind, policy_type, resource_type in (
            ("ami", "IMAGE_MANAGEMENT", "INSTANCE"),
            ("snap", "EBS_SNAPSHOT_MANAGEMENT", "VOLUME"),
        ):
            policy_id = f"policy-{reg.hex(17)}"
            backend.add_policy(
                policy_id,
                description=f"daily {kind}s of instances tagged {key}={value}",
                state="ENABLED",
                created=created,
                details={
                    "PolicyType": policy_type,
                    "ResourceTypes": [resource_type],
                    "ResourceLocations": ["CLOUD"],
                    "TargetTags": [{"Key": key, "Value": value}],
                    "Schedules": [
                        {
                            "Name": f"daily-{kind}",
                            "CreateRule": {
                                "Interval": 24,
                                "IntervalUnit": "HOURS",
                                "Times": ["03:00"],
                            },
                            "RetainRule": {"Count": DLM_KEEP},
                            "CopyTags": True,
                        }
                    ],
                },
            )
            reg.dlm_policies[kind] = policy_id

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's EC2 recovery point: an AMI with a snapshot of the instance's volume."""
        return add_image(
            reg,
            made.region,
            r,
            made.created,
            size=made.size,
            encrypted=made.encrypted,
            description=f"This AMI was created by AWS Backup job {made.job_id}",
            tags={"aws:backup:source-resource": r["resource_id"]},
            source_instance=made.region == reg.region and not made.copy,
        )

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """DLM's daily AMIs and volume snapshots (targeted instances), and a hand-made AMI."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        if r["tags"].get(DLM_TAG[0]) == DLM_TAG[1] and not r["deleted"]:
            for d in range(DLM_KEEP):
                t = (end - timedelta(days=d + 1)).replace(
                    hour=3, minute=reg.rng.randint(0, 9), second=0, microsecond=0
                )
                if t < start:
                    break
                self._dlm_backups(reg, r, t)
        if reg.rng.random() < (0.3 if not r["deleted"] else 1.0):
            t = (end - timedelta(days=reg.rng.uniform(1, 90))).replace(microsecond=0)
            if t >= start:
                size = reg.size(r)
                arn = add_image(
                    reg,
                    reg.region,
                    r,
                    t,
                    size=size,
                    encrypted=True,
                    description="before upgrade",
                    tags={"team": r["tags"].get("team", "")},
                )
                reg.native_row(r, arn, "ec2-image", "user", t, size, True)

    def _dlm_backups(self, reg: _Region, r: dict[str, Any], t: datetime) -> None:
        size = reg.size(r)
        marks = {"aws:dlm:lifecycle-policy-id": reg.dlm_policies["ami"]}
        arn = add_image(
            reg,
            reg.region,
            r,
            t,
            size=size,
            encrypted=True,
            description="Created for policy by Data Lifecycle Manager",
            tags=marks,
        )
        reg.native_row(r, arn, "ec2-image", "automated", t, size, True)
        volume = r.get("root_volume")
        if volume is None:
            return
        snap_size = reg.size(volume)
        sid = native.add_ebs_snapshot(
            reg.acct,
            reg.region,
            volume_id=volume["resource_id"],
            volume_size_gib=max(1, volume["size_bytes"] // GIB),
            created=naive(t),
            description="Created for policy by Data Lifecycle Manager",
            encrypted=True,
            tags={"aws:dlm:lifecycle-policy-id": reg.dlm_policies["snap"]},
            full_size_bytes=snap_size,
            snapshot_id=f"snap-{reg.hex(17)}",
            backend=reg.backends(reg.region)["ec2"],
        )
        reg.native_row(
            volume,
            native.ebs_snapshot_arn(reg.region, sid),
            "ebs-snapshot",
            "automated",
            t,
            snap_size,
            True,
        )


SEEDER = Ec2Seeder()
