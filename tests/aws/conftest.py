"""Fixtures for the collector tests: moto in-process with the sandbox's additions, fixed clock,
and a session factory that injects failures through botocore event hooks (no patching)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

import auditor.sandbox
from auditor.aws import CollectOptions, collect_inventory

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def aws():
    """moto in-process with the sandbox's additions (AWS Backup extras, Storage Gateway, paging)."""
    auditor.sandbox.install()
    with mock_aws():
        yield


class Hooks:
    """A session factory whose sessions fail chosen calls, and a record of every call made.

    `deny(service, operation, region=None, code="AccessDenied")` answers matching calls with an
    HTTP 403 error; `fail_on_page(service, operation, page)` raises a connection error on the
    Nth call (1-based) of that operation, i.e. half-way through a listing.
    """

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, str]] = []
        self.params: list[tuple[str, str, dict]] = []
        self._seen: dict[tuple[str, str], int] = {}

    def deny(
        self,
        service: str,
        operation: str,
        region: str | None = None,
        code: str = "AccessDenied",
        status: int = 403,
        match=None,
    ):
        """Fail matching calls ("*" matches any service/operation; `match(request)` narrows further;
        `request["body"]` holds the serialized parameters)."""
        self.rules.append(
            {
                "kind": "deny",
                "service": service,
                "op": operation,
                "region": region,
                "code": code,
                "status": status,
                "match": match,
            }
        )
        return self

    def respond(self, service: str, operation: str, parsed: dict, region: str | None = None):
        """Answer matching calls with `parsed` as a successful (HTTP 200) response."""
        self.rules.append(
            {
                "kind": "respond",
                "service": service,
                "op": operation,
                "region": region,
                "parsed": parsed,
            }
        )
        return self

    def fail_on_page(self, service: str, operation: str, page: int):
        self.rules.append(
            {"kind": "page", "service": service, "op": operation, "page": page, "region": None}
        )
        return self

    def _handler(self, model, params, context, **_):
        from botocore.exceptions import ConnectionClosedError

        service = model.service_model.service_name
        region = context.get("client_region")
        self.calls.append((service, model.name, region))
        self.params.append((service, model.name, dict(params)))
        key = (service, model.name)
        self._seen[key] = self._seen.get(key, 0) + 1
        for rule in self.rules:
            if rule["service"] not in ("*", service) or rule["op"] not in ("*", model.name):
                continue
            if rule["region"] and rule["region"] != region:
                continue
            if rule.get("match") and not rule["match"](params):
                continue
            if rule["kind"] == "respond":
                return AWSResponse("https://ok.invalid", 200, {}, None), rule["parsed"]
            if rule["kind"] == "deny":
                response = AWSResponse("https://denied.invalid", rule["status"], {}, None)
                return response, {
                    "Error": {
                        "Code": rule["code"],
                        "Message": f"User is not authorized to perform {model.name}",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": rule["status"]},
                }
            if rule["kind"] == "page" and self._seen[key] == rule["page"]:
                raise ConnectionClosedError(
                    endpoint_url=f"https://{service}.{region}.amazonaws.com"
                )
        return None

    def __call__(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-call", self._handler)
        return session


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


def _collect(regions=("us-east-1",), **kwargs) -> Any:
    kwargs.setdefault("as_of", AS_OF)
    return collect_inventory(CollectOptions(regions=list(regions), **kwargs))


@pytest.fixture
def collect():
    """`collect(regions=..., **CollectOptions fields)`: collect_inventory with the fixed clock."""
    return _collect
