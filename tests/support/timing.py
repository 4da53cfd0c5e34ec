"""Keeps this test process's own pauses out of the arrival times its fakes record.

The fake Slack and the fake Bot Connector run in a thread of the pytest process and stamp each call
when that thread gets to it. Late in a full run the process holds the objects of a thousand tests,
and a full garbage collection of that heap stops every thread for long enough that a backlog of
calls is stamped as if it had arrived at once: a rate check then sees a burst the senders never
made. Tests that count calls per second wrap their measured part in ``no_collector_pauses``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_collector_pauses() -> Iterator[None]:
    """Collect once now, set everything that exists aside, and collect nothing meanwhile."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
