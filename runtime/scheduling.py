"""Who runs next when several streams want the cores: earliest deadline first.

Every stream has a ``StreamClock``: when its listener will run out of audio. Before its first chunk that moment is
the stream's arrival (its listener is waiting already); after it, it is when the audio made so far ends, counted
in real time from the first chunk. Every graph call of a stream (a vocoder window, the encoder, the GPT's batched
decode step on behalf of the streams in it) waits at a ``ComputeLock`` and the waiter whose deadline is earliest
goes next. So:

- the first window of a new stream goes ahead of later windows of older streams whose playback buffer is still
  full (their deadline is seconds away, the new one's is already past);
- a stream whose buffer is about to run dry goes ahead of one that is far ahead;
- the GPT's step, which every stream in the batch needs for its next tokens, goes at the deadline of the neediest
  stream in it.

How the cores are shared follows from the settings (``StreamingSettings.overlap``): without overlap (boards with
two cores) the GPT and the vocoder take the same lock, one graph call at a time on every core, since two graphs
on two cores would each run at half speed and the neediest stream would wait for both; with overlap (four or more
cores) the GPT runs beside the vocoder on its own threads, and only vocoder calls take turns here.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time


class StreamClock:
    """When one stream's listener runs out of audio (``deadline``), and whether the stream was cancelled."""

    def __init__(self, cancelled: threading.Event | None = None):
        self.arrived = time.monotonic()
        self.first_audio: float | None = None
        self.audio_seconds = 0.0
        self._cancelled = cancelled or threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def produced(self, seconds: float) -> None:
        """``seconds`` more audio was handed to the listener."""
        if self.first_audio is None:
            self.first_audio = time.monotonic()
        self.audio_seconds += seconds

    def deadline(self) -> float:
        """The monotonic time at which the listener has heard everything produced so far."""
        if self.first_audio is None:
            return self.arrived
        return self.first_audio + self.audio_seconds


class ComputeLock:
    """A lock whose waiters are served earliest deadline first (ties: first come).

    threading.Lock and Condition wake waiters in no promised order, and queue.PriorityQueue hands out items, not
    turns at a lock; this is the few lines that make a lock out of a heap of waiting events.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._busy = False
        self._waiting: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()

    def hold(self, deadline: float | None = None) -> _Turn:
        """``with lock.hold(deadline):`` runs the block when no waiter with an earlier deadline is ahead of it."""
        return _Turn(self, time.monotonic() if deadline is None else deadline)

    def _acquire(self, deadline: float) -> None:
        with self._guard:
            if not self._busy and not self._waiting:
                self._busy = True
                return
            turn = threading.Event()
            heapq.heappush(self._waiting, (deadline, next(self._order), turn))
        turn.wait()  # _release hands the lock over directly: _busy stays True

    def _release(self) -> None:
        with self._guard:
            if self._waiting:
                heapq.heappop(self._waiting)[2].set()
            else:
                self._busy = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)


class _Turn:
    def __init__(self, lock: ComputeLock, deadline: float):
        self.lock, self.deadline = lock, deadline

    def __enter__(self) -> None:
        self.lock._acquire(self.deadline)

    def __exit__(self, *exc) -> None:
        self.lock._release()


class Paced:
    """A shared session (``sovits_enc``, ``sovits_dec``) whose calls for one stream take their turn at the
    ``ComputeLock`` at that stream's deadline."""

    def __init__(self, session, lock: ComputeLock, clock: StreamClock):
        self.session, self.lock, self.clock = session, lock, clock

    def run(self, *args, **kwargs):
        with self.lock.hold(self.clock.deadline()):
            return self.session.run(*args, **kwargs)

    def __getattr__(self, name):  # whatever else the runtime asks of a session
        return getattr(self.session, name)
