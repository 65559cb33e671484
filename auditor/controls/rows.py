"""Findings rows at scale: the canonical order sorted on integer codes, the text made per batch.

A check's verdicts are compact `Part`s (resource numbers, plan and status codes, evidence
columns). The findings files need them as text rows in one canonical order: account, region,
resource ARN, control (in the registry's order), plan, status, severity, resource type, then
detail and evidence, nulls first. Sorting millions of text rows would hold all of their text at
once, so the order is computed on codes instead: every key column is ranked once over its few
distinct values (the ranks sort as the strings do; account, region and ARN together, per
resource), the ranks of a row and its number are packed into one 64-bit key, and the keys are
sorted. Only rows whose keys are equal are ordered by their detail
and evidence text, made for those rows alone. `FindingRows.batches` then makes the text columns
of one batch of rows at a time, in that order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.controls.context import Context
from auditor.controls.evidence import arrow_text, evidence_json
from auditor.controls.verdicts import FAIL, NOT_APPLICABLE, NOT_ASSESSED, STATUSES, WAIVED, Part
from auditor.findings import COLUMNS, TYPED_COLUMNS, typed_schema
from auditor.owners import owner_columns, owner_tag_arrays
from auditor.policy.columns import arrow_of

__all__ = ["ROW_SCHEMA", "FindingRows"]

# The fixed findings columns as text; a check's rows add its owner-tag columns after them
# (`FindingRows.schema`), which is what each batch holds (the writers take them typed instead:
# `auditor.findings.typed_schema`, which findings.parquet stores).
ROW_SCHEMA = pa.schema([(c, pa.string()) for c in COLUMNS])
# Columns that name where a finding is: taken from the resource table, or carried by the row.
_PLACE_COLUMNS = ("account_id", "region", "resource_arn", "resource_type")
# Columns kept dictionary-encoded in typed batches, for the file writers (auditor.findings).
_TYPED = frozenset(TYPED_COLUMNS)
# Bits of one packed sort key (a uint64); wider keys are sorted column by column instead.
_KEY_BITS = 64
# Rows handled per step where the order would otherwise make whole 64-bit columns (8 MB each).
_CHUNK = 1 << 20
# Threads that make batches of text ahead of the writer (at most one batch more is held).
_TEXT_THREADS = 2
# Statuses that call for a change, and so carry a remediation (other rows leave it null).
_ACTIONABLE = (FAIL, WAIVED, NOT_ASSESSED)
# What to do about a finding that could not be assessed: the data is missing, not the protection.
_NOT_ASSESSED_REMEDIATION = (
    "Grant the auditing role the permission the failed call needs (see evidence.collection_error),"
    " or fix the account or region it failed in, then run again."
)


class FindingRows:
    """The findings rows of one check's parts: their canonical order, and their text by batch."""

    def __init__(self, parts: list[Part], ctx: Context):
        self.parts = [p for p in parts if len(p.frame)]
        self.ctx = ctx
        self.total = sum(len(p.frame) for p in self.parts)
        self._places = {c: _resource_column(ctx, c) for c in _PLACE_COLUMNS}
        self._names = _resource_names(ctx)
        # owner-tag columns per resource, made once (each batch takes its rows from them)
        self._owner_tags = _owner_tags(ctx)
        self.columns: tuple[str, ...] = COLUMNS + tuple(self._owner_tags)
        self.schema = _schema(self.columns)
        self._plan_names = pa.array([p.name for p in ctx.plans], pa.string())
        self._order: tuple[np.ndarray, np.ndarray] | None = None

    # --- the canonical order ----------------------------------------------------------------------

    def order(self) -> tuple[np.ndarray, np.ndarray]:
        """(part number, row within the part) of every finding, in the canonical order."""
        if self._order is None:
            self._order = self._sorted()
        return self._order

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        keys = self._key_columns()
        key_bits = sum(width for width, _ in keys)
        row_bits = max(int(self.total).bit_length(), 1)
        # At 20M findings each 64-bit column is 160 MB: the step holds at most two at a time
        # (the row numbers are no third one: they are read back from the sorted keys).
        if key_bits + row_bits <= _KEY_BITS:
            # Each row's number in the low bits makes every key unique, so sorting the keys
            # themselves (a sixth of a stable argsort's time) gives the stable order: the
            # number is read back from the sorted keys.
            packed = self._packed(keys)
            packed <<= np.uint64(row_bits)
            for start in range(0, self.total, _CHUNK):
                stop = min(start + _CHUNK, self.total)
                packed[start:stop] |= np.arange(start, stop, dtype=np.uint64)
            packed.sort()
            numbers = packed & np.uint64((1 << row_bits) - 1)
            packed >>= np.uint64(row_bits)
            same = packed[1:] == packed[:-1]
            del packed
            order: np.ndarray = numbers.view(np.int64)  # row numbers < 2**63: the same bits
        elif key_bits <= _KEY_BITS:
            packed = self._packed(keys)
            order = np.argsort(packed, kind="stable")
            packed = packed[order]
            same = packed[1:] == packed[:-1]
            del packed
        else:  # too many distinct values to pack: sort on the columns themselves
            columns = [make() for _, make in keys]
            order = np.lexsort(columns[::-1])
            same = np.ones(max(self.total - 1, 0), dtype=bool)
            for column in columns:
                ranked = column[order]
                same &= ranked[1:] == ranked[:-1]
            del columns
        part_of, row_of = self._part_and_row(order)
        del order
        if same.any():
            self._break_ties(part_of, row_of, same)
        return part_of, row_of

    def _part_and_row(self, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's part and its number in that part, from its number among all the rows; a
        chunk at a time, so no 64-bit column but `order` itself is held at 20M findings."""
        sizes = np.array([len(p.frame) for p in self.parts], dtype=np.int64)
        ends = np.cumsum(sizes)
        starts = ends - sizes
        part_of = np.empty(len(order), dtype=np.int16)
        row_of = np.empty(len(order), dtype=np.int32)
        for start in range(0, len(order), _CHUNK):
            numbers = order[start : start + _CHUNK]
            parts = np.searchsorted(ends, numbers, side="right")
            part_of[start : start + _CHUNK] = parts
            row_of[start : start + _CHUNK] = numbers - starts[parts]
        return part_of, row_of

    def _packed(self, keys: list[tuple[int, Callable[[], np.ndarray]]]) -> np.ndarray:
        """The key columns packed into one 64-bit key per row, most significant first."""
        # One key column at a time is made and folded in: at 20M findings each is 80 MB.
        packed = np.zeros(self.total, dtype=np.uint64)
        for width, make in keys:
            packed <<= np.uint64(width)
            key = make()
            # ranks are never negative: an int32 column is folded in as it is, not copied wider
            packed |= key.view(np.uint32) if key.dtype == np.int32 else key.astype(np.uint64)
        return packed

    def _key_columns(self) -> list[tuple[int, Callable[[], np.ndarray]]]:
        """Per sort key, most significant first: its bit width, and how to make every row's rank
        (0 = null; ranks sort as the text does). Severity is no key: the control decides it, and
        the control comes first."""
        from auditor.controls.registry import REGISTRY

        def per_part(values: Callable[[Part], np.ndarray]) -> Callable[[], np.ndarray]:
            return lambda: np.concatenate(
                [values(p).astype(np.int32) for p in self.parts] or [np.empty(0, np.int32)]
            )

        def width(top: int) -> int:
            return max(int(top).bit_length(), 1)

        keys = self._where_keys()
        registered = list(REGISTRY)
        ids = sorted(
            {p.control_id for p in self.parts},
            key=lambda c: (1, registered.index(c), c) if c in registered else (0, 0, c),
        )
        keys.append(
            (
                width(len(ids)),
                per_part(lambda p: np.full(len(p.frame), ids.index(p.control_id) + 1)),
            )
        )
        plan_rank = _ranks([p.name for p in self.ctx.plans])
        keys.append(
            (
                width(len(plan_rank)),
                per_part(lambda p: plan_rank[p.frame["plan"].to_numpy().astype(np.int64)]),
            )
        )
        status_rank = _ranks(list(STATUSES))
        keys.append(
            (
                width(8),
                per_part(lambda p: status_rank[p.frame["status"].to_numpy().astype(np.int64)]),
            )
        )
        keys.append(self._place_key("resource_type"))
        return keys

    def _where_keys(self) -> list[tuple[int, Callable[[], np.ndarray]]]:
        """The keys account, region and ARN: as one key when their ranks pack into 63 bits
        (always, in practice): the rank of each distinct (account, region, ARN) among those of
        the resources and the rows' own, made per resource once instead of per row thrice."""
        ranked = [self._place_ranks(col) for col in ("account_id", "region", "resource_arn")]
        if sum(width for width, _, _ in ranked) >= _KEY_BITS:
            return [self._place_key(col) for col in ("account_id", "region", "resource_arn")]
        by_resource = np.zeros(self.ctx.n, dtype=np.int64)
        own: list[np.ndarray | None] = [None] * len(self.parts)
        for width, resource_ranks, own_ranks in ranked:
            by_resource = (by_resource << width) | resource_ranks
            for k, ranks in enumerate(own_ranks):
                if ranks is not None:
                    before = own[k]
                    high = before if before is not None else np.zeros(len(ranks), np.int64)
                    own[k] = (high << width) | ranks
        values, inverse = np.unique(
            np.concatenate([by_resource, *[o for o in own if o is not None]]), return_inverse=True
        )
        at = inverse.astype(np.int32) + 1  # ranks from 1, as every key's
        resource_at, offset = at[: self.ctx.n], self.ctx.n
        own_at: list[np.ndarray | None] = []
        for o in own:
            own_at.append(None if o is None else at[offset : offset + len(o)])
            offset += 0 if o is None else len(o)

        return [
            (max(len(values).bit_length(), 1), lambda: _rows_ranks(self.parts, resource_at, own_at))
        ]

    def _place_ranks(self, col: str) -> tuple[int, np.ndarray, list[np.ndarray | None]]:
        """`col`'s ranks among every value of it (resources' and rows' own; 0 = null): its bit
        width, each resource's rank, and per part the ranks of its rows (None for a part whose
        rows are all about resources; the ranks of rows about a resource are not used)."""
        width, rank = self._place_rank_of(col)
        resource_values = self._places[col]
        by_resource = np.zeros(self.ctx.n, dtype=np.int64)
        if self.ctx.n:
            codes = resource_values.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            # a null code (-1) takes the last slot, rank 0: nulls sort first
            by_resource = np.append(rank(resource_values.dictionary), 0)[codes].astype(np.int64)
        own: list[np.ndarray | None] = []
        for part in self.parts:
            about_backups = (part.frame["ridx"].to_numpy() < 0).any()
            own.append(rank(_own_text(part.frame, col)).astype(np.int64) if about_backups else None)
        return width, by_resource, own

    def _place_rank_of(self, col: str) -> tuple[int, Callable[[pa.Array], np.ndarray]]:
        """The bit width of `col`'s ranks among every value of it (resources' and rows' own),
        and how to rank text by them (0 = null or unknown)."""
        resource_values = self._places[col]
        own = [
            _own_text(p.frame, col) for p in self.parts if (p.frame["ridx"].to_numpy() < 0).any()
        ]
        pieces = [resource_values.dictionary] + [pc.unique(o) for o in own if len(o)]
        values = pc.unique(pa.concat_arrays([x.cast(pa.string()) for x in pieces]).drop_null())
        values = values.take(pc.array_sort_indices(values))

        def rank(text: pa.Array) -> np.ndarray:
            found = pc.index_in(text, value_set=values).fill_null(-1)
            return np.asarray(found.to_numpy(zero_copy_only=False), np.int32) + 1

        return max(len(values).bit_length(), 1), rank

    def _place_key(self, col: str) -> tuple[int, Callable[[], np.ndarray]]:
        """The bit width of `col`'s ranks among every value of it (resources' and rows' own), and
        how to make each row's rank."""
        width, by_resource, own = self._place_ranks(col)
        return width, lambda: _rows_ranks(self.parts, by_resource, own)

    def _break_ties(self, part_of: np.ndarray, row_of: np.ndarray, same: np.ndarray) -> None:
        """Order the rows whose keys are equal by detail, then evidence (nulls first), in place."""
        first = np.zeros(len(part_of), dtype=bool)
        first[1:] = same
        first[:-1] |= same
        tied = np.flatnonzero(first)  # every row of a run of equal keys
        starts = np.ones(len(tied), dtype=bool)
        starts[1:] = ~same[tied[1:] - 1]
        run = np.cumsum(starts)
        texts = self._rows_text(part_of[tied], row_of[tied], ("detail", "evidence"))
        table = pa.table({"run": run, "detail": texts["detail"], "evidence": texts["evidence"]})
        keys = [(c, "ascending", "at_start") for c in ("run", "detail", "evidence")]
        within = pc.sort_indices(table, sort_keys=keys).to_numpy()
        part_of[tied] = part_of[tied][within]
        row_of[tied] = row_of[tied][within]

    # --- the text, a batch at a time ---------------------------------------------------------------

    def batches(self, batch_rows: int, typed: bool = False) -> Iterator[pa.RecordBatch]:
        """The findings rows (`schema`) in canonical order, `batch_rows` at a time; one empty
        batch when there are none (it still carries the columns).

        `typed`: the columns of few distinct values stay dictionary-encoded as they are made
        (`auditor.findings.typed_schema`), for the file writers; by default every column is text.
        """
        part_of, row_of = self.order()
        if not self.total:
            yield _empty_batch(typed_schema(self.columns) if typed else self.schema)
            return

        def make(start: int) -> pa.RecordBatch:
            return self._rows_text(
                part_of[start : start + batch_rows],
                row_of[start : start + batch_rows],
                typed=typed,
            )

        starts = range(0, self.total, batch_rows)
        # The first batch alone: it builds most of the whole-inventory tables the texts share.
        yield make(starts[0])
        # The others on threads, kept in order: Arrow's kernels and the file writers release the
        # GIL, so on two cores one batch's text is made while another's is made or written.
        with ThreadPoolExecutor(max_workers=_TEXT_THREADS) as pool:
            pending: deque[Future[pa.RecordBatch]] = deque()
            for start in starts[1:]:
                pending.append(pool.submit(make, start))
                if len(pending) > _TEXT_THREADS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _rows_text(
        self,
        part_of: np.ndarray,
        row_of: np.ndarray,
        columns: tuple[str, ...] | None = None,
        typed: bool = False,
    ) -> pa.RecordBatch:
        """The text of the given rows, in the order given (every column of `schema` by default;
        with `typed`, the columns of few values dictionary-encoded: `typed_schema`).

        Only what a control writes itself (detail, evidence, remediation, and the place of a row
        about a backup) is made part by part and interleaved; every column that comes from codes
        (place, names and owner tags by resource number, control, severity, status, plan) is made
        once for all the rows.
        """
        columns = self.columns if columns is None else columns
        schema = typed_schema(columns) if typed else _schema(columns)
        n = len(part_of)
        if not n:
            return _empty_batch(schema)
        ridx = np.empty(n, dtype=np.int64)
        status = np.empty(n, dtype=np.int64)
        plan = np.empty(n, dtype=np.int32)
        own: dict[str, list[pa.Array]] = {}
        positions = []
        for k in np.unique(part_of):
            at = np.flatnonzero(part_of == k)
            positions.append(at)
            part = self.parts[int(k)]
            f = part.frame.iloc[row_of[at]].reset_index(drop=True)
            ridx[at] = f["ridx"].to_numpy()
            status[at] = f["status"].to_numpy()
            plan[at] = f["plan"].to_numpy()
            for name, values in self._control_text(part, f, status[at], columns).items():
                own.setdefault(name, []).append(values)
        where = np.empty(n, dtype=np.int64)
        if positions:
            where[np.concatenate(positions)] = np.arange(n)
        back = pa.array(where)
        made = {name: _joined(pieces).take(back) for name, pieces in own.items()}
        if not typed and "remediation" in made:
            made["remediation"] = made["remediation"].cast(pa.string())
        cols = self._code_columns(part_of, ridx, status, plan, made, columns, typed)
        return pa.RecordBatch.from_arrays([cols[c] for c in columns], schema=schema)

    def part_text(
        self, part: Part, rows: np.ndarray | None = None, columns: tuple[str, ...] | None = None
    ) -> pa.Table:
        """The findings columns (as text) of `rows` of one part (every row when None); every
        column of `schema` unless `columns` are named."""
        rows = np.arange(len(part.frame)) if rows is None else np.asarray(rows)
        k = next(i for i, p in enumerate(self.parts) if p is part)
        batch = self._rows_text(np.full(len(rows), k, dtype=np.int16), rows, columns)
        return pa.Table.from_batches([batch])

    def _control_text(
        self, part: Part, f: pd.DataFrame, status: np.ndarray, columns: tuple[str, ...]
    ) -> dict[str, pa.Array]:
        """The columns of the part's rows `f` that its control writes: detail, evidence,
        remediation, and the place of rows about a backup rather than a resource."""
        ctx = self.ctx
        cols: dict[str, pa.Array] = {}
        about_backups = bool((f["ridx"].to_numpy() < 0).any())
        for col in _PLACE_COLUMNS:
            if col in columns:
                cols["own." + col] = (
                    _own_text(f, col) if about_backups else pa.nulls(len(f), pa.string())
                )
        if "detail" in columns:
            cols["detail"] = arrow_text(_details(part, f, status, ctx))
        if "evidence" in columns:
            cols["evidence"] = evidence_json(_evidence(part, f, ctx))
        if "remediation" in columns:
            cols["remediation"] = _remediation(part, f, ctx, status)
        return cols

    def _code_columns(
        self,
        part_of: np.ndarray,
        ridx: np.ndarray,
        status: np.ndarray,
        plan: np.ndarray,
        made: dict[str, pa.Array],
        columns: tuple[str, ...],
        typed: bool = False,
    ) -> dict[str, pa.Array]:
        """Every column of the rows: the ones made from codes, and those `made` by the controls.

        As text; with `typed`, the columns of few values stay dictionary arrays (their codes
        taken, no text made per row)."""
        from auditor.controls.registry import REGISTRY

        text = _as_text if not typed else _as_typed
        n = len(part_of)
        cols: dict[str, Any] = {
            c: made[c] for c in ("detail", "evidence", "remediation") if c in made
        }
        has = ridx >= 0
        safe = pa.array(np.maximum(ridx, 0))
        for col in _PLACE_COLUMNS:
            if col not in columns:
                continue
            own = made["own." + col]
            if not self.ctx.n:
                cols[col] = own
            elif typed and col in _TYPED and own.null_count == len(own):
                cols[col] = _masked(self._places[col], safe, ~has)  # every row is a resource's
            else:
                cols[col] = pc.if_else(
                    pa.array(has), self._places[col].take(safe).cast(pa.string()), own
                )
        if "resource_name" in columns:
            cols["resource_name"] = (
                _masked(self._names, safe, ~has).cast(pa.string())
                if self._names is not None
                else pa.nulls(n, pa.string())
            )
        for name, per_resource in self._owner_tags.items():
            if name in columns:
                cols[name] = text(
                    _masked(per_resource, safe, ~has) if len(per_resource) else pa.nulls(n)
                )
        codes = pa.array(part_of.astype(np.int32))
        if "control_id" in columns:
            cols["control_id"] = text(_spread([p.control_id for p in self.parts], codes))
        if "severity" in columns:
            severities = [REGISTRY[p.control_id].severity for p in self.parts]
            cols["severity"] = text(_spread(severities, codes))
        if "status" in columns:
            cols["status"] = text(_spread(list(STATUSES), pa.array(status.astype(np.int32))))
        if "plan" in columns:
            cols["plan"] = (
                text(
                    pa.DictionaryArray.from_arrays(pa.array(plan, mask=plan < 0), self._plan_names)
                )
                if len(self._plan_names)
                else pa.nulls(n, pa.string())
            )
        return {c: _as_typed(v) if typed and c in _TYPED else v for c, v in cols.items()}


def _rows_ranks(
    parts: list[Part], by_resource: np.ndarray, own: list[np.ndarray | None]
) -> np.ndarray:
    """Every row's rank, part after part: its resource's, or for a row about a backup (no
    resource) the part's own rank of that row (`own`, None for a part with no such rows)."""
    out = []
    for part, mine in zip(parts, own):
        ridx = part.frame["ridx"].to_numpy()
        from_resource = by_resource[np.maximum(ridx, 0)] if len(by_resource) else 0
        out.append(from_resource if mine is None else np.where(ridx >= 0, from_resource, mine))
    return np.concatenate(out or [np.empty(0, np.int32)]).astype(np.int32, copy=False)


def _masked(per_resource: pa.DictionaryArray, safe: pa.Array, none: np.ndarray) -> pa.Array:
    """Each row's value of a dictionary-encoded per-resource column, still dictionary-encoded:
    its code taken by resource number, null where `none` (rows about no resource)."""
    codes = per_resource.indices.take(safe)
    if none.any():
        codes = pc.if_else(pa.array(none), pa.scalar(None, codes.type), codes)
    return pa.DictionaryArray.from_arrays(codes, per_resource.dictionary)


def _spread(texts: list[str], codes: pa.Array) -> pa.DictionaryArray:
    """Each row's text by its code into `texts`, as a dictionary array of each text once
    (parts of several controls share a severity)."""
    values, at = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return pa.DictionaryArray.from_arrays(
        pa.array(at.astype(np.int32)).take(codes), pa.array(values, pa.string())
    )


def _as_text(values: pa.Array) -> pa.Array:
    return values.cast(pa.string())


def _as_typed(values: pa.Array) -> pa.Array:
    """A column of few values as `typed_schema` holds it: dictionary<int32, string>."""
    return values if values.type == _DICTIONARY else pc.dictionary_encode(values.cast(pa.string()))


def _joined(pieces: list[pa.Array]) -> pa.Array:
    """The pieces of one column, one after the other; dictionary pieces as one dictionary array
    with each distinct value once (a piece's own dictionary may repeat a text too)."""
    if not pa.types.is_dictionary(pieces[0].type):
        return pa.concat_arrays(pieces)
    values = pc.dictionary_encode(pa.concat_arrays([p.dictionary for p in pieces]))
    offsets = np.cumsum([0] + [len(p.dictionary) for p in pieces[:-1]])
    positions = pa.concat_arrays(
        [pc.add(p.indices.cast(pa.int64()), int(o)) for p, o in zip(pieces, offsets)]
    )
    return pa.DictionaryArray.from_arrays(
        values.indices.take(positions).cast(pa.int32()), values.dictionary
    )


def _schema(columns: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in columns])


# The type typed_schema gives the columns of few values (dictionary<int32, string>).
_DICTIONARY = typed_schema().field(TYPED_COLUMNS[0]).type


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def _owner_tags(ctx: Context) -> dict[str, pa.Array]:
    """Per owner-tag column of the check (`tag_<key>`, auditor.owners), every resource's value,
    dictionary-encoded (few owners, many resources); empty arrays when there are no resources."""
    if not ctx.n:
        return {name: pa.array([], pa.string()) for name in owner_columns(ctx.owner_tags)}
    every = np.arange(ctx.n, dtype=np.int64)
    arrays = owner_tag_arrays(ctx.view, ctx.inventory["tags"], ctx.owner_tags, every)
    return {name: pc.dictionary_encode(values) for name, values in arrays.items()}


def _ranks(names: list[str]) -> np.ndarray:
    """Rank + 1 of each name in sorted order, indexable by code; code -1 (the last slot) ranks 0."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    out = np.zeros(len(names) + 1, dtype=np.int64)
    for rank, i in enumerate(order):
        out[i] = rank + 1
    return out


def _resource_column(ctx: Context, col: str) -> pa.DictionaryArray:
    """A resource table column dictionary-encoded once (rows take from it by resource number)."""
    if not ctx.n:
        return pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array([], pa.string()))
    values = arrow_of(ctx.res[col])
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values.cast(pa.string()))
    if values.dictionary.type != pa.string():
        values = pa.DictionaryArray.from_arrays(values.indices, values.dictionary.cast(pa.string()))
    return values


def _resource_names(ctx: Context) -> pa.DictionaryArray | None:
    """Every resource's `Name` tag as a dictionary array (null without one)."""
    if not ctx.n:
        return None
    codes, categories = ctx.view.codes("Name")  # factorised once per check (TagView caches)
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(list(categories), pa.string())
    )


def _own_text(frame: pd.DataFrame, col: str) -> pa.Array:
    """A place column the rows carry themselves (rows about a backup), as text; null if absent."""
    if col not in frame:
        return pa.nulls(len(frame), pa.string())
    return arrow_text(frame[col].to_numpy(dtype=object, na_value=None))


def _details(part: Part, f: pd.DataFrame, status: np.ndarray, ctx: Context) -> pa.Array:
    """The one-sentence detail per row: the control's own, or why it was not applicable/assessed,
    with the waiver that applied. Arrow throughout: the reasons are spread from one text each."""
    from auditor.controls.text import by_code

    n = len(f)
    about = f["na_reason"].to_numpy() if "na_reason" in f else np.full(n, -1)
    err = f["na_error"].to_numpy() if "na_error" in f else np.full(n, -1)
    not_applicable = (status == NOT_APPLICABLE) & (about >= 0)
    not_assessed = (status == NOT_ASSESSED) & (err >= 0)
    # The control describes only the rows it decided: about half of all findings are not
    # applicable, and their text says why instead.
    own = ~(not_applicable | not_assessed)
    if own.all():
        detail = _text_array(part.describe(f, ctx))
    else:
        pieces = []
        if own.any():
            said = _text_array(part.describe(f[own].reset_index(drop=True), ctx))
            pieces.append(said.take(pa.array(np.cumsum(own) - 1, mask=~own)))
        if not_applicable.any():
            reasons = [f"Not applicable: {r}." for r in ctx.scope_reason]
            pieces.append(by_code(reasons, np.where(not_applicable, about, -1)))
        if not_assessed.any():
            errors = np.unique(err[not_assessed])
            texts: list[str | None] = [None] * (int(errors.max()) + 1)
            for i in errors:
                texts[i] = (
                    f"Not assessed: {ctx.error_text(i)}, so the data this control needs is"
                    " incomplete."
                )
            pieces.append(by_code(texts, np.where(not_assessed, err, -1)))
        # each row has a text in one piece only (the kinds of rows do not overlap)
        detail = pc.coalesce(*pieces) if len(pieces) > 1 else pieces[0]
    if "waiver" in f:
        waivers = ctx.policies.waivers
        w = f["waiver"].to_numpy()
        waived = (status == WAIVED) & (w >= 0)
        if waived.any():
            tails = [f" Waived until {x.expires_text}: {x.reason}" for x in waivers]
            # a row without a waiver has a null tail, which the join skips
            detail = pc.binary_join_element_wise(
                detail, by_code(tails, np.where(waived, w, -1)), "", null_handling="skip"
            )
    return detail


def _text_array(values: Any) -> pa.Array:
    """Texts a control made (Arrow, pandas or NumPy) as one Arrow string array."""
    text = arrow_text(values)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _evidence(part: Part, f: pd.DataFrame, ctx: Context) -> dict[str, Any]:
    """The evidence columns of the rows, by name in order: the part's own, its hook's, failed
    calls and waivers (Series, arrays, or Arrow arrays: the JSON writer takes each as it is)."""
    waivers = ctx.policies.waivers
    n = len(f)
    ev: dict[str, Any] = {c[3:]: f[c].reset_index(drop=True) for c in f.columns if c[:3] == "ev."}
    if part.evidence_hook is not None:
        for name, values in part.evidence_hook(f, ctx).items():
            if isinstance(values, pd.Series):
                values = values.reset_index(drop=True)
            elif values is None or np.isscalar(values):
                values = pd.Series([values] * n)  # one value for every row
            ev[name] = values
    if "na_error" in f:
        err = f["na_error"].to_numpy()
        table = np.array(
            [ctx.error_text(i) for i in range(len(ctx.errors))] + [None], dtype=np.object_
        )
        ev["collection_error"] = pd.Series(
            table[np.where(err >= 0, err, len(ctx.errors))], dtype=object
        )
    if "waiver" in f:
        w = f["waiver"].to_numpy()
        at = np.where(w >= 0, w, len(waivers))
        for field in ("reason", "owner", "expires", "source"):
            values = [
                {
                    "reason": x.reason,
                    "owner": x.owner,
                    "expires": x.expires_text,
                    "source": f"{x.source_file}:{x.source_line}",
                }[field]
                for x in waivers
            ]
            ev[f"waiver.{field}"] = np.array(values + [None], dtype=object)[at]
    if "expired_waiver" in f:
        w = f["expired_waiver"].to_numpy()
        table = np.array(
            [f"expired {x.expires_text}: {x.reason}" for x in waivers] + [None], dtype=object
        )
        ev["expired_waiver"] = table[np.where(w >= 0, w, len(waivers))]
    return ev


def _remediation(
    part: Part, f: pd.DataFrame, ctx: Context, status: np.ndarray
) -> pa.DictionaryArray:
    """Per row: the control's own text for this situation (`Part.remediate`), else the
    registration's default; for NOT_ASSESSED rows, how to make the data available; null for rows
    that need no change (PASS, NOT_APPLICABLE).

    A dictionary array: a few texts of hundreds of characters shared by millions of rows are
    picked by code, never copied per row."""
    from auditor.controls.registry import REGISTRY

    texts = [pa.array([_NOT_ASSESSED_REMEDIATION, REGISTRY[part.control_id].remediation])]
    # 0: not assessed, 1: the default; the control's own texts after them
    code = np.where(status == NOT_ASSESSED, 0, 1).astype(np.int32)
    if part.remediate is not None:
        own = pc.dictionary_encode(_text_array(part.remediate(f, ctx)))
        mine = own.indices.fill_null(0).to_numpy().astype(np.int32) + 2
        has = own.is_valid().to_numpy(zero_copy_only=False) & (status != NOT_ASSESSED)
        code = np.where(has, mine, code)
        texts.append(own.dictionary.cast(pa.string()))
    needed = np.isin(status, _ACTIONABLE)
    return pa.DictionaryArray.from_arrays(pa.array(code, mask=~needed), pa.concat_arrays(texts))
