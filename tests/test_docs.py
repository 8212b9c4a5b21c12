"""docs/model.md (the ODD description) covers the model as it is.

The model description is only useful if it stays true, so this test reads it against the code:

- every column of every output table of a (small, two-month) run is defined in that table's
  section of ``docs/model.md`` ("### Table `global`", ...), and no defined column is stale;
- every mechanism of the design's numbering (1-15) has its subsection ("### 7.N Mechanism
  N: ...") about that mechanism;
- every parameter group and every parameter of ``parameters.csv`` is listed in a parameter
  table row (first cell `` `group.name` ``) with the table's current default and unit;
- every validation moment of ``targets.csv`` and every scenario of ``conf/scenario/`` has a
  row in sections 9 and 10.

Each failure names what is missing or stale and where to fix it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from abm.calibration.targets import targets
from abm.config import PARAMETER_GROUPS, parameter_table
from abm.run import run
from tests.model.conftest import small_config

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "model.md"
SCENARIOS = REPO / "conf" / "scenario"

#: The mechanisms of the design (DESIGN.md, "Mechanisms"), by number: a word the heading of
#: each subsection must contain, so that the numbering and the content cannot drift apart.
MECHANISMS = {
    1: "training",
    2: "test-time",
    3: "cost per token",
    4: "utilisation",
    5: "geography",
    6: "chips",
    7: "power",
    8: "pricing power",
    9: "open weights",
    10: "routing",
    11: "feedback loop",
    12: "sovereignty",
    13: "access",
    14: "entry and exit",
    15: "energy accounting",
}

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
TICKED = re.compile(r"`([^`]+)`")


def _text() -> str:
    assert DOC.is_file(), f"{DOC} is missing: the README links it as the model description"
    return DOC.read_text(encoding="utf-8")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, body lines) for every heading of the document, in order."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = HEADING.match(line)
        if m:
            out.append((m.group(2), []))
        elif out:
            out[-1][1].append(line)
    return out


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (no leading/trailing pipe); ``\\$`` (a dollar sign
    escaped so that renderers do not read it as math) is read as ``$``."""
    return [c.strip().replace("\\$", "$") for c in line.strip().strip("|").split("|")]


def _table_rows(lines: list[str]) -> list[list[str]]:
    """Body rows of the markdown tables in ``lines`` (header and separator rows dropped)."""
    rows, previous = [], ""
    for line in lines:
        if not line.lstrip().startswith("|"):
            previous = line
            continue
        cells = _cells(line)
        separator = all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c)
        header = not previous.lstrip().startswith("|")
        if not separator and not header:
            rows.append(cells)
        previous = line
    return rows


def _first_cell_names(rows: list[list[str]]) -> list[str]:
    return [name for row in rows for name in TICKED.findall(row[0])]


@pytest.fixture(scope="module")
def doc() -> str:
    return _text()


@pytest.fixture(scope="module")
def tables():
    return run(small_config(months=2)).tables


def test_every_output_column_is_defined_in_its_table(doc, tables):
    sections = dict(_sections(doc))
    problems = []
    for name, df in tables.items():
        heading = f"Table `{name}`"
        if heading not in sections:
            problems.append(f"no section '### {heading}' for output table {name!r}")
            continue
        rows = _table_rows(sections[heading])
        defined = _first_cell_names(rows)
        missing = [c for c in df.columns if c not in defined]
        stale = sorted(set(defined) - set(df.columns))
        if missing:
            problems.append(f"table {name!r}: columns not defined in docs/model.md "
                            f"'### {heading}': {', '.join(missing)}")
        if stale:
            problems.append(f"table {name!r}: docs/model.md defines columns the recorder "
                            f"does not write: {', '.join(stale)}")
        thin = [row[0] for row in rows if len(row) < 3 or not row[1] or not row[2]]
        if thin:
            problems.append(f"table {name!r}: rows without a unit or a definition: "
                            f"{', '.join(thin)}")
    assert not problems, "\n".join(problems)


def test_every_mechanism_has_its_subsection(doc):
    headings = [h for h, _ in _sections(doc)]
    pattern = re.compile(r"^7\.(\d+) Mechanism (\d+): (.+)$")
    found = {}
    for h in headings:
        m = pattern.match(h)
        if m:
            found[int(m.group(2))] = (int(m.group(1)), m.group(3))
    problems = []
    for number, word in MECHANISMS.items():
        if number not in found:
            problems.append(f"mechanism {number} ({word}): no heading "
                            f"'### 7.{number} Mechanism {number}: ...' in docs/model.md")
            continue
        section, title = found[number]
        if section != number:
            problems.append(f"mechanism {number} is in section 7.{section}, expected 7.{number}")
        if word not in title.lower():
            problems.append(f"mechanism {number}: heading {title!r} does not mention {word!r}")
    extra = sorted(set(found) - set(MECHANISMS))
    if extra:
        problems.append(f"docs/model.md has mechanisms the design does not number: {extra}")
    assert not problems, "\n".join(problems)


def _same_value(documented: str, value: str, kind: str) -> bool:
    if kind == "bool":
        return documented.strip().lower() == str(value).strip().lower()
    try:
        return math.isclose(float(documented), float(value), rel_tol=1e-12, abs_tol=0.0)
    except ValueError:
        return documented.strip() == str(value).strip()


def test_every_parameter_is_documented_with_its_default_and_unit(doc):
    table = parameter_table()
    rows = {}
    for heading, lines in _sections(doc):
        for row in _table_rows(lines):
            names = TICKED.findall(row[0])
            if len(names) == 1 and names[0].split(".")[0] in PARAMETER_GROUPS \
                    and "." in names[0] and len(row) >= 4:
                rows.setdefault(names[0], (heading, row))
    problems = []
    groups = set(table["group"])
    for group in sorted(groups):
        if f"`{group}." not in doc:
            problems.append(f"parameter group {group!r} of parameters.csv is not mentioned in "
                            "docs/model.md")
    for p in table.itertuples(index=False):
        key = f"{p.group}.{p.name}"
        if key not in rows:
            problems.append(f"{key}: no parameter-table row '| `{key}` | default | unit | "
                            "meaning and source |' in docs/model.md (put it in the section "
                            "of its mechanism)")
            continue
        heading, row = rows[key]
        if not _same_value(row[1], p.value, p.type):
            problems.append(f"{key} (section {heading!r}): docs/model.md says default "
                            f"{row[1]!r}, parameters.csv says {p.value!r}")
        if row[2] != str(p.unit).strip():
            problems.append(f"{key} (section {heading!r}): docs/model.md says unit {row[2]!r}, "
                            f"parameters.csv says {p.unit!r}")
    known = {f"{g}.{n}" for g, n in zip(table["group"], table["name"], strict=True)}
    stale = sorted(set(rows) - known)
    if stale:
        problems.append(f"docs/model.md documents parameters parameters.csv does not have: "
                        f"{', '.join(stale)}")
    assert not problems, "\n".join(problems)


def test_every_validation_moment_and_scenario_is_described(doc):
    sections = _sections(doc)

    def names_under(prefix: str) -> set[str]:
        lines = [line for h, body in sections if h.startswith(prefix) for line in body]
        return set(_first_cell_names(_table_rows(lines)))

    problems = []
    moments = names_under("9 Validation")
    missing = [m for m in targets()["moment"] if m not in moments]
    if missing:
        problems.append(f"validation moments of targets.csv with no row in section 9: "
                        f"{', '.join(missing)}")
    scenarios = names_under("10 Scenarios")
    missing = [p.stem for p in sorted(SCENARIOS.glob("*.yaml")) if p.stem not in scenarios]
    if missing:
        problems.append(f"scenarios of conf/scenario/ with no row in section 10: "
                        f"{', '.join(missing)}")
    assert not problems, "\n".join(problems)
