"""Signals delivered inside the test process, where Python would swallow the handler's exception."""

import os
import time


class SignalsWhileCollected:
    """Sends ``signum`` to this process when collected: the handler then runs inside ``__del__``, where the exception it
    raises is only printed (as when the garbage collector runs a finaliser while matplotlib draws)."""

    def __init__(self, signum: int):
        self.signum = signum

    def __del__(self):
        os.kill(os.getpid(), self.signum)
        time.sleep(0.05)  # the handler runs here
