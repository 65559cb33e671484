"""Collectors: gather resources and backups from AWS into an Inventory.

Public API: `CollectOptions` and `collect_inventory(options) -> Inventory`. One module per service
(`ebs`, `rds`, `dynamodb`, `efs`, `storagegateway`, `backup`) records what AWS returns; `normalize`
turns the records into the declared tables; `collect` fans out accounts × regions × services.
"""

from auditor.aws.collect import COLLECTORS, CollectOptions, collect_inventory

__all__ = ["COLLECTORS", "CollectOptions", "collect_inventory"]
