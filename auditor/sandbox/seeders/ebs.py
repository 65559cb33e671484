"""EBS volumes, their manual snapshots, and the EBS snapshots AWS Backup makes of them."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, Artifact, TypeSeeder, naive, utc

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region


def backup_snapshot(reg: _Region, r: dict[str, Any], made: Artifact) -> str:
    """The EBS snapshot an AWS Backup job made of an EBS or Storage Gateway volume; its ARN.

    AWS Backup keeps an EBS recovery point as an EBS snapshot tagged with its source resource.
    """
    vol_id = r["resource_id"].lower()  # EC2 shows a gateway volume's id in lower case
    sid = native.add_ebs_snapshot(
        reg.acct,
        made.region,
        volume_id=vol_id,
        volume_size_gib=max(1, r["size_bytes"] // GIB),
        created=naive(made.created),
        description=native.AWS_BACKUP_EBS_DESCRIPTION,
        encrypted=made.encrypted,
        kms_key_id=r.get("kms_key_id") if made.encrypted else None,
        tags={"aws:backup:source-resource": vol_id},
        full_size_bytes=made.size,
        storage_tier="archive" if made.cold else "standard",
        snapshot_id=f"snap-{reg.hex(17)}",
        backend=reg.backends(made.region)["ec2"],
    )
    return native.ebs_snapshot_arn(made.region, sid)


class EbsSeeder(TypeSeeder):
    """EBS volumes (some encrypted with the region's data key) and their manual snapshots."""

    type_id = "ebs-volume"
    base_count = 14
    deleted_divisor = 1

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` volumes in the region's first Availability Zone."""
        backend = native.ec2_backend(reg.acct, reg.region)
        zone = f"{reg.region}a"
        for i in range(n):
            vid = f"vol-{reg.hex(17)}"
            size = reg.rng.choice((8, 20, 50, 100, 100, 200, 500, 1000, 2000, 4096, 16384))
            encrypted = reg.rng.random() < 0.8
            name = f"{'old-' if deleted else ''}ebs-{reg.region}-{i:05d}"
            tags = reg.tags("ebs", name)
            created = reg.created_at()
            arn = f"arn:aws:ec2:{reg.region}:{reg.acct}:volume/{vid}"
            row = reg.add_resource(
                resource_type="ebs-volume",
                resource_arn=arn,
                resource_id=vid,
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=size * GIB,
                encrypted=encrypted,
                deleted=deleted,
                kms_key_id=reg.kms["data"] if encrypted else None,
            )
            row["used_bytes"] = int(size * GIB * reg.rng.uniform(0.15, 0.9))
            if deleted:
                continue
            vol = backend.create_volume(
                size=size,
                zone_name=zone,
                encrypted=encrypted,
                kms_key_id=reg.kms["data"] if encrypted else None,
                volume_type=reg.rng.choice(("gp3", "gp3", "gp2", "st1")),
            )
            backend.volumes.pop(vol.id)
            vol.id = vid
            vol.create_time = naive(created)
            backend.volumes[vid] = vol
            if tags:
                backend.tags[vid].update(tags)

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's EBS recovery point is an EBS snapshot."""
        return backup_snapshot(reg, r, made)

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """A few manual snapshots (more for deleted volumes), some in the archive tier."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        n = reg.rng.choice((0, 0, 0, 1, 2, 4)) if not r["deleted"] else reg.rng.randint(1, 3)
        for _ in range(n):
            t = end - timedelta(days=reg.rng.uniform(0.5, min(300.0, max(1.0, (end - start).days))))
            t = t.replace(microsecond=0)
            size = reg.size(r)
            tier = (
                "archive" if (reg.as_of - t).days > 120 and reg.rng.random() < 0.4 else "standard"
            )
            sid = native.add_ebs_snapshot(
                reg.acct,
                reg.region,
                volume_id=r["resource_id"],
                volume_size_gib=r["size_bytes"] // GIB,
                created=naive(t),
                description=reg.rng.choice(("pre-upgrade", "manual backup", "before resize", "")),
                encrypted=r["encrypted"],
                kms_key_id=r.get("kms_key_id"),
                tags={k: v for k, v in r["tags"].items() if k in ("team", "env")},
                full_size_bytes=size,
                storage_tier=tier,
                snapshot_id=f"snap-{reg.hex(17)}",
                backend=reg.backends(reg.region)["ec2"],
            )
            reg.native_row(
                r,
                native.ebs_snapshot_arn(reg.region, sid),
                "ebs-snapshot",
                "user",
                t,
                size,
                r["encrypted"],
                storage_class="archive" if tier == "archive" else "warm",
            )


SEEDER = EbsSeeder()
