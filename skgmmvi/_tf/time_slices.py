"""How long one compiled call may run: long loops (EM's iterations, the VI mode
search's L-BFGS and the VI iterations) run as calls of about
:data:`SLICE_SECONDS` each, so that Python, and with it Ctrl-C, gets control back
that often.

Each call continues from the exact state the previous one returned, so the
numbers are those of a single call; only the sizes of the calls follow the clock.
"""

import time

#: Wall time one call of a compiled loop aims at.
SLICE_SECONDS = 0.25


class SliceClock:
    """The number of iterations the next call should run, from the measured time
    of one iteration in the call before (the first call, which may trace, runs one).

    Ask :meth:`size` for a call's iterations, and call :meth:`start` before the
    call and :meth:`stop` after it.
    """

    def __init__(self):
        self.seconds_per_step = None
        self._started = None

    def size(self, remaining):
        """Iterations for the next call: about ``SLICE_SECONDS`` of them, at least
        one, at most ``remaining``."""
        if self.seconds_per_step is None:
            return 1
        return int(min(remaining, max(1, SLICE_SECONDS / max(self.seconds_per_step, 1e-9))))

    def start(self):
        """Mark the start of a call."""
        self._started = time.perf_counter()

    def stop(self, n_steps):
        """Mark the end of a call that ran ``n_steps`` iterations."""
        self.seconds_per_step = (time.perf_counter() - self._started) / max(n_steps, 1)
