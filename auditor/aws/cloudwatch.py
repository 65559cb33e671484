"""Aurora cluster volume sizes from CloudWatch (`AWS/RDS` `VolumeBytesUsed`), in bulk.

For Aurora the RDS API's `AllocatedStorage` is no size: "For Aurora, AllocatedStorage always returns
1, because Aurora DB cluster storage size isn't fixed, but instead automatically adjusts as needed"
(RDS API reference, DBCluster and DBInstance). The billed volume size is the cluster-level metric
`VolumeBytesUsed` with dimension `DBClusterIdentifier` ("Amazon CloudWatch metrics for Amazon
Aurora", Aurora user guide). One GetMetricData call asks for up to 500 metrics (CloudWatch API
reference, GetMetricData: "You can ... retrieve as many as 500 different metrics in a single
request"), so clusters are asked for 500 at a time, never one call per cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.aws.context import Context

QUERIES_PER_CALL = 500
# A failed metric call leaves only Aurora sizes unknown (size_basis "unknown"), not any backup
# fact: its error row names this pseudo type, so no resource is marked NOT_ASSESSED for it.
AFFECTS = "aurora-size"
# Aurora publishes VolumeBytesUsed about once an hour; the newest daily value is the current size.
WINDOW = timedelta(days=2)
PERIOD_SECONDS = 86400


def _queries(identifiers: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"v{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/RDS",
                    "MetricName": "VolumeBytesUsed",
                    "Dimensions": [{"Name": "DBClusterIdentifier", "Value": ident}],
                },
                "Period": PERIOD_SECONDS,
                "Stat": "Maximum",
            },
            "ReturnData": True,
        }
        for i, ident in enumerate(identifiers)
    ]


def aurora_volume_bytes(ctx: Context, identifiers: list[str]) -> dict[str, int]:
    """{cluster identifier: newest VolumeBytesUsed} for the clusters CloudWatch has a value for."""
    end = (ctx.as_of or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    sizes: dict[str, int] = {}
    for start in range(0, len(identifiers), QUERIES_PER_CALL):
        chunk = identifiers[start : start + QUERIES_PER_CALL]
        by_id = {f"v{i}": ident for i, ident in enumerate(chunk)}
        params: dict[str, Any] = {
            "MetricDataQueries": _queries(chunk),
            "StartTime": end - WINDOW,
            "EndTime": end,
            "ScanBy": "TimestampDescending",
            # the page size: "MaxDatapoints ... The default, and the maximum, is 100,800" (CloudWatch
            # API reference, GetMetricData)
            "MaxDatapoints": 100_800,
        }
        while True:
            page = ctx.call("cloudwatch", "get_metric_data", affects=AFFECTS, **params)
            if page is None:
                return sizes
            for result in page.get("MetricDataResults") or ():
                values = result.get("Values") or []
                ident = by_id.get(str(result.get("Id")))
                # TimestampDescending: the first value is the newest; keep the first page's.
                if ident and values and ident not in sizes:
                    sizes[ident] = int(values[0])
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    return sizes
