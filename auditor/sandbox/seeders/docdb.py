"""Amazon DocumentDB clusters (engine docdb) and their cluster snapshots."""

from __future__ import annotations

from auditor.sandbox.seeders.clusterdb import ClusterDbSeeder


class DocDbSeeder(ClusterDbSeeder):
    """DocumentDB clusters."""

    type_id = "docdb-cluster"
    engine = "docdb"
    engine_version = "5.0.0"
    prefix = "docdb"


SEEDER = DocDbSeeder()
