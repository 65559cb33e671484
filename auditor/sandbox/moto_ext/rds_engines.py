"""Amazon DocumentDB clusters in moto's RDS backend, as the RDS-compatible API serves them.

DocumentDB's management API is RDS's: the `docdb` client signs for and calls the RDS endpoint, and
DescribeDBClusters there "returns information about provisioned Amazon DocumentDB clusters ... Use
the filterName=engine,Values=docdb filter parameter to return only Amazon DocumentDB clusters"
(Amazon DocumentDB API reference, "DescribeDBClusters",
https://docs.aws.amazon.com/documentdb/latest/developerguide/API_DescribeDBClusters.html). moto's
RDS backend already serves Neptune clusters (engine `neptune`) but refuses engine `docdb`; this
adds it with DocumentDB's defaults: engine version 5.0.0 and port 27017 ("CreateDBCluster",
https://docs.aws.amazon.com/documentdb/latest/developerguide/API_CreateDBCluster.html). A
DocumentDB cluster has no allocated storage (its volume grows with use), hence 0, as moto does for
Neptune.
"""

from __future__ import annotations

from typing import Any

DOCDB = "docdb"
DOCDB_VERSION = "5.0.0"
DOCDB_PORT = 27017
_installed = False


def install() -> None:
    """Let moto's RDS backend create and describe DocumentDB clusters (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.rds.models import DBCluster
    from moto.rds.utils import ClusterEngine

    engines = ClusterEngine.list_cluster_engines
    version, port, storage = (
        DBCluster.default_engine_version,
        DBCluster.default_port,
        DBCluster.default_allocated_storage,
    )

    def list_cluster_engines() -> list[str]:
        return sorted({*engines(), DOCDB})

    def default_engine_version(engine: str) -> str:
        return DOCDB_VERSION if engine == DOCDB else version(engine)

    def default_port(engine: str) -> int:
        return DOCDB_PORT if engine == DOCDB else port(engine)

    def default_allocated_storage(engine: str, storage_type: str) -> Any:
        return 0 if engine == DOCDB else storage(engine, storage_type)

    ClusterEngine.list_cluster_engines = staticmethod(list_cluster_engines)  # type: ignore[method-assign]
    DBCluster.default_engine_version = staticmethod(default_engine_version)  # type: ignore[method-assign]
    DBCluster.default_port = staticmethod(default_port)  # type: ignore[method-assign]
    DBCluster.default_allocated_storage = staticmethod(default_allocated_storage)  # type: ignore[method-assign]
    _installed = True
