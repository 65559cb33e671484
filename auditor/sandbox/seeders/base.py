"""What every per-type seeder shares: its interface, and the small helpers seeding needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.sandbox.seed import _Region

GIB = 1024**3
TEAMS = ("payments", "search", "data", "platform", "web")


def utc(dt: datetime) -> datetime:
    """`dt` as an aware UTC datetime (naive ones are taken as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def naive(dt: datetime) -> datetime:
    """`dt` in UTC without its zone, as moto's models keep times."""
    return utc(dt).replace(tzinfo=None)


def count(base: int, scale: float) -> int:
    """How many of something a region gets at `scale` (at least one)."""
    return max(1, round(base * scale))


@dataclass(frozen=True)
class Artifact:
    """What an AWS Backup job made for one resource: the facts its native artifact is built from."""

    region: str
    job_id: str
    created: datetime
    size: int
    managed: bool  # AWS Backup holds it as its own recovery point (arn:...:backup:...)
    encrypted: bool
    cold: bool
    copy: bool  # made by a copy job


class TypeSeeder:
    """Seeds one catalogue resource type into moto's backends of one (account, region).

    A subclass lives in auditor/sandbox/seeders/<catalogue seeder>.py as `SEEDER`; the estate
    calls it for every catalogued type, in catalogue order, so a new type needs no edit of seed.py.
    """

    type_id = ""
    base_count = 0  # resources per region at scale 1.0
    # Of the region's deleted resources, 1/deleted_divisor are of this type (0: none are).
    deleted_divisor = 0
    uses_aws_backup = True  # the estate's plans back it up (False: native backups only)
    # AWS Backup holds its recovery points as its own: True always, None only where the region's
    # advanced features are on (DynamoDB), False never (they are native snapshots).
    backup_managed: bool | None = False
    always_encrypted = False  # its backups are encrypted whatever the resource says

    def seed(self, reg: _Region, scale: float) -> None:
        """Create this type's live resources in `reg`."""
        self.create(reg, count(self.base_count, scale))

    def seed_deleted(self, reg: _Region, n: int) -> None:
        """Create this type's share of the `n` deleted resources (their backups become orphans)."""
        if self.deleted_divisor:
            self.create(reg, max(1, n // self.deleted_divisor), deleted=True)

    def create(self, reg: _Region, n: int, *, deleted: bool = False) -> None:
        """Create `n` resources (deleted ones are recorded but leave nothing in the backends)."""
        raise NotImplementedError

    def backup_possible(self, r: dict[str, Any]) -> bool:
        """Whether AWS Backup can back this resource up at all (its jobs otherwise make nothing)."""
        return True

    def artifact(self, reg: _Region, r: dict[str, Any], made: Artifact) -> str | None:
        """The native artifact an AWS Backup job made, as its ARN; None: a Backup recovery point."""
        return None

    def native(self, reg: _Region, r: dict[str, Any]) -> None:
        """The resource's backups made outside AWS Backup (by its own service or a user)."""
