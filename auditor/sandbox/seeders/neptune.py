"""Amazon Neptune clusters (engine neptune) and their cluster snapshots."""

from __future__ import annotations

from auditor.sandbox.seeders.clusterdb import ClusterDbSeeder


class NeptuneSeeder(ClusterDbSeeder):
    """Neptune clusters."""

    type_id = "neptune-cluster"
    engine = "neptune"
    engine_version = "1.3.2.1"
    prefix = "neptune"


SEEDER = NeptuneSeeder()
