"""`bountyguard bench` (bountyguard/bench.py) writing its JSON to benchmarks/results/<N>.json.

    .venv/bin/python benchmarks/run_benchmark.py --referrals 1000000 [--days 3] [--check last]

The step runner, the instrumentation and the generator live in the package, so the benchmark ships
with the wheel and CI runs the same code (tests/test_benchmarks.py).
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # a checkout without `pip install`
from bountyguard.cli import main as cli  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, required=True)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--check", choices=("every", "last", "none"), default="every")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where bench-<N>.json is written")
    parser.add_argument("--config", type=Path, help="a configuration file for the runs")
    args = parser.parse_args(argv)
    command = ["bench", "--referrals", str(args.referrals), "--days", str(args.days), "--check", args.check,
               "--json", str(args.results / f"bench-{args.referrals}.json")]
    if args.work:
        command += ["--work", str(args.work)]
    if args.config:
        command += ["--config", str(args.config)]
    return cli(command)


if __name__ == "__main__":
    sys.exit(main())
