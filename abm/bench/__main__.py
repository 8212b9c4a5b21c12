"""``python -m abm.bench {market,model} ...``: run a benchmark and print its table."""

from __future__ import annotations

import argparse
import importlib
import sys

from abm.threads import ThreadSettingError, pin_environment

# As in ``python -m abm``: pin the BLAS/OpenMP pools to $ABM_THREADS (default 1) before
# NumPy loads, so the benchmark times the code the way the model runs it.
try:
    pin_environment()
except ThreadSettingError as _exc:
    print(f"python -m abm.bench: {_exc}", file=sys.stderr)
    raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m abm.bench",
        description="Benchmarks of the compute-abm market core and model (not timed tests).")
    sub = parser.add_subparsers(dest="command", required=True)
    market = sub.add_parser(
        "market", help="double_auction and clear against naive and LP baselines")
    market.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats (a smoke run of a few seconds)")
    market.add_argument("--csv", metavar="FILE", help="also write the table rows to FILE")
    # add_help=False: `model --help` reaches model_bench's own parser, which lists its options
    sub.add_parser("model", add_help=False,
                   help="whole-model benchmark (abm.bench.model_bench); its options "
                        "(`python -m abm.bench model --help`) are passed on to it")
    args, extra = parser.parse_known_args(argv)

    if args.command == "market":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        from abm.bench.market_bench import run
        run(quick=args.quick, csv_path=args.csv)
        return 0

    try:
        model_bench = importlib.import_module("abm.bench.model_bench")
    except ModuleNotFoundError as exc:
        if exc.name != "abm.bench.model_bench":
            raise
        print("python -m abm.bench model: the model benchmark is not available "
              "(abm/bench/model_bench.py does not exist yet); only "
              "`python -m abm.bench market` can run.", file=sys.stderr)
        return 2
    result = model_bench.main(extra)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
