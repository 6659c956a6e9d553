"""An alert's chart as a PNG (issue #20): posts per 5-minute bucket by label against the
expected band, the alert's start marked.  Drawn headless with matplotlib's Agg canvas
on a ``Figure`` of its own (no pyplot: no global state, safe in worker threads).
matplotlib is imported here, lazily, so importing the app never pays for it."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING

from app.services.timeline import Timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ALERT_START_GID = "alert-start"  # the marker's id, for tests and readers of the SVG
COLOURS = {
    "total": "#4c4c4c",
    "negative": "#c0392b",
    "parody": "#8e44ad",
    "positive": "#27ae60",
    "band": "#3498db",
    "alert": "#e67e22",
}


def chart_figure(timeline: Timeline, alert_start: datetime, title: str) -> Figure:
    """The figure: label series as steps, the band shaded up to `upper` with the
    expected line, a vertical line at `alert_start`, other alerts in the range shaded."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    xs = [b.start for b in timeline.buckets]
    banded = [(b.start, b.expected, b.upper) for b in timeline.buckets if b.expected is not None]
    if banded:
        bx = [t for t, _, _ in banded]
        ax.fill_between(
            bx,
            [0.0] * len(bx),
            [u for _, _, u in banded],
            step="post",
            color=COLOURS["band"],
            alpha=0.15,
            linewidth=0,
            label="alarm line (5 min)",
        )
        ax.step(
            bx,
            [e for _, e, _ in banded],
            where="post",
            color="#1f5f8b",
            linewidth=1.2,
            linestyle="--",
            label="expected",
        )
    for label in ("total", "negative", "parody", "positive"):
        ys = [getattr(b, label) for b in timeline.buckets]
        ax.step(
            xs,
            ys,
            where="post",
            color=COLOURS[label],
            linewidth=1.6 if label in ("total", "negative") else 1.0,
            label=label,
            gid=f"posts-{label}",
        )
    for a in timeline.alerts:  # every alert in the range, shaded while it was open
        end = a.closed_at or timeline.until
        ax.axvspan(
            max(a.opened_at, timeline.since),
            min(end, timeline.until),
            color=COLOURS["alert"],
            alpha=0.08,
            linewidth=0,
        )
    ax.axvline(
        alert_start,
        color=COLOURS["alert"],
        linewidth=1.5,
        linestyle=(0, (4, 2)),
        zorder=1,  # behind the posts, so the spike it marks stays visible
        label=f"alert start {alert_start:%d %b %H:%M} UTC",
        gid=ALERT_START_GID,
    )
    ax.set_xlim(timeline.since, timeline.until)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("posts per 5 minutes")
    ax.set_title(title, loc="left", fontsize=11)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    return fig


def render_png(timeline: Timeline, alert_start: datetime, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = chart_figure(timeline, alert_start, title)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
