"""The dashboard page (Solara): ``python -m abm.dashboard`` serves :func:`Page`.

Left, the controls: scenario (with its description), size, months, seed, a scenario to
compare with, and the parameters of :data:`abm.dashboard.controls.CONTROL_KEYS` on Mesa's
SolaraViz ``UserInputs`` sliders (checkboxes for switches), each with its unit, ranges and
meaning from parameters.csv. "Run" runs the model in a background thread
(:func:`abm.dashboard.runs.execute`, which calls :func:`abm.run.run`) with a progress bar.

Right, the results: the headline numbers (:mod:`abm.summary`), the command line that
reproduces each run byte for byte, downloads of the run's files, the headline series
(:data:`abm.plots.PANELS`) and the nation view (:data:`abm.plots.NATION_PANELS`). Elements
tests look for carry ``data-testid`` attributes.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from typing import Any

import solara
import solara.lab
from mesa.visualization import Slider
from mesa.visualization.solara_viz import UserInputs

from abm import plots, summary
from abm.app import CONF_DIR
from abm.cli_help import scenarios as read_scenarios
from abm.dashboard import runs
from abm.dashboard.controls import CONTROLS, MISSING, Control

OUT_ENV = "ABM_DASHBOARD_OUT"
NO_COMPARE = "(none)"
SCENARIOS = read_scenarios(CONF_DIR)
SCENARIO_NAMES = [s.name for s in SCENARIOS]
DESCRIPTIONS = {s.name: s.description for s in SCENARIOS}
DEFAULT_SCENARIO = "baseline" if "baseline" in SCENARIO_NAMES else SCENARIO_NAMES[0]
MAX_MONTHS = 132
CSS = """
.abm-help { font-size: 0.72rem; color: #555; line-height: 1.2; margin: -4px 0 10px 0; }
.abm-param .v-input__slot { margin-bottom: 0; }
.abm-months { padding-top: 22px; }
.abm-value { font-size: 0.75rem; color: #333; margin: -6px 0 0 0; }
.abm-changed { font-weight: bold; color: #b2182b; }
.abm-headline { border-collapse: collapse; font-size: 0.85rem; }
.abm-headline th, .abm-headline td { padding: 2px 10px; border-bottom: 1px solid #ddd; }
.abm-headline td.num, .abm-headline th.num { text-align: right;
    font-variant-numeric: tabular-nums; }
.abm-command { font-size: 0.8rem; white-space: pre-wrap; word-break: break-all;
    background: #f4f4f4; padding: 6px 8px; margin: 2px 0 8px 0; }
.abm-plot img { width: 100%; height: auto; }
"""


def out_dir() -> Path:
    """Where the dashboard's runs go: ``$ABM_DASHBOARD_OUT`` or ``outputs/dashboard``."""
    return Path(os.environ.get(OUT_ENV) or "outputs/dashboard").resolve()


BASE_VALUES = runs.scenario_values(DEFAULT_SCENARIO)

scenario = solara.reactive(DEFAULT_SCENARIO)
size = solara.reactive("small")
months = solara.reactive(MAX_MONTHS)
seed = solara.reactive(0)
compare = solara.reactive(NO_COMPARE)
base_values = solara.reactive(dict(BASE_VALUES))   # the chosen scenario's values
values = solara.reactive(dict(BASE_VALUES))        # what the controls show
status = solara.reactive("")


@solara.lab.task(prefer_threaded=True)
def run_task(specs: tuple[runs.RunSpec, ...]) -> dict[str, Any]:
    """Run every spec in turn (A, then B), reporting months done as progress."""
    total = sum(s.months for s in specs)
    done_before = 0
    dirs: list[str] = []
    tic = time.perf_counter()
    for letter, spec in zip("AB", specs, strict=False):
        def progress(done: int, months_total: int, offset: int = done_before,
                     spec: runs.RunSpec = spec, letter: str = letter) -> None:
            run_task.progress = 100.0 * (offset + done) / max(total, 1)
            status.value = f"{letter}: {spec.scenario}, month {done} of {months_total}"

        dirs.append(str(runs.execute(spec, out_dir(), progress=progress)))
        done_before += spec.months
    seconds = time.perf_counter() - tic
    status.value = f"done in {seconds:.1f} s"
    return {"specs": specs, "dirs": tuple(dirs)}


def set_scenario(name: str) -> None:
    scenario.set(name)
    fresh = runs.scenario_values(name)
    base_values.set(fresh)
    values.set(dict(fresh))


def set_value(key: str, value: Any) -> None:
    values.set({**values.value, key: value})


def current_specs() -> tuple[runs.RunSpec, ...]:
    spec = runs.make_spec(scenario.value, size.value, months.value, seed.value,
                          values.value, base_values.value)
    if compare.value in (NO_COMPARE, "", None):
        return (spec,)
    other = runs.RunSpec(scenario=compare.value, size=spec.size, months=spec.months,
                         seed=spec.seed, params=spec.params)
    return (spec, other)


def testid(name: str, children: list | None = None, classes: str = "", tag: str = "div"):
    """A plain element carrying ``data-testid`` (for the browser test)."""
    return solara.v.Html(tag=tag, attributes={"data-testid": name}, class_=classes,
                         children=children or [])


# --------------------------------------------------------------------------- controls
@solara.component
def ParameterControl(control: Control) -> None:
    base = base_values.value.get(control.key, control.default)
    value = values.value.get(control.key, base)
    with testid(f"param-{control.key}", classes="abm-param"):
        if control.kind == "bool":
            solara.Checkbox(label=control.label, value=bool(value),
                            on_value=lambda v, key=control.key: set_value(key, bool(v)))
        else:
            lo, hi, step = control.slider(base)
            dtype = int if control.kind == "int" else float
            UserInputs({control.key: Slider(control.label, value=dtype(value), min=dtype(lo),
                                            max=dtype(hi), step=dtype(step), dtype=dtype)},
                       on_change=set_value)
        changed = control.override(value) != control.override(base)
        shown = control.override(value).split("=", 1)[1]
        note = f"now {shown}" + (f" (scenario: {control.override(base).split('=', 1)[1]})"
                                 if changed else "")
        solara.Div(children=[note], classes=["abm-value" + (" abm-changed" if changed else "")])
        solara.Div(children=[control.description], classes=["abm-help"])


@solara.component
def RunControls() -> None:
    with solara.Card("Run", margin=0):
        with testid("control-scenario"):
            solara.Select("Scenario", values=SCENARIO_NAMES, value=scenario.value,
                          on_value=set_scenario)
        solara.Div(children=[DESCRIPTIONS.get(scenario.value, "")], classes=["abm-help"])
        with testid("control-size"):
            solara.Select("Size", values=list(runs.SIZES), value=size)
        solara.Div(children=["small: 5 nations x 5 income groups (seconds); default: ~20 "
                             "nations x 10 deciles; world: synthetic 200 x 50 (slow)"],
                   classes=["abm-help"])
        with testid("control-months", classes="abm-months"):
            solara.SliderInt("Months", value=months, min=1, max=MAX_MONTHS,
                             thumb_label="always")
        solara.Div(children=[f"January 2025 to {summary.month_label(months.value - 1)}"],
                   classes=["abm-help"])
        with testid("control-seed"):
            solara.InputInt("Seed", value=seed)
        with testid("control-compare"):
            solara.Select("Compare with", values=[NO_COMPARE, *SCENARIO_NAMES],
                          value=compare)
        solara.Div(children=["B runs the other scenario with the same size, months, seed "
                             "and parameter changes."], classes=["abm-help"])
        with solara.Row():
            with testid("run-button"):
                solara.Button("Run", color="primary", disabled=run_task.pending,
                              on_click=lambda: run_task(current_specs()))
            solara.Button("Reset parameters", text=True,
                          on_click=lambda: values.set(dict(base_values.value)))
        solara.ProgressLinear(run_task.progress if run_task.pending else False)
        testid("run-status", [status.value], classes="abm-help")


@solara.component
def ParameterControls() -> None:
    with solara.Card("Parameters", margin=0):
        if MISSING:
            solara.Warning("Not in parameters.csv any more, left out: " + ", ".join(MISSING))
        for control in CONTROLS:
            ParameterControl(control)


# --------------------------------------------------------------------------- results
def headline_html(loaded: list[plots.RunData]) -> str:
    """The headline table as HTML; every number carries its test id and exact value."""
    a = loaded[0]
    table = summary.headline(a.world)
    by_col = {m.column: m for m in summary.HEADLINE}
    b = loaded[1] if len(loaded) > 1 else None
    head = ["<th>metric</th>", "<th>unit</th>"]
    head += [f'<th class="num">{html.escape(c)}</th>' for c in table.columns]
    if b is not None:
        head += [f'<th class="num">B: {html.escape(summary.month_label(int(b.world.month.max())))}'
                 "</th>", '<th class="num">B - A (end)</th>']
    rows = []
    for column, vals in table.iterrows():
        m = by_col[str(column)]
        cells = [f"<td>{html.escape(m.label)}</td>", f"<td>{html.escape(m.unit)}</td>"]
        for label, v in zip(table.columns, vals, strict=True):
            cells.append(f'<td class="num" data-testid="metric-{column}-{label}" '
                         f'data-value="{float(v)!r}">{html.escape(m.format(v))}</td>')
        if b is not None:
            if column in b.world.columns:
                vb = float(b.world.iloc[-1][column])
                change = summary.change_text(m, float(vals.iloc[-1]), vb)
                cells.append(f'<td class="num" data-testid="metric-b-{column}" '
                             f'data-value="{vb!r}">{html.escape(m.format(vb))}</td>')
                cells.append(f'<td class="num">{html.escape(change)}</td>')
            else:
                cells += ['<td class="num">n/a</td>', '<td class="num">n/a</td>']
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table class="abm-headline"><thead><tr>' + "".join(head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


@solara.component
def PanelPlot(panel: plots.Panel | plots.NationPanel, loaded: list[plots.RunData],
              key: tuple[str, ...]) -> None:
    def render() -> bytes | None:
        fig = plots.panel_figure(panel, loaded)
        return None if fig is None else plots.figure_png(fig, dpi=110)

    png = solara.use_memo(render, dependencies=[key, panel.key])
    if png is None:
        return
    with testid(f"plot-{panel.key}", classes="abm-plot"):
        solara.Image(png, format="png")


@solara.component
def Downloads(run_dir: Path, letter: str) -> None:
    with solara.Div(style={"display": "flex", "flex-wrap": "wrap", "gap": "8px",
                           "margin-bottom": "14px"}):
        for path in runs.run_files(run_dir):
            solara.FileDownload(lambda p=path: p.read_bytes(), filename=path.name,
                                label=f"{letter}: {path.name}")
        solara.FileDownload(lambda: runs.run_zip(run_dir), filename=f"{run_dir.name}.zip",
                            label=f"{letter}: everything (.zip)")


@solara.component
def Results() -> None:
    outcome = run_task.value if run_task.finished else run_task.latest
    if run_task.error:
        solara.Error(f"The run failed: {type(run_task.exception).__name__}: "
                     f"{run_task.exception}")
    if not outcome:
        solara.Info("Choose a scenario and parameters on the left, then press Run. "
                    "A small run of 132 months takes a few seconds.")
        return
    RunResults(outcome["specs"], outcome["dirs"])


@solara.component
def RunResults(specs: tuple[runs.RunSpec, ...], dirs: tuple[str, ...]) -> None:
    loaded = solara.use_memo(lambda: [plots.load(d) for d in dirs], dependencies=[dirs])
    plots.distinct_labels(loaded)
    with solara.Card("Headline numbers", margin=0):
        solara.HTML(tag="div", unsafe_innerHTML=headline_html(loaded),
                    attributes={"data-testid": "headline"})
    with solara.Card("Reproduce and download", margin=0):
        for letter, spec, d in zip("AB"[:len(specs)], specs, dirs, strict=True):
            solara.Markdown(f"**{letter}: {spec.scenario}**, written to")
            testid(f"run-dir-{letter.lower()}", [d], classes="abm-help")
            testid(f"command-{letter.lower()}", [spec.command()], classes="abm-command",
                   tag="pre")
            Downloads(Path(d), letter)
        solara.Div(children=["Run the command from the repository with the venv active "
                             "(or as .venv/bin/python -m abm ...): it writes byte-identical "
                             "tables."], classes=["abm-help"])
    caption = ("" if len(loaded) == 1 else
               f"Solid lines: A = {loaded[0].label}; dashed: B = {loaded[1].label}.")
    with solara.Card("The world: concentration, rents, access, prices, energy", margin=0):
        if caption:
            solara.Text(caption)
        with solara.GridFixed(columns=3):
            for panel in plots.PANELS:
                PanelPlot(panel, loaded, dirs)
    with solara.Card("Nations: tokens per capita and dependence", margin=0):
        with solara.GridFixed(columns=2):
            for panel in plots.NATION_PANELS:
                PanelPlot(panel, loaded, dirs)


@solara.component
def Page() -> None:
    solara.Title("compute-abm dashboard")
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle("compute-abm: who earns rent on AI inference")
    with solara.Sidebar():
        with solara.Column():
            RunControls()
            ParameterControls()
    with solara.Column():
        Results()
