"""`meter`: the phases of metering, in order, and `run_meter` for the command line."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from auditor.metering.allocate import allocations
from auditor.metering.allowance import backup_free
from auditor.metering.billing import billed_rows
from auditor.metering.chains import chain_sizes
from auditor.metering.costs import price_rows
from auditor.metering.encode import Encoded, Halves, Window, encode
from auditor.metering.estimate import Groups, Part, gb_month_parts, group_sums
from auditor.metering.orphans import ORPHAN_ROW_INPUTS, orphan_rows
from auditor.metering.period import Clock, micros, month_bounds, utc
from auditor.metering.pitr import with_pitr
from auditor.metering.prices import PriceTable, load_prices
from auditor.metering.reconcile import reconcile
from auditor.metering.result import (
    MeteringResult,
    add_billed_totals,
    output_frame,
    price_trust,
    totals_of,
    write_metering,
)
from auditor.metering.sizes import settle_sizes
from auditor.metering.tag_rows import split_by_tags, with_tag_columns


def meter(
    inventory: Any,
    prices: PriceTable,
    as_of: datetime,
    by_tags: Sequence[str] = (),
    cur: pd.DataFrame | None = None,
) -> MeteringResult:
    """Split backup storage by billing owner, estimate GB-months and cost for `as_of`'s month.

    `inventory` is an `auditor.inventory.Inventory`; `cur` a frame from `auditor.cur.read_cur`.
    See the package docstring for the method.
    """
    clock = Clock()
    as_of = utc(as_of)
    m_start, m_end = month_bounds(as_of)
    warnings: list[str] = list(prices.warnings)
    resources = inventory.resources
    with ThreadPoolExecutor(max_workers=2) as pool:
        b = _billed(inventory, prices, as_of, pool, warnings, clock)
        rp, enc, parts, groups, halves, df = b.rp, b.enc, b.parts, b.groups, b.halves, b.df
        # The orphans need only the rows' owners and prices: priced on the pool meanwhile, with
        # their own warnings (added below, in the same place as ever) and their own copy of the
        # columns they read, since price_rows adds columns to the row frame.
        orphan_warnings: list[str] = []
        f_orphans = pool.submit(
            orphan_rows,
            inventory,
            rp,
            enc,
            groups,
            df.loc[:, list(ORPHAN_ROW_INPUTS)].copy(),
            b.stored,
            orphan_warnings,
        )
        clock.lap("allowance")
        free = backup_free(enc, resources, parts, groups)
        costs = price_rows(df, resources, enc.unsized, free, warnings)
        clock.lap("allocations")
        allocated = allocations(
            df, costs.total_cents, inventory, rp, enc, parts, groups, by_tags, halves
        )
        clock.lap("orphans")
        orphans = f_orphans.result()
        warnings.extend(orphan_warnings)
        clock.lap("rows")
        totals = totals_of(
            df,
            int(enc.valid.sum()) - b.n_pitr,
            costs.total_cents,
            costs.upper_cost,
            costs.unpriced_rows,
            costs.n_unsized,
            orphans,
        )
        totals.update(price_trust(df, prices))
        reconciliation = None
        if cur is not None:
            reconciliation = reconcile(df, cur, as_of, inventory, warnings)
            add_billed_totals(totals, reconciliation)
        clock.lap("end")
    frame = output_frame(df)
    if by_tags:
        # metering.csv's rows split by the tag values (auditor.metering.tag_rows)
        split = split_by_tags(df, inventory, rp, enc, parts, groups, by_tags)
        frame = with_tag_columns(split, by_tags)
    return MeteringResult(
        frame=frame,
        allocations=allocated,
        orphans=orphans,
        reconciliation=reconciliation,
        warnings=warnings,
        totals=totals,
        as_of=as_of,
        period_start=m_start,
        period_end=m_end,
        prices=prices.meta(),
        timings=clock.timings(),
    )


class _Billed(NamedTuple):
    """What the phases up to billing made: the rows, their codes and parts, and who bills them."""

    rp: pd.DataFrame
    n_pitr: int
    enc: Encoded
    parts: list[Part]
    groups: Groups
    halves: Halves
    stored: np.ndarray
    df: pd.DataFrame


def _billed(
    inventory: Any,
    prices: PriceTable,
    as_of: datetime,
    pool: ThreadPoolExecutor,
    warnings: list[str],
    clock: Clock,
) -> _Billed:
    """The phases every use of metering shares: encode, chains, time held, groups, billing."""
    m_start, m_end = month_bounds(as_of)
    window = Window(micros(m_start), micros(m_end), micros(as_of))
    resources = inventory.resources
    rp, n_pitr = with_pitr(inventory.recovery_points, resources)
    halves = Halves(pool, len(rp))
    clock.lap("encode")
    enc = encode(rp, resources, window, pool, warnings)
    settle_sizes(enc, resources, warnings)
    clock.lap("chains")
    eff, chained = chain_sizes(enc, rp, len(resources), prices.change_ratio, halves)
    clock.lap("time")
    parts = gb_month_parts(enc, rp, eff, window, halves)
    enc.release_times()
    stored = enc.size if eff is None else eff  # per backup: the bytes it is taken to hold
    clock.lap("group")
    groups = group_sums(enc, parts, chained, halves)
    enc.release_groups()
    df = billed_rows(groups, enc, prices, warnings)
    return _Billed(rp, n_pitr, enc, parts, groups, halves, stored, df)


def orphan_costs(inventory: Any, prices: PriceTable, as_of: datetime) -> pd.DataFrame:
    """`meter`'s `orphans` table alone (ORPHAN_COLUMNS): what each backup of no collected
    resource costs a month, without the allowances, allocations and totals of every backup."""
    as_of = utc(as_of)
    warnings: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        b = _billed(inventory, prices, as_of, pool, warnings, Clock())
        columns = b.df.loc[:, list(ORPHAN_ROW_INPUTS)]
        return orphan_rows(inventory, b.rp, b.enc, b.groups, columns, b.stored, warnings)


def run_meter(
    inventories: Sequence[str | Path],
    out: str | Path,
    as_of: datetime,
    prices_path: str | Path | None = None,
    cur_path: str | Path | None = None,
    by_tags: Sequence[str] = (),
) -> MeteringResult:
    """`auditor meter`: read the inventory (and CUR), meter, write metering.json/.csv into `out`."""
    from auditor.cur import read_cur
    from auditor.inventory import read_as_null_note, read_inventory
    from auditor.memory import use_compact_arrow_pool

    prices = load_prices(prices_path)
    cur = read_cur(cur_path) if cur_path is not None else None
    use_compact_arrow_pool()
    # Compact: the repeated string columns arrive dictionary-encoded, so metering uses codes.
    inventory = read_inventory(*inventories, compact=True)
    result = meter(inventory, prices, as_of, by_tags=by_tags, cur=cur)
    note = read_as_null_note(inventory)
    if note:  # an inventory written before some columns existed: said once, with the warnings
        result.warnings.append(note)
    write_metering(result, out)
    return result
