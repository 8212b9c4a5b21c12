"""Thread pools and reproducibility: the model's arithmetic always runs on one thread.

Multithreaded BLAS/OpenMP reductions sum in an order that depends on the number of threads,
which changes the last bits of floating-point results (and, through the model's feedbacks,
every table: ``hhi_revenue`` moved by 1.6% at month 131 with two threads). So
:func:`pinned` limits every BLAS/OpenMP pool to :data:`RUN_THREADS` (one) thread for the
duration of :func:`abm.run.run`, whatever the environment says, with ``threadpoolctl`` for
the libraries already loaded and the usual environment variables for any loaded during the
run. The setting is recorded in each run's manifest (:func:`describe`).

``ABM_THREADS`` (default 1) sets the pools of the ``python -m abm`` / ``abm.bench`` process
and its launcher workers outside the model (set before NumPy loads, see
:func:`pin_environment`); it must be a whole number from 1 to 1024 in plain digits
(:func:`abm_threads` refuses anything
else with a message naming the variable) and cannot change a run's tables.

This module imports no NumPy at import time: ``abm.__main__`` uses it before NumPy loads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

#: Threads of every BLAS/OpenMP pool while the model runs (the reproducibility contract).
RUN_THREADS = 1
#: Environment variables read by BLAS/OpenMP libraries when they load.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
ENV = "ABM_THREADS"
#: Largest accepted ``ABM_THREADS``: a fixed bound (not this machine's core count, so a
#: setting valid on one machine is valid on every one); beyond it a pool is a typo.
MAX_THREADS = 1024


class ThreadSettingError(ValueError):
    """``ABM_THREADS`` is not a whole number in [1, 1024]; the message names the variable."""


def abm_threads(environ: dict[str, str] | None = None) -> int:
    """The value of ``$ABM_THREADS`` (1 when unset or empty).

    Raises
    ------
    ThreadSettingError
        If it is not a whole number from 1 to :data:`MAX_THREADS` (1024) in plain ASCII
        digits (e.g. ``two``, ``1.5``, ``0``, ``-2``, ``+2``, ``1_0``, ``99999999``).
    """
    raw = (os.environ if environ is None else environ).get(ENV, "")
    text = raw.strip()
    if not text:
        return 1
    # Plain ASCII digits only: int() would also take "+2", "1_0" and non-ASCII digits.
    digits = text.isascii() and text.isdigit()
    value = int(text) if digits else 0
    if not 1 <= value <= MAX_THREADS:
        raise ThreadSettingError(
            f"{ENV}={raw!r}: expected a whole number from 1 to {MAX_THREADS} written in "
            f"plain digits 0-9 (the BLAS/OpenMP threads of this process outside the model; "
            f"the model itself always runs on {RUN_THREADS} thread so its tables do not "
            f"depend on the machine); unset it or use e.g. {ENV}=1")
    return value


def pin_environment() -> int:
    """Set every :data:`THREAD_VARS` to ``$ABM_THREADS`` (call before NumPy loads).

    Returns the thread count; raises :class:`ThreadSettingError` for an invalid value.
    """
    threads = abm_threads()
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    return threads


@contextlib.contextmanager
def pinned(threads: int = RUN_THREADS) -> Iterator[dict[str, Any]]:
    """Limit every BLAS/OpenMP pool to ``threads`` threads inside the ``with`` block.

    Loaded libraries are limited with ``threadpoolctl.threadpool_limits``; the environment
    variables are set too (and restored afterwards) for libraries loaded inside the block.
    Yields :func:`describe` of the limited pools.
    """
    from threadpoolctl import threadpool_limits

    saved = {var: os.environ.get(var) for var in THREAD_VARS}
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    try:
        with threadpool_limits(limits=threads):
            yield describe(threads)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def describe(threads: int = RUN_THREADS) -> dict[str, Any]:
    """The thread setting for a manifest: the run's limit, ``$ABM_THREADS`` as given, and
    every loaded pool (``"openblas:1"``, ...) as ``threadpoolctl`` reports it now."""
    from threadpoolctl import threadpool_info

    pools = sorted({f"{p.get('internal_api', '?')}:{p.get('num_threads', '?')}"
                    for p in threadpool_info()})
    return {"run_threads": threads, ENV: os.environ.get(ENV), "pools": pools}


__all__ = ["ENV", "MAX_THREADS", "RUN_THREADS", "THREAD_VARS", "ThreadSettingError", "abm_threads",
           "describe", "pin_environment", "pinned"]
