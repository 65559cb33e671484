"""Storage Gateway gateways (cached and stored) with their volumes and scheduled snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from auditor.sandbox.moto_ext import native
from auditor.sandbox.seeders.base import GIB, TEAMS, Artifact, TypeSeeder, count, naive, utc
from auditor.sandbox.seeders.ebs import backup_snapshot

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

GATEWAYS_PER_REGION = 1  # the first region gets one more, so it has a stored gateway too


class StorageGatewaySeeder(TypeSeeder):
    """Gateway volumes; their backups, native or AWS Backup's, are EBS snapshots."""

    type_id = "storagegateway-volume"
    base_count = 4
    always_encrypted = True

    def seed(self, reg: _Region, scale: float) -> None:
        """Create the region's gateways, then its volumes spread over them."""
        extra = 1 if reg.index == 0 else 0
        self.create_on(
            reg, count(GATEWAYS_PER_REGION + extra, scale), count(self.base_count, scale)
        )

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` volumes on one gateway (deleted volumes are not seeded)."""
        self.create_on(reg, 1, n)

    def create_on(self, reg: _Region, n_gateways: int, n_volumes: int) -> None:
        """Create `n_gateways` gateways (cached, stored, ...) and `n_volumes` volumes on them."""
        from auditor.sandbox.moto_ext.storagegateway.models import storagegateway_backends

        backend = storagegateway_backends[reg.acct][reg.region]
        gateways = []
        for g in range(n_gateways):
            gtype = "STORED" if g % 2 == 1 else "CACHED"
            gw = backend.add_gateway(
                f"sgw-{reg.region}-{g:03d}",
                gtype,
                gateway_id=f"sgw-{reg.hex(8).upper()}",
                tags={"team": reg.rng.choice(TEAMS)},
            )
            gateways.append(gw)
        for i in range(n_volumes):
            gw = gateways[i % len(gateways)]
            vtype = "STORED iSCSI" if gw["GatewayType"] == "STORED" else "CACHED iSCSI"
            size = reg.rng.choice((100, 500, 1024, 2048, 4096, 16384)) * GIB
            name = f"sgwvol-{reg.region}-{i:04d}"
            tags = reg.tags("sgw", name)
            created = reg.created_at()
            vol = backend.add_volume(
                gw["GatewayARN"],
                vtype,
                size,
                target_name=f"target-{i:04d}",
                created=created,
                used_bytes=int(size * reg.rng.uniform(0.2, 0.85)),
                volume_id=f"vol-{reg.hex(8).upper()}",
                tags=tags,
            )
            reg.add_resource(
                resource_type="storagegateway-volume",
                resource_arn=vol["VolumeARN"],
                resource_id=vol["VolumeId"],
                name=name,
                tags=tags,
                created_at=created,
                size_bytes=size,
                encrypted=True,
                parent_arn=gw["GatewayARN"],
                used_bytes=vol["VolumeUsedInBytes"],
            )

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """AWS Backup's Storage Gateway recovery point is an EBS snapshot of the volume."""
        return backup_snapshot(reg, r, made)

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """The gateway's daily snapshot schedule (kept 14 days here) plus a few weekly ones."""
        end = r.get("deleted_at") or reg.as_of
        start = utc(r["created_at"])
        times = [end - timedelta(days=d) for d in range(14)] + [
            end - timedelta(days=14 + 7 * w) for w in range(1, 6)
        ]
        for t in times:
            t = t.replace(hour=1, minute=reg.rng.randint(0, 59), second=0, microsecond=0)
            if t < start or t >= end or reg.rng.random() < 0.04:
                continue
            size = reg.size(r)
            sid = native.add_ebs_snapshot(
                reg.acct,
                reg.region,
                volume_id=r["resource_id"].lower(),
                volume_size_gib=r["size_bytes"] // GIB,
                created=naive(t),
                description=f"Scheduled snapshot of {r['resource_id']}",
                encrypted=True,
                full_size_bytes=size,
                snapshot_id=f"snap-{reg.hex(17)}",
                backend=reg.backends(reg.region)["ec2"],
            )
            reg.native_row(
                r,
                native.ebs_snapshot_arn(reg.region, sid),
                "storagegateway-snapshot",
                "storage-gateway",
                t,
                size,
                True,
            )


SEEDER = StorageGatewaySeeder()
