"""GB-months per backup and their sums per group (account, region, backup type, storage class).

The estimate is for the calendar month (UTC) that contains `as_of`, as a whole month: each backup
counts from max(created_at, month start) to min(delete_at, month end), where a backup present in the
inventory is taken to exist at least until `as_of` (so an overdue `delete_at` does not cut it short).
A warm backup with `move_to_cold_at` later in the month is split: warm until then, cold after; a
cold one is cold from at most `as_of`. Backups deleted before the inventory was collected are not in
it and so not counted; FAILED backups hold no storage and are skipped. GB means GiB (2^30 bytes) as
AWS bills storage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from auditor.metering.billing import GIB
from auditor.metering.encode import Encoded, Halves, Window, held
from auditor.metering.period import NAT, micros_of

# Bin-count sizes above which the grouping falls back to compacted keys / separate bincounts.
_DENSE_KEYS_MAX = 5_000_000
_FINE_BINS_MAX = 20_000_000

# One part of a backup's storage: (GB-months counted, storage class code, GB-months at full size).
Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def gb_month_parts(
    enc: Encoded, rp: pd.DataFrame, eff: np.ndarray | None, window: Window, halves: Halves
) -> list[Part]:
    """Each backup's GB-months this month as parts: one, or two for a backup moving to cold this
    month (warm until the move, cold after). `eff` is the chain's effective size (None: full)."""
    to_cold = micros_of(rp["move_to_cold_at"])
    cls3 = enc.cls3
    moving = (to_cold != NAT) & (cls3 != 2)
    scale = 1.0 / (GIB * float(window.end - window.start))  # GB-months per byte-microsecond
    if not moving.any():
        return [_single_part(enc, eff, scale, halves)]
    ms, me, now = window.start, window.end, window.now
    is_cold = cls3 == 1
    # still warm at as_of: warm at least until then; already cold: cold from as_of at the latest
    t = np.where(is_cold, np.clip(to_cold, ms, now), np.clip(to_cold, now, me))
    t = np.where(moving, t, np.where(is_cold, ms, me))
    start, stop = held(rp, window)
    warm_us = np.minimum(np.clip(np.minimum(stop, t) - start, 0, None), enc.dur)
    del start, stop
    warm_us[cls3 == 2] = 0
    per = enc.size * scale
    per_eff = per if eff is None else eff * scale
    # the warm part is the chain's; once cold (archived) a snapshot is a full copy
    cold_part = per * (enc.dur - warm_us)
    return [
        (per_eff * warm_us, np.zeros_like(cls3), per * warm_us),
        (cold_part, np.where(cls3 == 0, 1, cls3), cold_part),
    ]


def _single_part(enc: Encoded, eff: np.ndarray | None, scale: float, halves: Halves) -> Part:
    """GB-months when no backup changes class this month, on two threads."""
    size, dur = enc.size, enc.dur
    gbm = np.empty(enc.n)
    full = gbm if eff is None else np.empty(enc.n)

    def weigh(sl: slice) -> None:
        np.multiply(size[sl] if eff is None else eff[sl], dur[sl], out=gbm[sl])
        gbm[sl] *= scale
        if eff is not None:
            np.multiply(size[sl], dur[sl], out=full[sl])
            full[sl] *= scale

    halves(weigh)
    return (gbm, enc.cls3, full)


@dataclass
class Groups:
    """Sums per group and storage class; a group is (account, region, backup type, non-Aurora)."""

    gbm: np.ndarray  # (K, 3) GB-months counted
    upper: np.ndarray  # (K, 3) GB-months at full size
    count: np.ndarray  # (K, 3) valid backups
    unsized: np.ndarray  # (K, 3) valid backups without a size
    chained: np.ndarray  # (K, 3) backups counted as part of a chain
    present: np.ndarray  # (K, NB) valid backups per size basis
    part_keys: list[np.ndarray]  # per part, per row: group * 3 + class
    live: np.ndarray  # groups with backups (positions into the K axis)
    acct: np.ndarray  # per live group: account code, region code, backup type code, flag
    reg: np.ndarray
    bt: np.ndarray
    flag: np.ndarray


def _bincount(codes: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    return np.bincount(codes, weights=weights, minlength=size)[:size]


Sums = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _fused_sums(
    enc: Encoded, parts: list[Part], part_keys: list[np.ndarray], group: np.ndarray, n_keys: int
) -> Callable[[slice], Sums]:
    """The common case (dense keys, one part per backup, few size bases) in one pass: one index per
    (group, class, size basis) gives GB-months, counts and bases at once."""
    nb = len(enc.basis_u)
    k3_size = n_keys * 3
    any_unsized, any_failed = bool(enc.unsized.any()), bool((~enc.valid).any())
    w0, c0, f0 = parts[0]

    def sums(sl: slice) -> Sums:
        """Per (group, class): GB-months, full-size GB-months, backups, unsized; bases per group."""
        k3 = part_keys[0][sl]
        np.multiply(group[sl], 3, out=k3)
        k3 += c0[sl]
        # the group codes are not needed past this point: their memory holds the fine index
        fine = group[sl]
        np.multiply(k3, nb, out=fine)
        fine += enc.basis_c[sl]
        g = _bincount(fine, w0[sl], k3_size * nb).reshape(n_keys, 3, nb)
        counts = _bincount(fine, None, k3_size * nb)
        if any_failed:  # the few failed backups taken back out (faster than weighing every row)
            counts = counts - _bincount(fine[~enc.valid[sl]], None, k3_size * nb)
            counts = counts.astype(np.float64)  # as the sum weighted by validity was
        counts = counts.reshape(n_keys, 3, nb)
        uns = (
            _bincount(k3, enc.unsized[sl].astype(np.float64), k3_size)
            if any_unsized
            else np.zeros(k3_size)
        )
        g = g.sum(axis=2).ravel()
        gu = g if f0 is w0 else _bincount(k3, f0[sl], k3_size)
        return g, gu, counts.sum(axis=2).ravel(), uns, counts.sum(axis=1).ravel()

    return sums


def _general_sums(
    enc: Encoded, parts: list[Part], part_keys: list[np.ndarray], key: np.ndarray, n_keys: int
) -> Callable[[slice], Sums]:
    """Any number of parts, compacted keys, and separate bincounts when the bins would be many."""
    nb = len(enc.basis_u)
    k3_size = n_keys * 3
    fine = k3_size * nb <= _FINE_BINS_MAX
    any_unsized, any_failed = bool(enc.unsized.any()), bool((~enc.valid).any())

    def sums(sl: slice) -> Sums:
        """Per (group, class): GB-months, full-size GB-months, backups, unsized; bases per group."""
        k = key[sl]
        basis = enc.basis_c[sl]
        v = enc.valid[sl] if any_failed else None
        g = np.zeros(k3_size * nb) if fine else np.zeros(k3_size)
        gu = np.zeros(k3_size)
        for pk, (w, c, wf) in zip(part_keys, parts):
            k3 = k * 3
            k3 += c[sl]
            pk[sl] = k3
            if fine:
                g += _bincount(k3 * nb + basis, w[sl], k3_size * nb)
            else:
                g += _bincount(k3, w[sl], k3_size)
            gu += _bincount(k3, wf[sl], k3_size)
        key3 = part_keys[0][sl] if len(parts) == 1 else k * 3 + enc.cls3[sl]
        uns = (
            _bincount(key3, enc.unsized[sl].astype(np.float64), k3_size)
            if any_unsized
            else np.zeros(k3_size)
        )
        if fine:
            counts = _bincount(key3 * nb + basis, v, k3_size * nb).reshape(n_keys, 3, nb)
            g_by_basis = g.reshape(n_keys, 3, nb)
            return (
                g_by_basis.sum(axis=2).ravel(),
                gu,
                counts.sum(axis=2).ravel(),
                uns,
                counts.sum(axis=1).ravel(),
            )
        count = _bincount(key3, v, k3_size)
        present = _bincount(k * nb + basis, v, n_keys * nb)
        return g, gu, count, uns, present

    return sums


def group_sums(enc: Encoded, parts: list[Part], inc_idx: np.ndarray, halves: Halves) -> Groups:
    """Sum the parts per (group, storage class), on two threads."""
    n_regions, n_types = len(enc.reg_u), len(enc.bt_u)
    n_keys = len(enc.acct_u) * n_regions * n_types * 2
    nb = len(enc.basis_u)
    part_keys = [np.empty(enc.n, dtype=np.int64) for _ in parts]
    uniq_keys = None
    group = enc.group_codes(halves)
    if n_keys <= _DENSE_KEYS_MAX and len(parts) == 1 and n_keys * 3 * nb <= _FINE_BINS_MAX:
        sums = _fused_sums(enc, parts, part_keys, group, n_keys)
    else:
        key = group
        if n_keys > _DENSE_KEYS_MAX:  # too sparse for dense bincounts: compact the keys first
            uniq_keys, key = np.unique(key, return_inverse=True)
            n_keys = len(uniq_keys)
        sums = _general_sums(enc, parts, part_keys, key, n_keys)
    partial = halves(sums)
    enc.release_groups()  # the fused sums wrote over the group codes
    # Each half returns arrays, so these sums are arrays (never sum()'s int start value).
    g_gbm, g_upper, g_count, g_unsized, present = (
        cast(np.ndarray, sum(p[i] for p in partial)) for i in range(5)
    )
    k3_size = n_keys * 3
    chained = (
        np.bincount(part_keys[0][inc_idx], minlength=k3_size)[:k3_size]
        if len(inc_idx)
        else np.zeros(k3_size)
    )
    g_count = g_count.reshape(n_keys, 3)
    live = np.flatnonzero(g_count.sum(axis=1) > 0)
    dec = uniq_keys[live] if uniq_keys is not None else live
    rest = dec // 2
    return Groups(
        gbm=g_gbm.reshape(n_keys, 3),
        upper=g_upper.reshape(n_keys, 3),
        count=g_count,
        unsized=g_unsized.reshape(n_keys, 3),
        chained=chained.reshape(n_keys, 3),
        present=present.reshape(n_keys, nb),
        part_keys=part_keys,
        live=live,
        flag=dec % 2,
        bt=rest % n_types,
        reg=(rest // n_types) % n_regions,
        acct=(rest // n_types) // n_regions,
    )
