"""Every emulator response the collectors receive has botocore's output shape for its operation.

botocore's parser silently drops members its model does not name and does not check types, so a
collector reading a field the emulator invented, or the emulator writing a number as a string,
would pass every other test and fail on AWS. Here the raw body of every response of a demo-sized
collection is walked against the operation's output shape: each member present must be one the
model names (by its wire name) and have the model's type.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.model import Shape

from auditor.aws import CollectOptions, collect_inventory

AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


_NUMBER = (int, float)


def _json_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """Where a JSON value departs from `shape` (names and types)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        wire = {m.serialization.get("name", name): m for name, m in shape.members.items()}
        out = []
        for key, item in value.items():
            if key not in wire:
                if key == "__type":  # JSON error/union discriminator
                    continue
                out.append(f"{path}.{key}: not a member of {shape.name}")
                continue
            out += _json_problems(wire[key], item, f"{path}.{key}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        return [
            p for i, v in enumerate(value) for p in _json_problems(shape.member, v, f"{path}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map"]
        return [p for k, v in value.items() for p in _json_problems(shape.value, v, f"{path}[{k}]")]
    expected = {
        "string": str,
        "blob": str,
        "boolean": bool,
        "integer": int,
        "long": int,
        "double": _NUMBER,
        "float": _NUMBER,
        "timestamp": (*_NUMBER, str),
    }.get(kind)
    if expected is None or value is None:
        return []
    if kind in ("integer", "long") and isinstance(value, bool):
        return [f"{path}: boolean where {kind} expected"]
    if not isinstance(value, expected):
        return [f"{path}: {type(value).__name__} where {kind} expected"]
    return []


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_problems(shape: Shape, node: ET.Element, path: str, ec2: bool) -> list[str]:
    """Where an XML element departs from `shape` (element names and leaf types)."""
    kind = shape.type_name
    if kind == "structure":
        wire: dict[str, Shape] = {}
        for name, member in shape.members.items():
            loc = member.serialization.get("name") or (name[0].lower() + name[1:] if ec2 else name)
            wire[loc] = member
        out = []
        for child in node:
            tag = _local(child.tag)
            if tag not in wire:
                out.append(f"{path}.{tag}: not a member of {shape.name}")
                continue
            out += _xml_problems(wire[tag], child, f"{path}.{tag}", ec2)
        return out
    if kind == "list":
        item = shape.member.serialization.get("name") or ("item" if ec2 else "member")
        out = []
        for child in node:
            if _local(child.tag) != item:
                out.append(f"{path}.{_local(child.tag)}: list item should be <{item}>")
                continue
            out += _xml_problems(shape.member, child, f"{path}[]", ec2)
        return out
    text = (node.text or "").strip()
    try:
        if kind in ("integer", "long"):
            int(text)
        elif kind in ("double", "float"):
            float(text)
        elif kind == "boolean" and text not in ("true", "false"):
            return [f"{path}: {text!r} is not a boolean"]
    except ValueError:
        return [f"{path}: {text!r} is not {kind}"]
    return []


class Checker:
    """A session factory validating every successful response body against its output shape."""

    def __init__(self) -> None:
        self.problems: dict[str, set[str]] = {}
        self.operations: set[str] = set()
        self._lock = threading.Lock()

    def _check(self, operation_model, response_dict, **_: Any) -> None:
        if not 200 <= response_dict.get("status_code", 0) < 300:
            return
        shape = operation_model.output_shape
        body = response_dict.get("body") or b""
        name = f"{operation_model.service_model.service_name}:{operation_model.name}"
        protocol = operation_model.service_model.resolved_protocol
        found: list[str] = []
        if shape is not None and body:
            if protocol in ("json", "rest-json"):
                found = _json_problems(shape, json.loads(body), name)
            elif protocol in ("ec2", "query"):
                root = ET.fromstring(body)
                if protocol == "query":  # <OpResponse><OpResult>...</OpResult><ResponseMetadata/>
                    result = [c for c in root if _local(c.tag).endswith("Result")]
                    root = result[0] if result else root
                else:  # EC2 puts a requestId beside the members
                    for child in list(root):
                        if _local(child.tag) == "requestId":
                            root.remove(child)
                found = _xml_problems(shape, root, name, protocol == "ec2")
        with self._lock:
            self.operations.add(name)
            if found:  # one line per distinct place (list positions dropped)
                self.problems.setdefault(name, set()).update(
                    re.sub(r"\[\d+\]", "[]", f) for f in found
                )

    def __call__(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-parse", self._check)
        return session


@pytest.fixture(scope="module")
def checked():
    from moto import mock_aws

    import auditor.sandbox

    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(key, raising=False)
        auditor.sandbox.install()
        with mock_aws():
            auditor.sandbox.seed_estate(AS_OF, regions=("us-east-1", "eu-west-1"), scale=0.3)
            org = boto3.client("organizations", "us-east-1")
            org.create_organization(FeatureSet="ALL")
            org.create_account(AccountName="member", Email="member@example.com")
            checker = Checker()
            inv = collect_inventory(
                CollectOptions(
                    regions=["us-east-1", "eu-west-1"],
                    org=True,
                    as_of=AS_OF,
                    session_factory=checker,
                    page_size=20,
                )
            )
            yield checker, inv


def test_every_response_has_the_models_names_and_types(checked):
    checker, inv = checked
    assert inv.errors.empty, inv.errors
    # every collector's operations were seen (the check ran on real traffic)
    for op in (
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
        "rds:DescribeDBSnapshots",
        "dynamodb:ListBackups",
        "backup:ListRecoveryPointsByBackupVault",
        "storagegateway:DescribeCachediSCSIVolumes",
        "efs:DescribeFileSystems",
    ):
        assert op in checker.operations, op
    problems = {op: sorted(found) for op, found in checker.problems.items()}
    assert not problems, json.dumps(problems, indent=1)
