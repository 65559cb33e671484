"""Fixtures for the reliability and security tests: a seeded sandbox estate (moto in-process), a
session factory that injects AWS failures at the HTTP layer, and CLI helpers.

Failures are injected with botocore event hooks on the sessions the collectors get through
`CollectOptions.session_factory` / `AuditOptions.session_factory` (no patching of import paths):
`before-send` handlers answer a request with a real HTTP error response in the service's own wire
protocol, so botocore parses it, classifies it and retries it exactly as it would AWS's answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

import auditor.sandbox

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")
ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_UNSET = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_MAX_ATTEMPTS",
    "AUDITOR_DEBUG",
)


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    """Dummy credentials and no endpoint/profile from the developer's shell."""
    for key, value in _ENV.items():
        monkeypatch.setenv(key, value)
    for key in _UNSET:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def estate():
    """One seeded two-region estate per test module (moto in-process with the sandbox's additions)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _ENV.items():
            mp.setenv(key, value)
        for key in _UNSET:
            mp.delenv(key, raising=False)
        auditor.sandbox.install()
        with mock_aws():
            yield auditor.sandbox.seed_estate(AS_OF, regions=REGIONS, scale=0.3)


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch):
    """Retries without real waiting: botocore's back-off delay is 0 and the adaptive limiter never blocks.

    botocore's endpoint sleeps for the delay `ExponentialBackoff.delay_amount` returns (0 still
    means "retry"), and adaptive mode's token bucket waits on a condition variable once a throttle
    has been seen; both are timing, not behaviour, so the tests keep the retry logic and drop the wait.
    """
    from botocore.retries import adaptive, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(
        adaptive.ClientRateLimiter, "on_sending_request", lambda self, request, **kw: None
    )


# --- wire-format error responses ----------------------------------------------------------------------


def _protocols() -> dict[str, str]:
    session = botocore.session.get_session()
    out = {}
    for name in (
        "ec2",
        "rds",
        "sts",
        "dynamodb",
        "backup",
        "efs",
        "storagegateway",
        "cloudwatch",
        "resourcegroupstaggingapi",
        "organizations",
        "s3",
        "dlm",
        "fsx",
    ):
        model = session.get_service_model(name)
        # the protocol botocore really speaks (tagging lists CBOR first but botocore resolves JSON)
        out[model.service_id.hyphenize()] = model.resolved_protocol
    return out


PROTOCOLS = _protocols()


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 24:
        return bytes([0x60 | len(raw)]) + raw
    if len(raw) < 256:
        return bytes([0x78, len(raw)]) + raw
    return bytes([0x79]) + len(raw).to_bytes(2, "big") + raw


def _cbor_map(mapping: dict[str, str]) -> bytes:
    return bytes([0xA0 | len(mapping)]) + b"".join(
        _cbor_text(k) + _cbor_text(v) for k, v in mapping.items()
    )


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def error_response(service_id: str, url: str, status: int, code: str, message: str) -> AWSResponse:
    """An HTTP error response as `service_id`'s protocol writes it (botocore parses it like AWS's)."""
    protocol = PROTOCOLS[service_id]
    headers = {"x-amzn-RequestId": "00000000-0000-0000-0000-000000000000"}
    if protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
        ).encode()
        headers["Content-Type"] = "text/xml;charset=UTF-8"
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>r-1</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif (
        protocol == "rest-xml"
    ):  # S3: <Error> at the root ("Error responses", Amazon S3 API reference)
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>r-1</RequestId></Error>"
        ).encode()
        headers["Content-Type"] = "application/xml"
    elif protocol == "smithy-rpc-v2-cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
    else:  # json, rest-json
        body = json.dumps({"__type": code, "message": message}).encode()
        headers.update(
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": f"{code}:"}
        )
    return AWSResponse(url, status, headers, _Raw(body))


def _region_of(url: str) -> str | None:
    match = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com", url)
    return match.group(1) if match else None


class Injector:
    """A session factory whose sessions answer chosen requests with AWS errors, and a call record.

    Rules (checked in order, first match wins), each on (service id, operation, region):
    - `throttle(rate, seed)`: that fraction of requests gets a throttling error (EC2's
      `RequestLimitExceeded`, `Throttling` for query services, `ThrottlingException` otherwise),
      decided deterministically from (seed, service, operation, region, body, attempt), never more
      than three times in a row for one request; the first request to each service is always
      throttled once, so every wire protocol's throttling error is exercised;
    - `fail(service, operation, code, status=..., region=..., message=...)`: every matching request;
    - `reset_on_page(service, operation, page)`: the Nth request of that operation (per region),
      and each retry of it, raises a connection reset, i.e. the listing breaks half-way.
    `operations` records (service id, operation) of every request sent; `calls` every logical call
    (botocore's before-call), with its region.
    """

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.sent: list[tuple[str, str, str | None]] = []
        self.calls: list[tuple[str, str, str | None]] = []
        self.injected: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._pages: dict[tuple[str, str, str | None], int] = {}
        self._throttled_services: set[str] = set()
        self._lock = threading.Lock()

    def throttle(self, rate: float, seed: int = 0, sustained: bool = False) -> Injector:
        """Throttle `rate` of requests; `sustained`: every attempt independently, with no cap on
        how often one request is throttled in a row (else at most three times)."""
        self.rules.append(
            {
                "kind": "throttle",
                "rate": rate,
                "seed": seed,
                "sustained": sustained,
                "service": "*",
                "op": "*",
                "region": None,
            }
        )
        return self

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        *,
        status: int = 400,
        region: str | None = None,
        message: str | None = None,
    ) -> Injector:
        self.rules.append(
            {
                "kind": "fail",
                "service": service,
                "op": operation,
                "region": region,
                "code": code,
                "status": status,
                "message": message or f"{code} injected by the test",
            }
        )
        return self

    def reset_on_page(
        self, service: str, operation: str, page: int, region: str | None = None
    ) -> Injector:
        self.rules.append(
            {"kind": "reset", "service": service, "op": operation, "page": page, "region": region}
        )
        return self

    def unreachable(self, region: str) -> Injector:
        """Every request to `region` fails to connect (an endpoint that does not answer)."""
        self.rules.append({"kind": "unreachable", "service": "*", "op": "*", "region": region})
        return self

    def _count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1

    def _before_call(self, model, context, **_: Any) -> None:
        with self._lock:
            self.calls.append(
                (
                    model.service_model.service_id.hyphenize(),
                    model.name,
                    context.get("client_region"),
                )
            )

    def _before_send(self, request, event_name: str, **_: Any):
        from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

        _, service, op = event_name.split(".", 2)
        region = _region_of(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = b""
        body = body if isinstance(body, bytes) else str(body).encode()
        with self._lock:
            self.sent.append((service, op, region))
            # the attempt number of this very request (retries repeat the same body); the URL
            # without its host and port, which change from run to run (the emulator listens on
            # a free port): a seed then throttles the same attempts in every run
            target = urlsplit(request.url)
            key = hashlib.sha256(
                b"|".join(
                    [
                        service.encode(),
                        op.encode(),
                        str(region).encode(),
                        f"{target.path}?{target.query}".encode(),
                        body,
                    ]
                )
            ).hexdigest()
            attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
            page_key = (service, op, region)
            if attempt == 1:
                self._pages[page_key] = self._pages.get(page_key, 0) + 1
            page = self._pages.get(page_key, 0)
        for rule in self.rules:
            if rule["service"] not in ("*", service) or rule["op"] not in ("*", op):
                continue
            if rule["region"] and rule["region"] != region:
                continue
            if rule["kind"] == "throttle":
                if attempt > 3 and not rule.get("sustained"):
                    continue
                digest = hashlib.sha256(f"{rule['seed']}|{key}|{attempt}".encode()).digest()
                with self._lock:
                    first = service not in self._throttled_services
                    self._throttled_services.add(service)
                if not first and int.from_bytes(digest[:4], "big") / 2**32 >= rule["rate"]:
                    continue
                protocol = PROTOCOLS[service]
                # S3 throttles with 503 SlowDown ("Error responses", Amazon S3 API reference)
                code = {
                    "ec2": "RequestLimitExceeded",
                    "query": "Throttling",
                    "rest-xml": "SlowDown",
                }.get(protocol, "ThrottlingException")
                with self._lock:
                    self._count(code)
                status = 503 if protocol in ("ec2", "rest-xml") else 400
                return error_response(service, request.url, status, code, "Rate exceeded")
            if rule["kind"] == "fail":
                with self._lock:
                    self._count(rule["code"])
                return error_response(
                    service, request.url, rule["status"], rule["code"], rule["message"]
                )
            if rule["kind"] == "unreachable":
                with self._lock:
                    self._count("EndpointConnection")
                raise EndpointConnectionError(endpoint_url=request.url)
            if rule["kind"] == "reset" and page == rule["page"]:  # every retry of that page too
                with self._lock:
                    self._count("ConnectionReset")
                raise ConnectionClosedError(endpoint_url=request.url)
        return None

    def __call__(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        # first: moto answers requests from a before-send handler of its own
        session.events.register_first("before-send", self._before_send)
        session.events.register("before-call", self._before_call)
        return session


@pytest.fixture
def injector() -> Injector:
    return Injector()


# --- CLI helpers --------------------------------------------------------------------------------------


def invoke(args: list[str]) -> Any:
    """Run the CLI in-process (Typer's runner) with stderr kept apart."""
    from typer.testing import CliRunner

    from auditor.cli import app

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # Click 8.2+ always separates stderr
        runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result: Any, code: int = 2) -> str:
    """Assert the CLI failed with `code` and said so on exactly one stderr line (no traceback)."""
    stderr = result.stderr
    assert result.exit_code == code, (result.exit_code, stderr, result.exception)
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("auditor: error: "), lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sorted_frame(df):
    """A frame with its rows in a canonical order (collection order depends on threads)."""
    cols = list(df.columns)
    if not len(df):
        return df.reset_index(drop=True)
    key = df.astype("string").fillna("\x00")
    order = key.sort_values(cols).index
    return df.loc[order].reset_index(drop=True)


class Helpers:
    """The helpers above as one fixture (test modules cannot import conftest under importlib mode)."""

    AS_OF = AS_OF
    REGIONS = REGIONS
    ACCOUNT = ACCOUNT
    POLICIES = POLICIES
    ROOT = ROOT
    invoke = staticmethod(invoke)
    one_line_error = staticmethod(one_line_error)
    snapshot = staticmethod(snapshot)
    sorted_frame = staticmethod(sorted_frame)
    error_response = staticmethod(error_response)


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
