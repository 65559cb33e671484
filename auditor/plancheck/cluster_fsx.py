"""What a template says about the native backups of FSx file systems and DocumentDB / Neptune clusters.

Each reader takes a resource's properties (CloudFormation) or a getter over its planned values
(Terraform) and returns (encrypted, name, engine, native) for `TemplateResource`; `native` has the
shape the other types' native settings have (kind, enabled, interval_hours, retention_days) plus a
`label` naming the backups in sentences.

Facts, from the service API references the templates map onto:
- FSx: every file system is encrypted at rest ("Data encryption in Amazon FSx", each FSx user
  guide), and its automatic backups run daily for `AutomaticBackupRetentionDays` days, 0 turning them
  off. Its default when unset: 30 for Windows File Server, ONTAP and OpenZFS, 0 for Lustre (FSx API
  reference, CreateFileSystemWindowsConfiguration, CreateFileSystemOntapConfiguration,
  CreateFileSystemOpenZFSConfiguration, CreateFileSystemLustreConfiguration).
- DocumentDB and Neptune: automated backups run daily and are kept `BackupRetentionPeriod` days,
  "Default: 1", from 1 to 35 (DocumentDB and Neptune API references, CreateDBCluster). Neither
  documents a default for `StorageEncrypted`, so an unset value is unknown until deployment.
- CloudFormation: AWS::FSx::FileSystem (FileSystemType, WindowsConfiguration, LustreConfiguration,
  OntapConfiguration, OpenZFSConfiguration), AWS::DocDB::DBCluster and AWS::Neptune::DBCluster
  (BackupRetentionPeriod, StorageEncrypted, DBClusterIdentifier): AWS CloudFormation resource
  reference. Terraform: aws_fsx_{windows,lustre,ontap,openzfs}_file_system
  (automatic_backup_retention_days), aws_docdb_cluster and aws_neptune_cluster
  (backup_retention_period, storage_encrypted, cluster_identifier): the AWS provider's docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditor.plancheck.model import Unknown

Reading = tuple[Any, Any, Any, dict[str, Any]]  # encrypted, name, engine, native

FSX_LABEL = "FSx automatic daily backups"
# CloudFormation's FileSystemType -> its configuration property
CFN_FSX_CONFIGURATION = {
    "WINDOWS": "WindowsConfiguration",
    "LUSTRE": "LustreConfiguration",
    "ONTAP": "OntapConfiguration",
    "OPENZFS": "OpenZFSConfiguration",
}
# AutomaticBackupRetentionDays when the template leaves it out (see the module docstring)
FSX_DEFAULT_RETENTION = {"WINDOWS": 30, "LUSTRE": 0, "ONTAP": 30, "OPENZFS": 30}
# Terraform resource type -> FileSystemType
TF_FSX_TYPES = {
    "aws_fsx_windows_file_system": "WINDOWS",
    "aws_fsx_lustre_file_system": "LUSTRE",
    "aws_fsx_ontap_file_system": "ONTAP",
    "aws_fsx_openzfs_file_system": "OPENZFS",
}
# CloudFormation / Terraform cluster types -> (engine, label of its automated backups)
CLUSTERS = {
    "AWS::DocDB::DBCluster": ("docdb", "DocumentDB automated backups"),
    "AWS::Neptune::DBCluster": ("neptune", "Neptune automated backups"),
    "aws_docdb_cluster": ("docdb", "DocumentDB automated backups"),
    "aws_neptune_cluster": ("neptune", "Neptune automated backups"),
}
CLOUDFORMATION_TYPES = frozenset(
    {"AWS::FSx::FileSystem", "AWS::DocDB::DBCluster", "AWS::Neptune::DBCluster"}
)
TERRAFORM_TYPES = frozenset({*TF_FSX_TYPES, "aws_docdb_cluster", "aws_neptune_cluster"})


def _int(value: Any) -> int | Unknown | None:
    if value is None or isinstance(value, Unknown):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return Unknown(f"{value!r} is not a number")


def _daily(kind: str, label: str, retention: Any) -> dict[str, Any]:
    """A daily native schedule keeping `retention` days (0 = off; Unknown = decided at apply)."""
    return {
        "kind": kind,
        "label": label,
        "enabled": retention if isinstance(retention, Unknown) else bool(retention),
        "interval_hours": 24,
        "retention_days": retention,
    }


def _fsx(fs_type: Any, retention: Any, where: str) -> Reading:
    if retention is None:
        retention = (
            FSX_DEFAULT_RETENTION.get(fs_type, 0)
            if isinstance(fs_type, str)
            else Unknown(f"the file system type of {where} is unknown before deployment")
        )
    engine = fs_type if isinstance(fs_type, str) else None
    return True, None, engine, _daily("fsx-automatic", FSX_LABEL, _int(retention))


def _cluster(source_type: str, encrypted: Any, name: Any, retention: Any, where: str) -> Reading:
    engine, label = CLUSTERS[source_type]
    if encrypted is None:
        encrypted = Unknown(f"StorageEncrypted is not set on {where}: no documented default")
    elif not isinstance(encrypted, Unknown):
        encrypted = bool(encrypted)
    retention = _int(retention)
    if retention is None:
        retention = 1
    name = name.lower() if isinstance(name, str) else None
    return encrypted, name, engine, _daily(f"{engine}-automated", label, retention)


def from_cloudformation(rtype: str, props: dict[str, Any], logical_id: str) -> Reading:
    """(encrypted, name, engine, native) of a CloudFormation FSx file system or cluster."""
    if rtype == "AWS::FSx::FileSystem":
        fs_type = props.get("FileSystemType")
        config = (
            props.get(CFN_FSX_CONFIGURATION.get(fs_type, ""), {})
            if isinstance(fs_type, str)
            else {}
        )
        retention = (
            config.get("AutomaticBackupRetentionDays") if isinstance(config, dict) else config
        )
        return _fsx(fs_type, retention, logical_id)
    return _cluster(
        rtype,
        props.get("StorageEncrypted"),
        props.get("DBClusterIdentifier"),
        props.get("BackupRetentionPeriod"),
        logical_id,
    )


def from_terraform(tf_type: str, get: Callable[..., Any], address: str) -> Reading:
    """(encrypted, name, engine, native) of a Terraform FSx file system or cluster.

    `get(*path)` reads a planned value (an Unknown when known only after apply).
    """
    if tf_type in TF_FSX_TYPES:
        return _fsx(TF_FSX_TYPES[tf_type], get("automatic_backup_retention_days"), address)
    return _cluster(
        tf_type,
        get("storage_encrypted"),
        get("cluster_identifier"),
        get("backup_retention_period"),
        address,
    )
