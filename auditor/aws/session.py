"""Sessions, clients and call accounting for collection.

No module-level clients: every boto3 session comes from a *session factory* (by default
`boto3.Session`), so tests inject sessions carrying their own event hooks instead of patching
import paths. Every session made through `Sessions` gets the API-call counter attached, and every
client gets the same botocore config (adaptive retries, bounded timeouts).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.utils
from botocore.config import Config

from auditor.errors import UsageError

SessionFactory = Callable[..., boto3.Session]


def client_config() -> Config:
    """The botocore config of every client.

    Adaptive mode adds client-side rate limiting on top of exponential back-off: a throttled
    account/region slows itself down instead of burning its retry budget. `AWS_MAX_ATTEMPTS`, when
    set, overrides the 10 attempts (as it does for the AWS CLI).
    """
    try:
        attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "10"))
    except ValueError:
        attempts = 10
    return Config(
        # total_max_attempts counts the first try, as AWS_MAX_ATTEMPTS does (max_attempts would not)
        retries={"mode": "adaptive", "total_max_attempts": max(1, attempts)},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        user_agent_extra="auditor-collect",
    )


def default_session_factory(**kwargs: Any) -> boto3.Session:
    """`boto3.Session(**kwargs)`: the factory used when CollectOptions names none."""
    return boto3.Session(**kwargs)


# IAM action prefix per botocore service name, where they differ (IAM is what a policy lists).
_IAM_PREFIX = {
    "efs": "elasticfilesystem",
    "resourcegroupstaggingapi": "tag",
}


# Operations whose IAM action has another name: S3's ListBuckets is authorised by
# s3:ListAllMyBuckets ("Actions, resources, and condition keys for Amazon S3", Service
# Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
IAM_ACTION_NAMES = {("s3", "ListBuckets"): "ListAllMyBuckets"}


def iam_action(service_name: str, operation_name: str) -> str:
    """The IAM action name of a botocore operation, e.g. ('efs', 'DescribeFileSystems')."""
    action = IAM_ACTION_NAMES.get((service_name, operation_name), operation_name)
    return f"{_IAM_PREFIX.get(service_name, service_name)}:{action}"


class CallCounter:
    """Counts API calls (one per request, pages included, retries not) by IAM action name.

    Registered on `before-call`, which botocore emits once per logical call before any retry.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, model=None, **_: Any) -> None:  # botocore event handler signature
        if model is None:
            return
        action = iam_action(model.service_model.service_name, model.name)
        with self._lock:
            self.counts[action] += 1

    def as_dict(self) -> dict[str, int]:
        """A sorted plain dict of the counts so far."""
        with self._lock:
            return dict(sorted(self.counts.items()))


def parse_timestamp_utc(value: Any) -> datetime:
    """botocore timestamp parser returning UTC datetimes (stdlib `timezone.utc`).

    botocore's default gives `dateutil.tz.tzlocal()` datetimes, which pandas converts one element
    at a time through dateutil (seconds for 100,000 snapshots); UTC datetimes convert vectorised.
    """
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        parsed = botocore.utils.parse_timestamp(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_LOADER_LOCK = threading.Lock()
_SHARED_LOADER: Any = None


def _prepare(session: boto3.Session) -> None:
    """Share one process-wide data loader with `session` and make it parse timestamps to UTC.

    The loader only reads botocore's JSON models; sharing it saves re-parsing them for every
    account's session (~0.8 s each, EC2's model alone ~0.5 s).
    """
    global _SHARED_LOADER
    core = getattr(session, "_session", None)
    if core is None:
        return
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp_utc
    )
    with _LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _SHARED_LOADER)


class Sessions:
    """Creates sessions through the factory and clients from them, thread-safely.

    boto3 sessions are not thread-safe but clients are: clients are created under a per-session
    lock and cached by (service, region), then shared by the worker threads.
    """

    def __init__(self, factory: SessionFactory | None, counter: CallCounter) -> None:
        self._factory = factory or default_session_factory
        self._config = client_config()
        self._counter = counter
        self._locks: dict[int, threading.Lock] = {}
        self._clients: dict[tuple[int, str, str], Any] = {}
        self._guard = threading.Lock()

    def session(self, **kwargs: Any) -> boto3.Session:
        """A new session from the factory (kwargs as for `boto3.Session`), with the counter attached."""
        with self._guard:
            session = self._factory(**kwargs)
            _prepare(session)
            session.events.register("before-call", self._counter)
            self._locks[id(session)] = threading.Lock()
        return session

    def client(self, session: boto3.Session, service: str, region: str) -> Any:
        """A cached client of `service` in `region` for `session`."""
        key = (id(session), service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._locks[id(session)]:
            client = self._clients.get(key)
            if client is None:
                client = session.client(service, region_name=region, config=self._config)
                self._clients[key] = client
        return client


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region named in botocore's partition and endpoint data (all partitions)."""
    data_dir = Path(botocore.__file__).parent / "data"
    regions: set[str] = set()
    partitions = json.loads((data_dir / "partitions.json").read_text(encoding="utf-8"))
    for partition in partitions.get("partitions", []):
        regions.update(partition.get("regions", {}))
    endpoints = json.loads((data_dir / "endpoints.json").read_text(encoding="utf-8"))
    for partition in endpoints.get("partitions", []):
        regions.update(partition.get("regions", {}))
    return frozenset(r for r in regions if not r.endswith("-global"))


@cache
def partition_of(region: str) -> str:
    """The ARN partition of `region` (aws, aws-cn, aws-us-gov, ...)."""
    data_dir = Path(botocore.__file__).parent / "data"
    partitions = json.loads((data_dir / "partitions.json").read_text(encoding="utf-8"))
    for partition in partitions.get("partitions", []):
        if region in partition.get("regions", {}):
            return partition["id"]
    return "aws"


def validate_regions(regions: list[str]) -> list[str]:
    """Deduplicate `regions` keeping order; raise UsageError (exit 2) naming an unknown one."""
    known = known_regions()
    seen: list[str] = []
    for region in regions:
        region = region.strip()
        if region not in known:
            close = sorted(r for r in known if r.split("-")[0] == region.split("-")[0])[:4]
            hint = f" (known regions include {', '.join(close)})" if close else ""
            raise UsageError(f"unknown region {region!r}{hint}")
        if region not in seen:
            seen.append(region)
    return seen
