"""Issue 9, kind 7: sensitivity inputs are checked, doubtful estimates are flagged."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.experiments import ExperimentError, Options
from analysis.sensitivity import (
    ISHIGAMI,
    SobolSampleWarning,
    check_n,
    evaluate_ishigami,
    out_of_range,
    saltelli_sample,
    sobol_indices,
)
from analysis.sobol_sweeper import draw_samples, read_samples, samples_csv

# ----------------------------------------------------------------------------- n


@pytest.mark.parametrize("n", [1, 0, -4, 2.0, True, "8"])
def test_n_below_two_or_not_an_integer_is_refused(n):
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        saltelli_sample(ISHIGAMI, n, seed=0)


def test_sobol_n_1_is_refused_by_the_figures_command(capsys):
    from analysis.figures import main

    assert main(["--sobol-n", "1", "--only", "9", "--quiet"]) == 2
    assert "sobol_n (--sobol-n) must be an integer >= 2" in capsys.readouterr().err
    with pytest.raises(ExperimentError, match=">= 2"):
        Options(sobol_n=1)


def test_a_sweeper_n_below_two_is_refused_at_preflight():
    from abm.preflight import PreflightError, preflight

    with pytest.raises(PreflightError, match=r"hydra\.sweeper\.n must be an integer >= 2"):
        preflight(["+experiment=sobol", "hydra.sweeper.n=1"], True)


def test_a_non_power_of_two_warns_and_powers_of_two_do_not():
    with pytest.warns(SobolSampleWarning, match="n=12 is not a power of two.*use 8 or 16"):
        x = saltelli_sample(ISHIGAMI, 12, seed=0)
    assert len(x) == 12 * 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of any kind for a power of two
        saltelli_sample(ISHIGAMI, 16, seed=0)
        assert check_n(2) == 2
    with pytest.warns(SobolSampleWarning, match="hydra.sweeper.n=6"):
        draw_samples(["demand.elasticity"], 6, 0, False)
    with pytest.warns(SobolSampleWarning, match="--sobol-n"):
        Options(sobol_n=24)


# ----------------------------------------------------------------------------- flags


def test_indices_outside_the_unit_interval_are_flagged():
    result = sobol_indices(ISHIGAMI, evaluate_ishigami, n=2, seed=1)
    flags = result.flags
    assert list(flags.columns) == ["output", "parameter", "index", "value", "conf"]
    values = result.indices[["S1", "ST"]].to_numpy()
    assert len(flags) == int(((values < 0) | (values > 1)).sum()) > 0
    assert ((flags["value"] < 0) | (flags["value"] > 1)).all()
    good = sobol_indices(ISHIGAMI, evaluate_ishigami, n=1024, seed=1)
    # a large sample flags at most estimation noise around the true 0 of x3's S1
    assert (out_of_range(good.indices)["value"].abs() < 0.05).all()


def test_the_sobol_figure_shows_and_records_flagged_indices(capsys):
    from analysis.figures import Inputs, fig_sobol
    from analysis.style import use_agg

    use_agg()
    result = sobol_indices(ISHIGAMI, evaluate_ishigami, n=2, seed=1)
    drawn = fig_sobol(Inputs(sobol_result=result))
    notes = drawn.notes
    assert len(notes["outside_unit_interval"]) == len(result.flags) > 0
    extreme = result.indices[["S1", "ST"]].to_numpy()
    lo, hi = notes["xlim"]
    assert lo <= extreme.min() and hi >= extreme.max()  # drawn where they are, not clipped
    assert "outside [0, 1]" in drawn.fig._suptitle.get_text()
    assert "Sobol index estimate(s) outside [0, 1]" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sample files


def spreadsheet(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "samples.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_spreadsheet_csv_with_a_bom_and_float_indices_reads(tmp_path):
    path = spreadsheet(tmp_path, "sample,demand.elasticity\r\n0.0,0.8\r\n1.0,0.9\r\n",
                       "utf-8-sig")
    names, rows = read_samples(path)
    assert names == ["demand.elasticity"]
    assert rows == [(0, ["0.8"]), (1, ["0.9"])]


@pytest.mark.parametrize(("text", "words"), [
    ("sample;demand.elasticity\n0;0,8\n", [":1:", "separated by ';'", "decimal point"]),
    ('sample,demand.elasticity\n0,"0,8"\n', [":2:", "column 'demand.elasticity'", "'0,8'",
                                              "decimal comma"]),
    ("sample,demand.elasticity\n0,0,8\n", [":2:", "3 fields, expected 2", "decimal comma"]),
    ("sample,demand.elasticity\n0.5,0.8\n", [":2:", "column 'sample'", "'0.5'",
                                             "whole number"]),
    ("sample,demand.elasticity\n0,0.8\n1,abc\n", [":3:", "'abc' is not a number"]),
    ("sample,demand.elasticity\n0,nan\n", [":2:", "not a finite number"]),
    ("index,demand.elasticity\n0,0.8\n", [":1:", "first column must be 'sample'"]),
    ("sample,demand.elasticity\n0,0.8\n0,0.9\n", ["sample index 0 appears twice"]),
])
def test_sample_file_problems_name_the_file_and_line(tmp_path, text, words):
    path = spreadsheet(tmp_path, text)
    with pytest.raises(ValueError) as err:
        read_samples(path)
    message = str(err.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message, message


def test_written_samples_still_round_trip(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(samples_csv(["a.b"], np.array([[0.1], [1 / 3]])))
    assert read_samples(path)[1] == [(0, ["0.1"]), (1, [repr(1 / 3)])]
    assert isinstance(pd.read_csv(path), pd.DataFrame)
