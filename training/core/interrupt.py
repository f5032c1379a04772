"""SIGTERM as an interruption like Ctrl-C: what cluster schedulers send (SLURM at the time limit,
Kubernetes on eviction) is handled the way a user's Ctrl-C is, with its own exit status.

``Terminated`` is a ``KeyboardInterrupt``, so every place that keeps finished work
on Ctrl-C keeps it on SIGTERM too; ``exit_status`` tells the two apart (130, 143).
"""

from __future__ import annotations

import signal


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """From now on, SIGTERM raises ``Terminated`` in the main thread (call it from a command's main)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def exit_status(interruption: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for SIGINT."""
    return 128 + (signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT)


def describe(interruption: KeyboardInterrupt) -> str:
    return "terminated (SIGTERM)" if isinstance(interruption, Terminated) else "interrupted"
