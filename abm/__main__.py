"""``python -m abm`` and the ``abm`` console script: run the model as a Hydra app.

Before NumPy loads, BLAS/OpenMP thread pools of this process and, through the environment,
of every launcher worker (joblib, Ray, SLURM) are set to ``$ABM_THREADS`` (default 1; a
whole number from 1 to 1024 in plain digits, anything else stops the command with exit
code 2). The model itself always runs on one thread (:func:`abm.run.run` pins it, see
:mod:`abm.threads`): multithreaded reductions change the last bits of floating-point
results, and a run must give byte-identical tables whichever launcher or machine ran it.
Sweeps get their parallelism from jobs.
"""

import sys

from abm.threads import ThreadSettingError, pin_environment

try:
    pin_environment()
except ThreadSettingError as _exc:
    print(f"abm: invalid environment: {_exc}. Nothing was run.", file=sys.stderr)
    raise SystemExit(2) from None

from abm.app import main as _app_main  # after pinning the thread pools


def main() -> None:
    _app_main()


if __name__ == "__main__":
    main()
