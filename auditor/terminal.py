"""Tables the command line prints on the terminal (rich), kept out of the libraries that compute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from rich.console import JustifyMethod

    from auditor.metering import MeteringResult

__all__ = ["metering_table"]


def metering_table(result: MeteringResult) -> Table:
    """A short rich table for the terminal: the split by service, billing owner and storage class."""
    title = f"Backup storage {result.period_start:%Y-%m} (estimate for the month, USD)"
    table = Table(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("service", "left"),
        ("billed by", "left"),
        ("class", "left"),
        ("backups", "right"),
        ("GB-months", "right"),
        ("USD", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    frame = result.frame
    if len(frame):
        frame = frame.assign(_usd=frame["estimated_cost_usd"].fillna(0.0))
        grouped = frame.groupby(["service", "billing_owner", "storage_class"], sort=True).agg(
            backups=("backups", "sum"),
            gb=("gb_months", "sum"),
            usd=("_usd", "sum"),
            unpriced=("unpriced", "any"),
        )
        for (service, owner, cls), r in grouped.iterrows():
            usd = f"{r.usd:,.2f}" + (" + unpriced" if r.unpriced else "")
            table.add_row(service, owner, cls, f"{int(r.backups):,}", f"{r.gb:,.2f}", usd)
    t = result.totals
    table.add_section()
    table.add_row("AWS Backup-metered", "", "", "", "", f"{t['backup_metered_cost_usd']:,.2f}")
    table.add_row("native-service billed", "", "", "", "", f"{t['native_cost_usd']:,.2f}")
    table.add_row(
        "total",
        "",
        "",
        f"{t['backups']:,}",
        f"{t['gb_months']:,.2f}",
        f"{t['estimated_cost_usd']:,.2f}",
        style="bold",
    )
    if t.get("upper_bound_gb_months", 0) > t["gb_months"] + 1e-6:
        # incremental chains were estimated: show the other end of the range
        table.add_row(
            "if no block were shared",
            "",
            "",
            "",
            f"{t['upper_bound_gb_months']:,.2f}",
            f"{t.get('upper_bound_cost_usd', 0):,.2f}",
        )
    share = t.get("verified_price_share")
    if share is not None:
        # how far the prices behind the figures above were checked against AWS's pages
        table.add_row("prices verified", "", "", "", "", f"{share:.0%}")
    if "billed_usd" in t:
        table.add_row("billed (CUR)", "", "", "", "", f"{t['billed_usd']:,.2f}")
    return table
