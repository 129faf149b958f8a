"""TEST-ONLY fault injection: kill this process at a named point inside a step.

The crash tests (tests/test_crash_safety.py) run the real command line in a subprocess with
``BOUNTYGUARD_TEST_KILL_AT=<point>`` and check what a rerun and a reader see afterwards. When the
variable is unset (always, outside those tests) a checkpoint is one dictionary lookup and does nothing.
Never set it in production: the process dies with SIGKILL, as on an OOM kill or a power cut.
"""
from __future__ import annotations

import os
import signal

KILL_AT_ENV = "BOUNTYGUARD_TEST_KILL_AT"


def checkpoint(point: str) -> None:
    """Die here with SIGKILL if the test asked for `point` (no cleanup, no finally blocks run)."""
    if os.environ.get(KILL_AT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
