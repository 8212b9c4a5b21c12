"""One paper style for every figure, and byte-reproducible PNG/PDF output.

:func:`apply` sets a seaborn theme with a font that ships with matplotlib (DejaVu Sans, so
no system font lookup can change a figure), fixed sizes and DPI, and one colour per scenario
used by every figure. :func:`save` writes a figure as PNG and PDF with fixed metadata (no
creation date, a fixed producer), TrueType fonts embedded in the PDF, and atomic writes (a
temporary file renamed into place), so building the same data twice gives identical bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

FONT = "DejaVu Sans"
DPI = 200
WIDTH_IN = 7.0          # a two-column paper's text width
PRODUCER = "compute-abm analysis.figures"
PNG_METADATA = {"Software": PRODUCER}
PDF_METADATA = {"Creator": PRODUCER, "Producer": PRODUCER, "CreationDate": None,
                "ModDate": None}

SCENARIOS = ("baseline", "open_weights_surge", "closed_frontier", "export_controls",
             "energy_shock", "test_time_compute_boom", "custom_silicon", "sovereign_cloud",
             "efficiency_breakthrough", "early_monopoly")
SCENARIO_LABELS = {
    "baseline": "baseline",
    "open_weights_surge": "open-weights surge",
    "closed_frontier": "closed frontier",
    "export_controls": "export controls",
    "energy_shock": "energy shock",
    "test_time_compute_boom": "test-time compute boom",
    "custom_silicon": "custom silicon",
    "sovereign_cloud": "sovereign cloud",
    "efficiency_breakthrough": "efficiency breakthrough",
    "early_monopoly": "early monopoly",
}
# one fixed colour per scenario (seaborn's colorblind palette + grey/black for the rest)
_PALETTE = ("#000000", "#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161",
            "#fbafe4", "#56b4e9", "#949494")
SCENARIO_COLORS = dict(zip(SCENARIOS, _PALETTE, strict=True))

RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 10,
    "lines.linewidth": 1.2,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.bbox": "standard",
    "pdf.fonttype": 42,          # embed TrueType: editable text, deterministic subsets
    "ps.fonttype": 42,
    "svg.hashsalt": "compute-abm",
    "svg.fonttype": "none",
    "axes.formatter.use_mathtext": False,
    "path.simplify": True,
    "image.interpolation": "nearest",
}


def use_agg() -> None:
    """Render off-screen (the figure build never needs a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)


def apply() -> None:
    """The paper style: seaborn "ticks" with a light grid, DejaVu Sans, fixed sizes."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", font=FONT, rc={
        **RC, "axes.grid": True, "grid.linewidth": 0.4, "grid.color": "#dddddd"})
    mpl.rcParams.update(RC)


def scenario_label(name: str) -> str:
    return SCENARIO_LABELS.get(name, name.replace("_", " "))


def scenario_color(name: str) -> str:
    if name in SCENARIO_COLORS:
        return SCENARIO_COLORS[name]
    import seaborn as sns

    extra = sns.color_palette("husl", 16).as_hex()
    return extra[sum(map(ord, name)) % len(extra)]


def figure_bytes(fig: Any, fmt: str) -> bytes:
    """The figure rendered as ``png`` or ``pdf`` with fixed metadata."""
    buf = io.BytesIO()
    metadata = PNG_METADATA if fmt == "png" else PDF_METADATA
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=metadata)
    return buf.getvalue()


def save(fig: Any, out_dir: str | Path, stem: str,
         formats: tuple[str, ...] = ("png", "pdf")) -> dict[str, dict[str, Any]]:
    """Write ``<out_dir>/<stem>.<fmt>`` atomically for each format; close the figure.

    Returns ``{fmt: {"file": name, "sha256": ..., "bytes": ...}}``.
    """
    import matplotlib.pyplot as plt

    from abm.outputs import atomic_write_bytes, sha256_bytes

    out_dir = Path(out_dir)
    files = {}
    try:
        for fmt in formats:
            data = figure_bytes(fig, fmt)
            name = f"{stem}.{fmt}"
            atomic_write_bytes(out_dir / name, data)
            files[fmt] = {"file": name, "sha256": sha256_bytes(data), "bytes": len(data)}
    finally:
        plt.close(fig)
    return files
