"""The column-wise paths of metering against straightforward computations of the same thing.

Chains, source look-ups and per-category string tests work on dictionary codes, on the chained rows
only and in two halves on two threads; these tests build a random inventory (plain strings and
categoricals, with the two-thread split forced on small inputs) and compare with plain pandas.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from auditor.inventory import Inventory
from auditor.metering import encode as encode_module
from auditor.metering import meter
from auditor.metering.chains import chain_sizes
from auditor.metering.costs import apportion_cents
from auditor.metering.encode import Halves, Window, encode
from auditor.metering.period import micros, month_bounds
from auditor.metering.sizes import settle_sizes
from auditor.metering.values import codes_among, per_value

_KINDS = [
    "ebs-snapshot",
    "storagegateway-snapshot",
    "rds-snapshot",
    "rds-cluster-snapshot",
    "dynamodb-backup",
    "efs-backup",
]
_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
_ACCOUNTS = ["111122223333", "444455556666"]


def _one_cent_at_a_time(values: np.ndarray, total_cents: int) -> np.ndarray:
    """Largest remainder, the remainder dealt one cent per step (the definition): values whose
    cents are further from the total than a cent each are first scaled to the total, and a cent
    is taken back only from a place that still has one."""
    scaled = np.asarray(values, dtype=float) * 100.0
    floor = np.floor(scaled + 1e-9).astype(np.int64)
    if scaled.sum() > 0 and abs(total_cents - floor.sum()) > len(values):
        scaled = scaled * (total_cents / scaled.sum())
        floor = np.floor(scaled + 1e-9).astype(np.int64)
    rest = int(total_cents - floor.sum())
    frac = scaled - floor
    if rest > 0:
        order = np.argsort(-frac, kind="stable")
        for i in range(rest):
            floor[order[i % len(order)]] += 1
    else:
        order = list(np.argsort(frac, kind="stable"))
        step = 0
        while rest < 0:
            i = order[step % len(order)]
            step += 1
            if floor[i] > 0:
                floor[i] -= 1
                rest += 1
    return floor


def test_apportion_cents_deals_any_remainder_as_one_cent_at_a_time_would():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(1, 7))
        values = np.round(rng.exponential(rng.choice([0.01, 1.0, 50.0]), n), 4)
        values[rng.random(n) < 0.3] = 0.0
        # totals near the values' sum, and far from it (weights that are not USD)
        total = max(0, round(values.sum() * 100) + int(rng.choice([0, 1, -1, 997, -5003, 20011])))
        if values.sum() == 0 and total:
            continue  # nothing to weigh a positive total by
        expected = _one_cent_at_a_time(values, total)
        got = apportion_cents(values, total)
        assert got.tolist() == expected.tolist()
        assert int(got.sum()) == total
        assert (got >= 0).all()


def test_apportion_cents_shares_a_smaller_total_in_proportion_never_below_zero():
    # a row's cost after its free allowance, shared by its pieces' costs before it
    got = apportion_cents(np.array([0.01, 10.0, 30.0]), 100)
    assert got.tolist() == [0, 25, 75]
    # weights in GB-months, not USD: a larger total is shared in proportion, not evenly
    got = apportion_cents(np.array([1.0, 1000.0]), 1_001_000)
    assert got.tolist() == [1_000, 1_000_000]


def _random_inventory(mk, n_backups: int, seed: int) -> Inventory:
    """Backups of every kind over a few resources (some gone, some without a source ARN), in
    several accounts, regions, classes and states, sizes with many ties."""
    rng = np.random.default_rng(seed)
    sources = []
    for i in range(40):
        kind = _KINDS[i % len(_KINDS)]
        first = mk.backup(
            kind,
            1,
            region=_REGIONS[i % len(_REGIONS)],
            account=_ACCOUNTS[i % len(_ACCOUNTS)],
        )
        sources.append((kind, first))
    backups = []
    for _ in range(n_backups):
        kind, first = sources[int(rng.integers(len(sources)))]
        copy_elsewhere = rng.random() < 0.1  # a copy in another region: a chain of its own
        region = _REGIONS[int(rng.integers(len(_REGIONS)))] if copy_elsewhere else first["region"]
        cls = str(rng.choice(["warm", "warm", "cold"] if kind != "rds-snapshot" else ["warm"]))
        day = int(rng.integers(1, 28))
        rec = mk.backup(
            kind,
            int(rng.choice([10, 20, 20, 35])),
            region=region,
            account=first["account_id"],
            resource_arn=first["resource_arn"],
            storage_class=cls,
            status="FAILED" if rng.random() < 0.05 else "COMPLETED",
            created_at=f"2026-10-{day:02d}T00:00:00Z",
            source=str(rng.choice(["native", "aws-backup"])),
        )
        if rng.random() < 0.03:
            rec["resource_arn"] = None  # no source ARN: never chained
        backups.append(rec)
    kept = [first for _, first in sources[: len(sources) - 8]]  # the last 8 sources are gone
    resources = [mk.resource_for(b) for b in kept]
    for r, (kind, _) in zip(resources, sources):
        if kind == "rds-cluster-snapshot":
            r["engine"] = "postgres" if len(r["resource_id"]) % 2 else "aurora-postgresql"
            r["size_bytes"] = 50 * mk.GiB
            r["size_basis"] = "VolumeBytesUsed"
        elif kind == "rds-snapshot":
            r["engine"] = "mysql"
            r["size_bytes"] = 40 * mk.GiB
    return mk.inventory(backups, resources=resources)


def _categorical(values: pd.Series) -> pd.Series:
    """Categories in order of first appearance, as Arrow's dictionary encoding gives them (the
    order of the codes decides the order of the rows, and so which row a tied cent goes to)."""
    return pd.Series(pd.Categorical(values, categories=pd.unique(values.dropna())))


def _compact(inv: Inventory) -> Inventory:
    """The same inventory with its repeated strings as categoricals (as a compact read gives)."""
    tables = dict(inv.tables)
    rp = tables["recovery_points"].copy()
    for column in ("account_id", "region", "resource_arn", "backup_type", "storage_class"):
        rp[column] = _categorical(rp[column])
    for column in ("status", "size_basis", "created_by", "resource_type"):
        rp[column] = _categorical(rp[column])
    tables["recovery_points"] = rp
    res = tables["resources"].copy()
    for column in ("account_id", "region", "engine", "state", "resource_type"):
        res[column] = _categorical(res[column])
    tables["resources"] = res
    return Inventory(tables=tables, manifest=inv.manifest)


def _effective_sizes(inv: Inventory, mk, prices, pool: ThreadPoolExecutor):
    start, end = month_bounds(mk.AS_OF)
    window = Window(micros(start), micros(end), micros(mk.AS_OF))
    rp, resources = inv.recovery_points, inv.resources
    enc = encode(rp, resources, window, pool, [])
    settle_sizes(enc, resources, [])
    halves = Halves(pool, len(rp))
    eff, chained = chain_sizes(enc, rp, len(resources), prices.change_ratio, halves)
    return enc, eff, chained


def _pandas_chains(inv: Inventory, enc, ratios: dict[str, float]) -> np.ndarray:
    """Effective sizes by a pandas group-by: per (source ARN, account, region, type, variant) of
    the warm valid backups of a chaining service, the first largest counts in full, the rest at
    the ratio."""
    from auditor.metering.billing import BACKUP_TYPES
    from auditor.metering.chains import FULL_COPIES

    rp = inv.recovery_points
    types = [enc.bt_u[c] for c in enc.bt_c]
    flag = np.zeros(enc.n, dtype=int) if enc.flag is None else enc.flag.astype(int)
    service = [
        "RDS" if (t == "rds-cluster-snapshot" and f) else BACKUP_TYPES.get(t, (None,))[0]
        for t, f in zip(types, flag)
    ]
    ratio = np.array(
        [ratios[s] if s in ratios and s not in FULL_COPIES else np.nan for s in service]
    )
    df = pd.DataFrame(
        {
            "arn": rp["resource_arn"].astype(object).to_numpy(),
            "account": rp["account_id"].astype(object).to_numpy(),
            "region": rp["region"].astype(object).to_numpy(),
            "type": types,
            "flag": flag,
            "size": enc.size,
            "ratio": ratio,
        }
    )
    chained = (
        enc.valid & (enc.cls3 == 0) & ~np.isnan(ratio) & df["arn"].notna().to_numpy(dtype=bool)
    )
    eff = enc.size.copy()
    part = df[chained]
    keys = ["arn", "account", "region", "type", "flag"]
    largest = part.groupby(keys)["size"].transform("max")
    is_largest = part["size"] == largest
    first_largest = is_largest & (
        is_largest.astype(int).groupby([part[k] for k in keys]).cumsum() == 1
    )
    positions = np.flatnonzero(chained)
    eff[positions] = np.where(first_largest, part["size"], part["ratio"] * part["size"])
    return eff


@pytest.mark.parametrize("compact", [False, True])
def test_chains_equal_a_pandas_group_by_on_a_random_inventory(mk, prices, monkeypatch, compact):
    monkeypatch.setattr(encode_module, "_PARALLEL_MIN_ROWS", 2)  # two halves on two threads
    inv = _random_inventory(mk, 1500, seed=3)
    if compact:
        inv = _compact(inv)
    with ThreadPoolExecutor(max_workers=2) as pool:
        enc, eff, chained = _effective_sizes(inv, mk, prices, pool)
    expected = _pandas_chains(inv, enc, prices.change_ratio)
    assert eff is not None and len(chained) > 100
    np.testing.assert_array_equal(eff, expected)


def test_metering_with_two_threads_and_codes_equals_one_thread_and_strings(mk, prices, monkeypatch):
    inv = _random_inventory(mk, 1500, seed=11)
    single = meter(inv, prices, mk.AS_OF).to_dict()
    monkeypatch.setattr(encode_module, "_PARALLEL_MIN_ROWS", 2)
    split = meter(_compact(inv), prices, mk.AS_OF).to_dict()
    assert split["orphans"] and split["rows"]
    assert split == single


def test_per_category_tests_and_codes_equal_the_plain_column():
    plain = pd.Series(["aurora-mysql", None, "Postgres", "AURORA", "mysql", None], dtype="str")
    test = lambda s: s.astype("str").fillna("").str.lower().str.startswith("aurora")  # noqa: E731
    expected = [True, False, False, True, False, False]
    assert per_value(plain, test).tolist() == expected
    assert per_value(plain.astype("category"), test).tolist() == expected
    values = ["mysql", "aurora-mysql"]
    assert codes_among(plain, values).tolist() == [1, -1, -1, -1, 0, -1]
    assert codes_among(plain.astype("category"), values).tolist() == [1, -1, -1, -1, 0, -1]
