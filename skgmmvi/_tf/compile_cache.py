"""The one cache of compiled TensorFlow functions, shared by every backend module.

A compiled function (a ``tf.function`` with its traces) is keyed by the
structure it was traced for: the algorithm and role first (``"em"``, ``"mle"``,
``"vi"``...), then covariance type, dtype, design or target identity. Shapes are
never part of a key, because every compiled signature has dynamic dimensions.

The cache is thread-safe (one lock around look-up and insertion, so two threads
fitting at once build a structure once) and bounded: beyond :data:`MAX_ENTRIES`
the least recently used entry is dropped, so a long session that fits many
different targets does not keep every graph alive.

An entry may hold an *owner* next to its function: an object the function
closes over and whose ``id`` is part of the key (a ``tf.distribute`` strategy).
A look-up whose owner is not the very object stored is a miss. An entry may
also *keep* an object alive without checking it (a target whose ``id`` may be
part of the key, so that the ``id`` is not reused while the entry lives).

This module imports nothing heavy, so :mod:`skgmmvi.em` can ask whether a
structure is compiled without importing TensorFlow.
"""

import collections
import threading

#: Most compiled structures held at once (least recently used dropped first).
MAX_ENTRIES = 96


class CompileCache:
    """A locked, size-bounded least-recently-used map from keys to compiled functions.

    Parameters
    ----------
    max_entries : int
        Most entries held; inserting beyond it drops the least recently used.
    """

    def __init__(self, max_entries):
        self.max_entries = max_entries
        self._entries = collections.OrderedDict()
        self._lock = threading.RLock()

    def get(self, key, build, owner=None, keep=None):
        """The function cached under ``key``, built by ``build()`` on a miss.

        Parameters
        ----------
        key : tuple
            Hashable structure key; its first item names the algorithm and role.
        build : callable
            Called without arguments on a miss; returns the function to cache.
        owner : object, optional
            Object the function closes over whose identity is part of ``key``;
            an entry stored with another owner is rebuilt.
        keep : object, optional
            Object held alive with a new entry (not compared on look-up).

        Returns
        -------
        function : object
            What ``build`` returned, now or on an earlier call.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (owner is None or entry[1] is owner):
                self._entries.move_to_end(key)
                return entry[0]
            function = build()
            self._entries[key] = (function, owner, keep)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return function

    def __contains__(self, key):
        with self._lock:
            return key in self._entries

    def __len__(self):
        with self._lock:
            return len(self._entries)

    def functions(self, predicate=lambda key: True):
        """The cached functions whose key satisfies ``predicate`` (oldest first)."""
        with self._lock:
            return [entry[0] for key, entry in self._entries.items() if predicate(key)]

    def keys(self):
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self, predicate=lambda key: True):
        """Drop the entries whose key satisfies ``predicate`` (all by default)."""
        with self._lock:
            for key in [key for key in self._entries if predicate(key)]:
                del self._entries[key]


#: The process-wide cache every backend module uses.
COMPILED = CompileCache(MAX_ENTRIES)
