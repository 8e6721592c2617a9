"""The report's charts: matplotlib figures written as inline SVG.

Text stays text (``svg.fonttype = none``): the browser draws the Chinese
labels with the reader's own fonts, so the page needs no font file and no
font download. matplotlib does not know those fonts' widths, so the margins
for labels are computed here from the label lengths (a CJK character is one
em wide), and its "glyph missing" warnings are silenced. Each SVG gets an
``id`` and its internal ids are prefixed with it, so several charts can sit
in one page. No XML declaration, DOCTYPE, metadata or namespace URLs are
kept: the page holds no ``http://`` string at all.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

#: Colours: one palette for the whole page.
BLUE, LIGHT_BLUE, GREEN, ORANGE, RED, GREY = (
    "#1f5f8b",
    "#8fb8d8",
    "#4a8f5a",
    "#e6a23c",
    "#c0392b",
    "#888888",
)
#: The fonts the SVG text asks for (the browser picks the first it has).
FONT_STACK = (
    "Microsoft YaHei, PingFang SC, Hiragino Sans GB, Noto Sans CJK SC, "
    "Source Han Sans SC, WenQuanYi Zen Hei, SimHei, sans-serif"
)
_FONT_PX = 11.0
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "relief-match-report",
    "font.size": _FONT_PX,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#999999",
    "axes.titlesize": 12,
    "legend.frameon": False,
    "legend.fontsize": 10,
}


def text_width(text: str, font_px: float = _FONT_PX) -> float:
    """Approximate drawn width of ``text`` in pixels (points: the SVG is at 72 dpi)."""
    em = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text)
    return em * font_px


def _render(fig: Any, chart_id: str, title: str) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'(width|height)="([\d.]+)pt"', r'\1="\2"', svg, count=2)
    # internal ids (clip paths, markers) prefixed with the chart's id, unique in the page
    svg = re.sub(r'id="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    svg = re.sub(r"font-family:[^;\"']*('[^']*')?[^;\"]*", f"font-family: {FONT_STACK}", svg)
    svg = svg.replace("<svg ", f'<svg id="{chart_id}" class="chart" role="img" ', 1)
    from html import escape

    return svg.replace(">", f"><title>{escape(title)}</title>", 1)


def _figure(width_px: float, height_px: float) -> Any:
    import matplotlib
    from matplotlib.figure import Figure

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with matplotlib.rc_context(cast(Any, _RC)):
        fig = Figure(figsize=(width_px / 72, height_px / 72), dpi=72)
    return fig


@contextmanager
def _canvas(
    width: float, height: float, left: float, bottom: float, right: float, top: float
) -> Iterator[tuple[Any, Any]]:
    """A figure of ``width`` x ``height`` px with one axes inside the given margins (px),
    under the report's style (which must also hold while the SVG is written)."""
    import matplotlib

    with matplotlib.rc_context(cast(Any, _RC)):
        fig = _figure(width, height)
        box = (left / width, bottom / height, (width - left - right) / width)
        yield fig, fig.add_axes((*box, (height - bottom - top) / height))


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def hbar(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    width: float = 560,
    value_fmt: Any = _fmt,
) -> str:
    """A horizontal bar chart, one row per label, ``series`` stacked (name, values, colour).

    The first label is drawn at the top; the total is written at each bar's end.
    """

    n = max(len(labels), 1)
    left = max((text_width(x) for x in labels), default=40) + 14
    legend = 22 if len(series) > 1 else 0
    height = 36 + 22 * n + legend
    with _canvas(width, height, left, 8 + legend, 70, 26) as (fig, ax):
        ys = list(range(n))[::-1]
        base = [0.0] * len(labels)
        for name, values, colour in series:
            ax.barh(ys[: len(labels)], values, left=base, color=colour, height=0.7, label=name)
            base = [b + float(v) for b, v in zip(base, values, strict=True)]
        top = max(base, default=0.0) or 1.0
        for y, total in zip(ys, base, strict=False):
            ax.text(total + top * 0.01, y, value_fmt(total), va="center", fontsize=9)
        # labels as plain texts and no tick marks: far cheaper to draw than ticks
        for y, label in zip(ys, labels, strict=False):
            ax.text(-top * 0.015, y, label, va="center", ha="right")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_xlim(0, top * 1.02)
        ax.set_ylim(-0.6, n - 0.4)
        ax.spines["bottom"].set_visible(False)
        ax.set_title(title, loc="left")
        if len(series) > 1:
            fig.legend(loc="lower left", ncols=len(series), bbox_to_anchor=(left / width, 0))
        return _render(fig, chart_id, title)


def histogram(
    chart_id: str,
    title: str,
    values: Sequence[float],
    *,
    threshold: float,
    xlabel: str,
    width: float = 560,
    height: float = 240,
) -> str:
    """A histogram of probabilities with the threshold drawn as a red line."""
    with _canvas(width, height, 60, 40, 20, 30) as (fig, ax):
        low = min([threshold, *values]) if values else threshold
        low = max(0.0, min(low, threshold) - 0.02)
        ax.hist(values, bins=25, range=(low, 1.0), color=BLUE)
        ax.axvline(threshold, color=RED, linestyle="--", linewidth=1.2)
        ymax = ax.get_ylim()[1]
        ax.text(threshold, ymax * 0.95, f" 阈值 {threshold:g}", color=RED, va="top", fontsize=9)
        ax.set_xlim(low, 1.0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("链接数")
        ax.set_title(title, loc="left")
        return _render(fig, chart_id, title)


def trend(
    chart_id: str,
    title: str,
    nights: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    width: float = 560,
    height: float = 230,
) -> str:
    """Values per night as lines, one point per run (``None``: no point that night)."""
    import matplotlib

    with _canvas(width, height, 80, 62, 20, 30) as (fig, ax):
        xs = list(range(len(nights)))
        for name, values, colour in lines:
            pts = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
            if not pts:
                continue
            px, py = zip(*pts, strict=True)
            ax.plot(px, py, marker="o", color=colour, label=name)
        step = max(1, len(nights) // 10)
        ax.set_xticks(xs[::step], [n[5:] for n in nights][::step])
        ax.set_xlim(-0.6, max(len(nights) - 0.4, 0.6))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _fmt(v)))
        ax.tick_params(labelsize=9)
        ax.set_title(title, loc="left")
        fig.legend(loc="lower left", ncols=max(len(lines), 1), bbox_to_anchor=(80 / width, 0))
        return _render(fig, chart_id, title)
