"""PRIM (analysis.prim on EMA workbench) finds a known box in a toy function."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.prim import TOY_BOX, find_box, toy


def test_prim_finds_the_known_box():
    x, y = toy(1000, seed=0)
    box = find_box(x, y)
    assert box is not None
    assert set(box.restricted) == set(TOY_BOX)          # x2.. x4 do nothing
    lims = box.limits.set_index("parameter")
    assert lims.loc["x0", "min"] == pytest.approx(0.6, abs=0.05)
    assert lims.loc["x1", "max"] == pytest.approx(0.3, abs=0.05)
    assert box.coverage >= 0.8 and box.density >= 0.9
    assert box.base_density == pytest.approx(y.mean())
    # coverage and density are what they say, recomputed from the box's limits
    inside = box.contains(x)
    assert box.coverage == pytest.approx((inside & y).sum() / y.sum())
    assert box.density == pytest.approx((inside & y).sum() / inside.sum())
    assert box.mass == pytest.approx(inside.mean())
    assert (lims["qp"] < 1e-6).all()                    # both restrictions are significant


def test_the_chosen_box_keeps_the_coverage_asked_for():
    x, y = toy(600, seed=1)
    strict = find_box(x, y, min_coverage=0.95)
    assert strict is not None and strict.coverage >= 0.95
    loose = find_box(x, y, min_coverage=0.3)
    assert loose is not None and loose.density >= strict.density


def test_no_case_or_all_cases_gives_no_box_and_bad_input_is_refused():
    x, _ = toy(200, seed=2)
    assert find_box(x, np.zeros(len(x), dtype=bool)) is None
    assert find_box(x, np.ones(len(x), dtype=bool)) is None
    with pytest.raises(ValueError, match="200 input rows for 3 outcomes"):
        find_box(x, np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="min_coverage"):
        find_box(x, np.arange(len(x)) % 2 == 0, min_coverage=0.0)


def test_the_discovery_report_says_when_no_restriction_is_significant():
    from types import SimpleNamespace

    from analysis import discover
    from analysis import outcomes as oc

    x, y = toy(1000, seed=0)
    real = find_box(x, y)
    # a box whose only restriction could be chance (few cases, a noise input)
    rng = np.random.default_rng(4)
    noise = find_box(x[["x2", "x3"]], rng.uniform(size=len(x)) < 0.9)
    assert real is not None and noise is not None
    names = list(oc.CONDITIONS)
    d = SimpleNamespace(preset="test", inputs=x, problem=SimpleNamespace(num_vars=5),
                        screened_from="a test", cases={n: 1 for n in names},
                        boxes={names[0]: real, names[1]: noise, names[2]: None})
    text = discover.format_report(d)
    parts = text.split(names[1])
    assert len(noise.limits) and (noise.limits["qp"] > 0.05).all()
    assert "no restriction is significant" not in parts[0].split(names[0])[1]
    assert "no restriction is significant" in parts[1]
    assert "no box to find" in text
