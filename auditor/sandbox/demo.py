"""`auditor demo`: the whole job on the embedded emulated AWS estate, written to one folder.

Starts a `SandboxServer` on 127.0.0.1, seeds it with a fixed seed at a fixed `as_of` (so every run
gives the same estate and the same findings), runs `auditor audit` against that endpoint with the
example policies in `policies/`, and exports the evidence bundle. Outputs (in `out`):
everything `run_audit` writes (inventory/, policies/, findings, metering, reports, run.json,
history.json), `history.sqlite` (the run's history store, kept inside `out` so the demo leaves
nothing elsewhere) and `evidence.zip`. Non-compliant findings are the point of the demo: it
exits 0 whenever it ran.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

DEMO_AS_OF = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEMO_SEED = 7
DEMO_REGIONS = ("us-east-1", "eu-west-1")
DEMO_ACCOUNT = "123456789012"
DEMO_COMMAND = "auditor demo"


def default_policies() -> Path:
    """The example policies: `policies/` of the source tree (the demo runs from a clone)."""
    here = Path(__file__).resolve().parents[2] / "policies"
    if here.is_dir():
        return here
    return Path.cwd() / "policies"


@contextlib.contextmanager
def _sandbox_env(endpoint_url: str) -> Iterator[None]:
    """Point boto3 at the sandbox with dummy credentials for the duration, then restore the env.

    Profiles and real credentials are hidden so nothing can reach a real account by accident.
    """
    keys = (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    )
    saved = {k: os.environ.get(k) for k in keys}
    try:
        for key in keys:
            os.environ.pop(key, None)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=DEMO_REGIONS[0],
        )
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(
    out: Path,
    progress: bool = False,
    echo: Callable[..., None] = print,
    *,
    policies: Path | None = None,
    scale: float = 1.0,
) -> int:
    """Seed the sandbox, audit it into `out`, export and verify the evidence bundle; return 0.

    `echo(message, err=True)` prints progress notes (the CLI passes typer.echo).
    """
    from auditor.errors import AuditorError
    from auditor.evidence import export_bundle, verify_bundle
    from auditor.pipeline import AuditOptions, run_audit, summary_line
    from auditor.sandbox import SandboxServer, seed_estate
    from auditor.sandbox.air_gapped_demo import seed_air_gapped

    out = Path(out)
    policies = Path(policies) if policies else default_policies()
    if not policies.exists():
        raise AuditorError(
            f"{policies}: example policies not found; run the demo from a clone of the repository"
        )

    def say(message: str) -> None:
        try:
            echo(message, err=True)
        except TypeError:  # a plain print-like callable
            echo(message)

    with SandboxServer() as server:
        assert server.endpoint_url
        estate = seed_estate(
            DEMO_AS_OF, seed=DEMO_SEED, regions=DEMO_REGIONS, account_id=DEMO_ACCOUNT, scale=scale
        )
        seed_air_gapped(DEMO_AS_OF, DEMO_ACCOUNT, DEMO_REGIONS[0])
        say(
            f"demo: emulated AWS at {server.endpoint_url}: {len(estate.resources)} resources,"
            f" {len(estate.backups)} backups in {', '.join(DEMO_REGIONS)} (as of {DEMO_AS_OF:%Y-%m-%d %H:%M}Z)"
        )
        with _sandbox_env(server.endpoint_url):
            outcome = run_audit(
                AuditOptions(
                    policies=policies,
                    out=out,
                    as_of=DEMO_AS_OF,
                    regions=list(DEMO_REGIONS),
                    history=out / "history.sqlite",
                    progress=progress,
                    command=DEMO_COMMAND,
                )
            )
    say(summary_line(outcome))
    bundle, _, digest = export_bundle(out, out / "evidence.zip", command=DEMO_COMMAND)
    check = verify_bundle(bundle)
    say(
        f"demo: evidence bundle {bundle} ({'verified' if check.ok else 'NOT verified'}; sha256 {digest})"
    )
    say(f"demo: open {outcome.report_html.resolve()}")
    return 0


__all__ = ["DEMO_AS_OF", "DEMO_REGIONS", "DEMO_SEED", "run_demo"]
