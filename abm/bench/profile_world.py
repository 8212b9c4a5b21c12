"""cProfile of the ``world`` preset: ``python -m abm.bench.profile_world MONTHS OUT``.

Writes the run's wall time, its agents / clearing / metrics split and the 40 functions with
the largest cumulative time to ``OUT`` (the profiles in ``docs/profiles/`` were made so).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys

from abm.threads import pin_environment


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[0].isdigit() or int(args[0]) < 1:
        print("usage: python -m abm.bench.profile_world MONTHS OUT (MONTHS >= 1)",
              file=sys.stderr)
        return 2
    months, out = int(args[0]), args[1]
    from abm.bench.model_bench import _timed_run, _world_config

    cfg = _world_config(months)
    prof = cProfile.Profile()
    prof.enable()
    wall, split = _timed_run(cfg)
    prof.disable()
    text = io.StringIO()
    text.write(f"world preset (200 nations, 50 providers, 50 income groups), months={months}, "
               "cProfile on\n")
    text.write(f"wall {wall:.1f} s; timings: " + " ".join(
        f"{k}={v:.2f}s ({v / months * 1e3:.0f} ms/step)" for k, v in split.items()) + "\n\n")
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
    with open(out, "w") as fh:
        fh.write(text.getvalue())
    print(text.getvalue().splitlines()[1])
    return 0


if __name__ == "__main__":
    pin_environment()
    sys.exit(main())
