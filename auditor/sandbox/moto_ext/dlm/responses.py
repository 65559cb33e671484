"""DLM request handlers (REST-JSON: GET /policies and GET /policies/{policyId}).

Query parameters and the response bodies follow the DLM API reference ("GetLifecyclePolicies",
https://docs.aws.amazon.com/dlm/latest/APIReference/API_GetLifecyclePolicies.html ;
"GetLifecyclePolicy",
https://docs.aws.amazon.com/dlm/latest/APIReference/API_GetLifecyclePolicy.html). GetLifecyclePolicies
has no paging: it answers every matching policy at once. Timestamps are epoch seconds, as botocore
reads REST-JSON timestamps.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from moto.core.responses import BaseResponse

from auditor.sandbox.moto_ext.dlm.models import DLMBackend, dlm_backends


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class DLMResponse(BaseResponse):
    """Handlers for the DLM operations the auditor reads."""

    def __init__(self) -> None:
        super().__init__(service_name="dlm")

    @property
    def backend(self) -> DLMBackend:
        return dlm_backends[self.current_account][self.region]

    def _list(self, name: str) -> list[str]:
        values = self.querystring.get(name) or []
        return [v for value in values for v in value.split(",") if v]

    def get_lifecycle_policies(self) -> str:
        """GET /policies: summaries, filtered by state, resourceTypes and policyIds."""
        state = (self.querystring.get("state") or [None])[0]
        summaries = self.backend.summaries(
            state, self._list("resourceTypes"), self._list("policyIds")
        )
        return json.dumps({"Policies": summaries}, default=_json_default)

    def get_lifecycle_policy(self) -> str:
        """GET /policies/{policyId}: the whole policy."""
        policy_id = unquote(self.path.rstrip("/").rsplit("/", 1)[-1])
        return json.dumps({"Policy": self.backend.policy(policy_id)}, default=_json_default)

    def policies(self, request: Any, full_url: str, headers: Any) -> Any:
        """Dispatch on the path: the collection or one policy."""
        self.setup_class(request, full_url, headers)
        if self.path.rstrip("/").endswith("/policies"):
            return 200, {}, self.get_lifecycle_policies()
        return 200, {}, self.get_lifecycle_policy()

    @classmethod
    def dispatch_policies(cls, request: Any, full_url: str, headers: Any) -> Any:
        """The URL map's entry point: a fresh handler per request, as moto's own."""
        return cls().policies(request, full_url, headers)
