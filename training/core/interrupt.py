"""Interruptions: Ctrl-C (SIGINT) and SIGTERM, what cluster schedulers send (SLURM at the
time limit, Kubernetes on eviction), handled alike, each with its own exit status.

``Terminated`` is a ``KeyboardInterrupt``, so every place that keeps finished work
on Ctrl-C keeps it on SIGTERM too; ``exit_status`` tells the two apart (130, 143).

A signal's exception is raised wherever the main thread happens to be. When that is a
weakref callback or a ``__del__`` (the garbage collector runs them at any moment), Python
prints "Exception ignored" and carries on, and the interruption would be lost. So the
handler also records the signal, and long loops call ``raise_if_received`` at their safe
points: a swallowed interruption is raised there instead.

A job launched by another process that waits on it (``mlflow run``) ends with that
process: when the launcher itself is terminated, nobody else would stop the job, which would
train on, orphaned, holding the store. ``handle_interruptions(follow_parent=True)`` asks Linux
for SIGTERM when the parent dies, and ``raise_if_received`` also notices a changed parent at
every safe point (elsewhere, or if the parent died before the request was made).

Code that must not stop halfway (a write to the tracking store: a transaction cut short
leaves SQLite locked, and the run could then not even be marked KILLED) runs ``uninterrupted``:
a signal arriving inside is recorded and raised as the call returns.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_received: list[int] = []
_deferring = [0]  # how many uninterrupted calls are under way
_deferred: list[int] = []  # signals that arrived during them, raised as the outermost returns
_parent = [0]  # the parent this process follows (0: none)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
Args = ParamSpec("Args")
Result = TypeVar("Result")


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _interruption(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _record_and_raise(signum, frame) -> None:
    _received.append(signum)
    if _deferring[0]:
        _deferred.append(signum)
    else:
        raise _interruption(signum)


def handle_interruptions(follow_parent: bool = False) -> None:
    """From now on SIGTERM, and SIGINT unless the process was started with it ignored,
    raise in the main thread and are remembered (call it first in a command's main).

    ``follow_parent``: the parent process's end counts as a SIGTERM (for a job whose launcher waits on it).
    """
    _received.clear()
    _deferred.clear()
    signal.signal(signal.SIGTERM, _record_and_raise)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _record_and_raise)
    _parent[0] = os.getppid() if follow_parent else 0
    if follow_parent and sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def parent_gone() -> bool:
    """True when this process follows a parent that has ended (it was then handed to another process)."""
    return bool(_parent[0]) and os.getppid() != _parent[0]


def raise_if_received() -> None:
    """Raise the interruption a signal (or a followed parent's end) asked for, if any arrived (once raised, it is forgotten)."""
    if parent_gone() and not _received:
        _received.append(signal.SIGTERM)
    if _received:
        signum = _received[0]
        _received.clear()
        raise _interruption(signum)


def uninterrupted(function: Callable[Args, Result]) -> Callable[Args, Result]:
    """``function`` runs to its end whatever signal arrives meanwhile; the interruption is raised as it returns."""

    @functools.wraps(function)
    def wrapper(*args: Args.args, **kwargs: Args.kwargs) -> Result:
        _deferring[0] += 1
        try:
            result = function(*args, **kwargs)
        finally:
            _deferring[0] -= 1
        if not _deferring[0] and _deferred:  # only what arrived meanwhile: an interruption raised before was already handled
            signum = _deferred[0]
            _deferred.clear()
            _received.clear()
            raise _interruption(signum)
        return result

    return wrapper


def exit_status(interruption: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for SIGINT."""
    return 128 + (signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT)


def describe(interruption: KeyboardInterrupt) -> str:
    return "terminated (SIGTERM)" if isinstance(interruption, Terminated) else "interrupted"
