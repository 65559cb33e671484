"""backup-supported: a plan that relies on AWS Backup selects only types AWS Backup supports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditor.controls import frames as fr
from auditor.controls.context import (
    Context,
)
from auditor.controls.registry import control
from auditor.controls.verdicts import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    Part,
)


def _describe_supported(frame: pd.DataFrame, ctx: Context) -> pd.Series:
    s = fr.status_of(frame)
    reason = fr.col(frame, "reason")
    texts = fr.select(
        [
            (
                s == NOT_APPLICABLE,
                "The plan accepts only native backups, so it does not rely on AWS Backup.",
            ),
            (
                (s == PASS) & (reason != None),  # noqa: E711
                np.array(
                    [f"{r}, but the plan also accepts native backups." for r in reason],
                    dtype=object,
                ),
            ),
            (s == PASS, "AWS Backup supports this resource type."),
        ],
        np.array([f"{r}, and the plan accepts only AWS Backup." for r in reason], dtype=object),
    )
    return pd.Series(texts, dtype=object)


@control(
    "backup-supported",
    "AWS Backup supports the resource",
    "high",
    reads=("resources", "tags"),
    remediation="Accept native backups for this type in the plan, or protect it another way.",
    pre_deploy="The plan relies on AWS Backup for a type AWS Backup does not support.",
    order=100,
)
def backup_supported(ctx: Context) -> Part:
    """A plan that relies on AWS Backup must not select a type AWS Backup does not support.

    The supported-type matrix is data (`auditor/policy/supported_types.json`, overridable with
    `aws_backup_support:` in a policy); by default every type is supported except Aurora. FAIL when
    the plan accepts only aws-backup backups and the resource is unsupported; PASS when supported or
    when the plan also accepts native backups; NOT_APPLICABLE when it accepts only native ones.
    """
    d = ctx.deployed
    aws = ctx.accepts("aws-backup")
    native = ctx.accepts("native")
    status = np.where(~aws, NOT_APPLICABLE, np.where(d["supported"] | native, PASS, FAIL))
    reason = np.where(d["supported"], None, d["unsupported_reason"])
    frame = fr.pair_frame(
        ctx, status, supported=d["supported"], reason=reason, native_accepted=native
    )
    return Part("backup-supported", frame, _describe_supported)
