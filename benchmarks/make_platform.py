"""The reference platform's generator now ships with the package (bountyguard/bench_platform.py, used by
`bountyguard bench`); this script stays so the documented command keeps working.

    python benchmarks/make_platform.py --referrals 1000000 --out /tmp/bg-bench/landing [--seed 1]
    python benchmarks/make_platform.py --referrals 1000000 --increment-of /tmp/bg-bench/landing --day 1 \
        --out /tmp/bg-bench/day-01
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a checkout without `pip install`
from bountyguard.bench_platform import main  # noqa: E402

if __name__ == "__main__":
    main()
