"""DLM state: the lifecycle policies of one account and region, in AWS's `LifecyclePolicy` shape.

Shapes follow the DLM API reference: "LifecyclePolicy", "LifecyclePolicySummary" and
"PolicyDetails" (https://docs.aws.amazon.com/dlm/latest/APIReference/API_LifecyclePolicy.html).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError


class ResourceNotFoundException(JsonRESTError):
    """GetLifecyclePolicy of an unknown id: HTTP 404 ("GetLifecyclePolicy", Errors)."""

    code = 404

    def __init__(self, policy_id: str) -> None:
        super().__init__("ResourceNotFoundException", f"Policy {policy_id} not found.")


class DLMBackend(BaseBackend):
    """Lifecycle policies by id (seeded directly: the auditor only reads them)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.policies: dict[str, dict[str, Any]] = {}

    def add_policy(
        self,
        policy_id: str,
        *,
        description: str,
        state: str,
        details: dict[str, Any],
        created: datetime,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Store one policy; its ARN as DLM builds it (policy/<id>)."""
        policy = {
            "PolicyId": policy_id,
            "Description": description,
            "State": state,
            "ExecutionRoleArn": f"arn:aws:iam::{self.account_id}:role/AWSDataLifecycleManagerDefaultRole",
            "DateCreated": created,
            "DateModified": created,
            "PolicyDetails": copy.deepcopy(details),
            "Tags": dict(tags or {}),
            "PolicyArn": f"arn:aws:dlm:{self.region_name}:{self.account_id}:policy/{policy_id}",
            "DefaultPolicy": False,
        }
        self.policies[policy_id] = policy
        return policy

    def policy(self, policy_id: str) -> dict[str, Any]:
        """One policy; ResourceNotFoundException when there is none."""
        if policy_id not in self.policies:
            raise ResourceNotFoundException(policy_id)
        return self.policies[policy_id]

    def summaries(
        self, state: str | None, resource_types: list[str], policy_ids: list[str]
    ) -> list[dict[str, Any]]:
        """GetLifecyclePolicies' summaries, filtered as its query parameters say."""
        out = []
        for policy in self.policies.values():
            details = policy["PolicyDetails"]
            if state and policy["State"] != state:
                continue
            if policy_ids and policy["PolicyId"] not in policy_ids:
                continue
            if resource_types and not set(resource_types) & set(details.get("ResourceTypes", [])):
                continue
            out.append(
                {
                    "PolicyId": policy["PolicyId"],
                    "Description": policy["Description"],
                    "State": policy["State"],
                    "Tags": policy["Tags"],
                    "PolicyType": details.get("PolicyType", "EBS_SNAPSHOT_MANAGEMENT"),
                    "DefaultPolicy": policy["DefaultPolicy"],
                }
            )
        return out


dlm_backends = BackendDict(DLMBackend, "dlm")
