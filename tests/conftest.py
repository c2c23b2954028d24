"""Every test run ends with this process's peak memory (and its children's), and the tests that
raised the peak most, so a leak shows up in the summary of the run that brought it in. A test's
rise includes the fixtures it set up (the first integration test starts the whole stack).

The peak is fatal only far above what a run needs: SIYU_TEST_MAX_RSS_MB (2048 unless set, 0 turns
the check off) fails an otherwise green run whose own peak exceeded it. The integration suite
peaked at 0.27 GB once moto stopped keeping every object it made (7.6 GB before).
"""

from __future__ import annotations

import os
import resource
import sys

import pytest

# Receivers in the tests are local servers (tests/receiver.py), as under the local stack, which sets
# the same: outbound calls may reach loopback over http. Tests of the guard itself unset it.
os.environ.setdefault("SIYU_RUNS_LOCALLY", "1")

DEFAULT_CEILING_MB = 2048
SHOWN = 5

_raised: list[tuple[int, str]] = []  # (kB the peak rose during the test, test id)


def _peak_kb(who: int = resource.RUSAGE_SELF) -> int:
    peak = resource.getrusage(who).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, kB on Linux


def _ceiling_mb() -> int:
    return int(os.environ.get("SIYU_TEST_MAX_RSS_MB", DEFAULT_CEILING_MB))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = _peak_kb()
    try:
        return (yield)
    finally:
        if (rise := _peak_kb() - before) >= 1024:
            _raised.append((rise, item.nodeid))


def pytest_sessionfinish(session, exitstatus):
    ceiling = _ceiling_mb()
    if ceiling and _peak_kb() > ceiling * 1024 and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    peak, children = _peak_kb(), _peak_kb(resource.RUSAGE_CHILDREN)
    write = terminalreporter.write_line
    terminalreporter.section("peak memory")
    write(f"peak RSS: {peak / 1024:.0f} MB in this process, {children / 1024:.0f} MB in its largest child process")
    for rise, nodeid in sorted(_raised, reverse=True)[:SHOWN]:
        write(f"  +{rise / 1024:.0f} MB  {nodeid}")
    ceiling = _ceiling_mb()
    if ceiling and peak > ceiling * 1024:
        write(
            f"peak RSS {peak / 1024:.0f} MB is above SIYU_TEST_MAX_RSS_MB={ceiling}: something keeps what it "
            "should free (the tests above raised the peak most)",
            red=True,
            bold=True,
        )
