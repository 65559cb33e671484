"""Multi-account behaviour that real AWS accounts need: credentials that expire, opt-in regions,
and accounts that finish soon after they start."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from auditor.aws.collect import _Scheduler

ACCOUNT = "123456789012"
LIFETIME = 0.5  # seconds an emulated AssumeRole credential stays valid


class ShortLivedSTS:
    """Sessions whose AssumeRole credentials expire after LIFETIME seconds, as STS's do after
    DurationSeconds: a call signed with an expired session token is refused with ExpiredToken."""

    def __init__(self) -> None:
        self.issued: dict[str, float] = {}
        self.assumed = 0
        self.expired_calls = 0
        self._lock = threading.Lock()

    def _handler(self, model, request_signer=None, **_: Any):
        if model.name == "AssumeRole":
            with self._lock:
                self.assumed += 1
                n = self.assumed
                token = f"session-token-{n}"
                self.issued[token] = time.monotonic()
            parsed = {
                "Credentials": {
                    "AccessKeyId": f"ASIAEMULATED{n:08d}",
                    "SecretAccessKey": f"secret-{n}",
                    "SessionToken": token,
                    "Expiration": datetime.now(UTC) + timedelta(seconds=LIFETIME),
                },
                "AssumedRoleUser": {"AssumedRoleId": f"AROAEMULATED:{n}", "Arn": "arn"},
            }
            return AWSResponse("https://sts.invalid", 200, {}, None), parsed
        time.sleep(0.05)  # the run must outlast one credential's lifetime, with a wide margin
        # What the signer will sign with (refreshable credentials renew themselves here).
        frozen = request_signer._credentials.get_frozen_credentials()
        issued = self.issued.get(frozen.token)
        if issued is not None and time.monotonic() - issued > LIFETIME:
            with self._lock:
                self.expired_calls += 1
            return AWSResponse("https://expired.invalid", 400, {}, None), {
                "Error": {"Code": "ExpiredToken", "Message": "The security token has expired"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return None

    def __call__(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-call", self._handler)
        return session


def _org_with_member() -> str:
    org = boto3.client("organizations", "us-east-1")
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="member", Email="member@example.com")
    return status["CreateAccountStatus"]["AccountId"]


def test_assumed_role_credentials_are_renewed_before_they_expire(aws, collect):
    member = _org_with_member()
    ec2 = boto3.client("ec2", "us-east-1")
    for _ in range(3):
        ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")
    sts = ShortLivedSTS()
    started = time.monotonic()
    inv = collect(accounts=[member], session_factory=sts, max_workers=2)
    assert time.monotonic() - started > 2 * LIFETIME  # the run outlived the first credentials
    assert inv.errors.empty, inv.errors[["operation", "error_code"]]
    assert sts.expired_calls == 0
    assert sts.assumed > 1  # renewed, not assumed once
    assert inv.manifest["accounts"] == [member]


def test_region_not_enabled_in_one_account_is_listed_not_failed(aws, collect, hooks):
    from auditor.sandbox.moto_ext.services import set_region_enabled

    member = _org_with_member()
    set_region_enabled(ACCOUNT, "af-south-1")  # the caller's account opted in; the member did not
    inv = collect(regions=["us-east-1", "af-south-1"], org=True, session_factory=hooks)
    assert inv.errors.empty, inv.errors
    assert inv.manifest["regions_not_enabled"] == {member: ["af-south-1"]}
    assert any(region == "af-south-1" for _, _, region in hooks.calls)  # the caller's is collected


def test_an_account_finishes_before_far_more_accounts_start():
    """Follow-up work of an entered account runs before later accounts are entered."""
    workers, accounts = 2, 12
    events: list[tuple[str, int]] = []
    lock = threading.Lock()

    def note(kind: str, account: int) -> None:
        with lock:
            events.append((kind, account))
        time.sleep(0.002)

    with _Scheduler(workers) as scheduler:
        for order in range(accounts):
            scheduler.submit(order, "account", order, note, "enter", order)
        for order, kind, _, _ in scheduler.completed():
            if kind == "account":  # each account: 6 tasks that each split off 3 more
                for _ in range(6):
                    scheduler.submit(order, "task", 1, note, "task", order)
            elif kind == "task":
                for _ in range(3):
                    scheduler.submit(order, "follow-up", 0, note, "follow-up", order)

    last_work = {a: max(i for i, (k, acct) in enumerate(events) if acct == a) for a in range(12)}
    entered = {acct: i for i, (k, acct) in enumerate(events) if k == "enter"}
    # at most the pool's window of accounts is open at once (FIFO would enter all 12 first)
    open_at_entry = [sum(1 for b in range(a) if last_work[b] > entered[a]) for a in range(accounts)]
    assert max(open_at_entry) <= 2 * workers, open_at_entry
    assert len(events) == accounts * (1 + 6 + 18)
