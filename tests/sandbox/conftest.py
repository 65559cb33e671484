"""Fixtures for the sandbox tests: a fresh moto per test, and a seeded estate."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from auditor.sandbox import install, seed_estate

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


@pytest.fixture
def as_of() -> datetime:
    return AS_OF


@pytest.fixture
def aws(monkeypatch):
    """An empty in-process moto with the sandbox's additions; yields a client factory."""
    install()
    from moto import mock_aws

    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():

        def client(service: str, region: str = "us-east-1"):
            return boto3.client(service, region_name=region)

        yield client


@pytest.fixture(scope="module")
def seeded():
    """One default estate (scale 1, two regions) per test module, in its own in-process moto.

    Read-only tests share it (seeding and moto's reset cost ~2 s). Keep tests that need an empty
    moto (`aws`) in other modules: mocks nest, so they would see this estate.
    """
    install()
    from moto import mock_aws

    with mock_aws():
        estate = seed_estate(AS_OF)

        def client(service: str, region: str = "us-east-1"):
            return boto3.client(service, region_name=region)

        yield estate, client


@pytest.fixture
def estate(seeded):
    return seeded[0]


@pytest.fixture
def api(seeded):
    """Client factory for the shared seeded estate."""
    return seeded[1]
