"""An interruption whose exception Python swallows (raised inside a ``__del__`` or a weakref
callback, where the garbage collector runs code at any moment) is still raised at the next
safe point: CI once saw a sweep run to its end, exit 0, after a Ctrl-C landed in a weakref callback."""

import os
import signal
import time

import pytest
from support.signals import SignalsWhileCollected

from training.core import interrupt


@pytest.mark.parametrize("signum, kind, status", [(signal.SIGINT, KeyboardInterrupt, 130), (signal.SIGTERM, interrupt.Terminated, 143)])
def test_an_interruption_swallowed_by_a_finaliser_is_raised_at_the_next_safe_point(handlers, signum, kind, status):
    victim = SignalsWhileCollected(signum)
    del victim  # the signal arrives and its exception is swallowed: execution goes on
    with pytest.raises(kind) as raised:
        interrupt.raise_if_received()
    assert interrupt.exit_status(raised.value) == status
    interrupt.raise_if_received()  # raised once, then forgotten


def test_an_interruption_raised_normally_is_forgotten_by_the_next_command(handlers):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    interrupt.handle_interruptions()  # a new command's main starts with nothing pending
    interrupt.raise_if_received()


def test_sigint_ignored_at_start_stays_ignored(handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a job started in the background with `nohup ... &`
    interrupt.handle_interruptions()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_an_uninterrupted_call_finishes_and_the_interruption_comes_as_the_outermost_returns(handlers):
    done = []

    @interrupt.uninterrupted
    def write(part: str) -> None:
        if part == "inner":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        done.append(part)

    @interrupt.uninterrupted
    def transaction() -> None:
        write("inner")
        write("after")  # still part of the outer call: not cut short either

    with pytest.raises(interrupt.Terminated):
        transaction()
    assert done == ["inner", "after"]
    interrupt.raise_if_received()  # raised once, then forgotten


def test_an_interruption_already_raised_does_not_stop_the_cleanup_that_handles_it(handlers):
    """`pipeline.train` catches Ctrl-C or SIGTERM and marks its run KILLED with an uninterrupted store write: that write
    must not raise the same interruption again (it did once: the run stayed RUNNING, exit status 1, a traceback)."""
    done = []
    with pytest.raises(interrupt.Terminated):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    try:
        interrupt.uninterrupted(done.append)("marked KILLED")
    except KeyboardInterrupt:  # caught here: let through, it would stop the whole test session
        pytest.fail("the interruption handled above was raised again after the cleanup")
    assert done == ["marked KILLED"]
