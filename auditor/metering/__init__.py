"""Metering: who bills the storage of every backup, how much of it, and what it costs.

Pure pandas/numpy over the inventory's frames; no boto3. `meter` runs these phases, each a module:
- `encode`: the recovery points' columns as integer codes, sizes, time held this month, classes;
- `chains`: the storage each backup adds to the incremental chain of its source;
- `estimate`: GB-months per backup this month, summed per group and storage class;
- `billing`: who bills each group (service, billing owner, usage type) and at what price;
- `costs`: the RDS free allowance, the cost of each row, whole cents that add up;
- `allocate`: the cost split by account, region, service, owner, class, plan and tags;
- `orphans`: the monthly cost of backups whose source no longer exists;
- `reconcile`: billed (a Cost and Usage Report) against estimated;
- `result`: totals, and metering.json / metering.csv.
The price table is `prices`; each module's docstring states its part of the method. `orphan_costs`
runs the phases up to `billing`, then `orphans`: the orphaned-backup control's cost evidence.
"""

from __future__ import annotations

from auditor.metering.billing import BACKUP_TYPES, CLASSES, GIB, USAGE_TYPES
from auditor.metering.core import meter, orphan_costs, run_meter
from auditor.metering.period import month_bounds
from auditor.metering.prices import PriceTable, default_prices_text, load_prices
from auditor.metering.reconcile import cur_backup_storage
from auditor.metering.result import (
    METERING_SCHEMA_VERSION,
    ROW_COLUMNS,
    MeteringResult,
    write_metering,
)

__all__ = [
    "BACKUP_TYPES",
    "CLASSES",
    "GIB",
    "METERING_SCHEMA_VERSION",
    "ROW_COLUMNS",
    "USAGE_TYPES",
    "MeteringResult",
    "PriceTable",
    "cur_backup_storage",
    "default_prices_text",
    "load_prices",
    "meter",
    "month_bounds",
    "orphan_costs",
    "run_meter",
    "write_metering",
]
