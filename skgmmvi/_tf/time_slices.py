"""How long one compiled call may run: long loops (EM's iterations, MLE's
epochs, the VI mode search's L-BFGS and the VI iterations) run as calls of about
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

    Parameters
    ----------
    seconds : float or None, default=SLICE_SECONDS
        Wall time a call aims at (None: one call runs everything that remains).
    max_growth : float, default=None
        Most factor by which a call's iterations may exceed the call before's
        (None: no bound). MLE's epochs bound it by 2: an epoch's time varies
        with its batches, and the first ones also pay for tracing.
    """

    def __init__(self, seconds=SLICE_SECONDS, max_growth=None):
        self.seconds = seconds
        self.max_growth = max_growth
        self.seconds_per_step = None
        self._started = None
        self._last_size = 1

    def size(self, remaining):
        """Iterations for the next call: about ``seconds`` of them, at least one,
        at most ``remaining`` (and ``max_growth`` times the last call's)."""
        if self.seconds is None:
            return remaining
        if self.seconds_per_step is None:
            return 1
        n = self.seconds / max(self.seconds_per_step, 1e-9)
        if self.max_growth is not None:
            n = min(n, self.max_growth * self._last_size)
        return int(min(remaining, max(1, n)))

    def start(self):
        """Mark the start of a call."""
        self._started = time.perf_counter()

    def stop(self, n_steps):
        """Mark the end of a call that ran ``n_steps`` iterations."""
        self._last_size = max(n_steps, 1)
        self.seconds_per_step = (time.perf_counter() - self._started) / self._last_size
