"""Inline SVG charts for the HTML report (no script, no network). Every label is escaped here."""

from __future__ import annotations

from markupsafe import Markup, escape

STATUS_COLORS = {
    "FAIL": "#c62828",
    "NOT_ASSESSED": "#ef6c00",
    "WAIVED": "#6a1b9a",
    "PASS": "#2e7d32",
    "NOT_APPLICABLE": "#9e9e9e",
}
_PALETTE = ("#1565c0", "#00838f", "#ad1457", "#f9a825", "#4e342e", "#5e35b1", "#558b2f", "#37474f")


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def stacked_bars(
    rows: list[tuple[str, dict[str, int]]], *, width: int = 640, bar: int = 18
) -> Markup:
    """Horizontal bars, one per label, split by status (counts). Empty string when no rows."""
    if not rows:
        return Markup("")
    label_w, gap = 190, 6
    plot_w = width - label_w - 70
    height = len(rows) * (bar + gap) + gap
    parts = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for i, (label, counts) in enumerate(rows):
        y = gap + i * (bar + gap)
        total = sum(counts.values()) or 1
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 5}" text-anchor="end" class="lbl">{escape(_clip(label, 30))}</text>'
        )
        x = float(label_w)
        for status, color in STATUS_COLORS.items():
            n = counts.get(status, 0)
            if not n:
                continue
            w = plot_w * n / total
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar}" fill="{color}">'
                f"<title>{escape(label)}: {n} {status}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{label_w + plot_w + 6}" y="{y + bar - 5}" class="num">{sum(counts.values())}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(
    rows: list[tuple[str, float]], *, unit: str = "", width: int = 640, bar: int = 18
) -> Markup:
    """Horizontal bars of non-negative values with their formatted value at the end."""
    if not rows:
        return Markup("")
    label_w, gap = 190, 6
    plot_w = width - label_w - 110
    top = max((v for _, v in rows), default=0) or 1
    height = len(rows) * (bar + gap) + gap
    parts = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar + gap)
        w = plot_w * max(value, 0) / top
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 5}" text-anchor="end" class="lbl">{escape(_clip(label, 30))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar}" fill="{color}">'
            f"<title>{escape(label)}: {escape(_fmt(value))} {escape(unit)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar - 5}" class="num">{escape(_fmt(value))} {escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(points: list[tuple[str, float | None]], *, width: int = 640, height: int = 160) -> Markup:
    """Compliance % over runs as a line with dots (0–100 scale); labels are the runs' as_of dates."""
    known = [(label, value) for label, value in points if value is not None]
    if not known:
        return Markup("")
    left, right, top, bottom = 40, 20, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(known) - 1, 1)
    xy = [(left + i * step, top + plot_h * (1 - v / 100.0)) for i, (_, v) in enumerate(known)]
    parts = [
        f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="num">100%</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="num">0%</text>',
    ]
    if len(xy) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    for (label, value), (x, y) in zip(known, xy):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1565c0"><title>{escape(label)}: {value}%</title></circle>'
        )
    shown = sorted(set(range(0, len(known), max(1, len(known) // 6))) | {len(known) - 1})
    for i in shown:
        anchor = "start" if i == 0 else ("end" if i == len(known) - 1 else "middle")
        parts.append(
            f'<text x="{xy[i][0]:.1f}" y="{height - 8}" text-anchor="{anchor}" class="num">{escape(str(known[i][0])[:10])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"
