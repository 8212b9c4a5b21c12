"""``python -m abm`` and the ``abm`` console script: run the model as a Hydra app.

Before NumPy loads, BLAS/OpenMP thread pools are pinned to ``$ABM_THREADS`` (default 1) in
this process and, through the environment, in every launcher worker (joblib, Ray, SLURM):
multithreaded reductions change the last bits of floating-point results, and a run must give
byte-identical tables whichever launcher ran it. Sweeps get their parallelism from jobs.
"""

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def pin_threads() -> None:
    threads = os.environ.get("ABM_THREADS", "1")
    for var in THREAD_VARS:
        os.environ[var] = threads


pin_threads()

from abm.app import main as _app_main  # noqa: E402  (after pinning the thread pools)


def main() -> None:
    _app_main()


if __name__ == "__main__":
    main()
