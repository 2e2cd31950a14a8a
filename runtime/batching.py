"""Continuous batching: the decode steps of every stream in one GPT call per step, on one copy of the weights.

A decode step reads all of the GPT's weights for one row of 512 numbers per stream, so it is bound by memory
bandwidth: several rows in one call cost little more than one (see docs/performance.md). ``BatchedT2S`` runs one
worker thread that owns a batch of rows, one per stream that is making tokens:

- **Join.** A stream's segment arrives as a ``Decoding`` (``runtime.t2s``). Its prefill runs as a call of its own
  between two steps (its rows are many, the others' one each), and its keys and values go into a free slot of the
  shared cache buffers (``KVBuffer``: [slots, heads, capacity, head_dim] per layer).
- **Step.** One call for all rows: each row's input is its last token at its own position, its mask shows its own
  slot's filled rows and hides the rest, so rows never see each other. Each row then chooses its token with its own
  sampler (seed, options, penalty history) and hands it to its stream through a queue.
- **Leave.** A row leaves at the next step boundary when its segment ends (EOS or the step cap), when its consumer
  closes the generator, or when its stream is cancelled. The last slot's rows move into the gap, so the batch's
  slots stay contiguous and a call never computes an empty row.

Why ONNX Runtime: its GPT graph keeps the KV cache in the host's buffers, passed in per call, and has a batch axis;
an OpenVINO stateful graph holds one sequence per infer request, so rows that join and leave at different lengths
cannot share a call. The GPT is quantized so that its activations are scaled per row (``convert``), which makes a
row's logits the same whatever else is in the batch: a stream gets the tokens it would get alone.

Memory: one copy of the weights; per stream, its KV rows (about 98 KB per cached row for the full-size GPT: 24
layers × keys and values × 512 numbers × 4 bytes) and its queue of token ids.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Iterator

import numpy as np

from gsv_edge.runtime.backends.onnxruntime_backend import KVBuffer
from gsv_edge.runtime.sampling import SamplingOptions
from gsv_edge.runtime.scheduling import ComputeLock, StreamClock
from gsv_edge.runtime.t2s import Decoding, Generation, T2SEmbeddings

CAPACITY_STEP = 64
"""Cache rows are reserved in steps of this many (as a solo session does)."""
_END = object()


class _Row:
    """One stream's segment in the batch."""

    def __init__(self, decoding: Decoding, clock: StreamClock):
        self.decoding, self.clock = decoding, clock
        self.tokens: queue.SimpleQueue = queue.SimpleQueue()
        """Token ids for the consumer, then ``_END`` or an exception."""
        self.closed = False
        """The consumer has stopped listening."""
        self.length = 0
        """Rows of this stream in its cache slot."""
        self.logits: np.ndarray | None = None

    @property
    def gone(self) -> bool:
        return self.closed or self.clock.cancelled


class BatchedT2S:
    """The GPT's decode steps of all streams in one call; see the module's note."""

    def __init__(self, session, embeddings: T2SEmbeddings, lock: ComputeLock | None = None):
        """``session``: the compiled ONNX Runtime t2s graph (with a batch axis); ``lock``: taken for every call
        (at the neediest row's deadline) when the GPT shares the cores with the vocoder."""
        self.session, self.embeddings, self._lock = session, embeddings, lock
        """The graph each call runs (the engine may wrap it to time its calls)."""
        self._past = [i.name for i in session.get_inputs() if i.name.startswith("past_")]
        self._outputs = ["logits", *[name.replace("past_", "new_") for name in self._past]]
        shape = session.get_inputs()[2].shape  # [batch, heads, capacity, head_dim]
        self._heads, self._head_dim = int(shape[1]), int(shape[3])
        self._cache: list[KVBuffer] = []
        self._rows: list[_Row] = []
        self._joining: list[_Row] = []
        self._wake = threading.Condition()
        self._accounting = threading.Lock()  # held while buffers or row lengths change (see ``memory``)
        self._stopping = False
        self._worker: threading.Thread | None = None
        self.steps = 0
        """Decode calls made so far (each for every row in the batch)."""
        self.rows_stepped = 0
        """Rows those calls advanced in all (``rows_stepped / steps`` is the mean batch)."""
        self.peak_rows = 0
        self.departures: collections.deque[tuple[int, str]] = collections.deque(maxlen=64)
        """The latest rows to leave: (``steps`` when it left, why: "ended", "closed" or "cancelled")."""

    # --- the streams' side -------------------------------------------------------------------------------

    def generate(
        self,
        phone_ids: np.ndarray,
        bert: np.ndarray,
        prompt: np.ndarray,
        options: SamplingOptions,
        seed: int | None,
        result: Generation | None = None,
        clock: StreamClock | None = None,
    ) -> Iterator[int]:
        """One segment's tokens, as ``runtime.t2s.decode_tokens`` makes them alone, each as soon as its step ran.
        Closing the generator early takes the row out of the batch at the next step."""
        row = _Row(Decoding(self.embeddings, phone_ids, bert, prompt, options, seed, result), clock or StreamClock())
        if row.decoding.done:
            return
        with self._wake:
            if self._stopping:
                raise RuntimeError("the batched GPT has been shut down")
            self._joining.append(row)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="gsv-edge-gpt-batch", daemon=True)
                self._worker.start()
            self._wake.notify()
        try:
            while (item := row.tokens.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            row.closed = True
            with self._wake:
                self._wake.notify()

    def close(self) -> None:
        """Stop the worker; rows still in the batch end with an error."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._worker is not None:
            self._worker.join(timeout=30)

    @property
    def rows(self) -> int:
        """Streams in the batch now."""
        return len(self._rows)

    @property
    def bytes_per_row(self) -> int:
        """KV cache bytes per cached row of one stream: every layer's keys and values, float32."""
        return len(self._past) * self._heads * self._head_dim * np.dtype(np.float32).itemsize

    def memory(self) -> tuple[int | None, int]:
        """(bytes of the shared KV buffers resident now, rows cached for the streams in the batch), read together
        (the worker changes neither while this holds its lock). Their memory is ``rows * bytes_per_row``, plus at
        most a partly used page per lane; None for the first where residency cannot be read (not Linux)."""
        with self._accounting:
            return self.resident_kv_bytes(), sum(row.length for row in self._rows)

    def lanes(self) -> int:
        """(slot, layer's keys or values, head) lanes of the buffers; each may end in a partly used page."""
        return sum(buffer.slots * buffer.heads for buffer in list(self._cache))

    def resident_kv_bytes(self) -> int | None:
        """Bytes of the shared KV buffers resident in memory now (None where that cannot be read)."""
        from gsv_edge.runtime.memory import resident_bytes

        total = 0
        for buffer in list(self._cache):
            # the recorded place, not a view: a view held by another thread would stop the worker resizing the map
            resident = resident_bytes(buffer.address, buffer.nbytes)
            if resident is None:
                return None
            total += resident
        return total

    # --- the worker ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._joining and not self._rows and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    self._fail_all(RuntimeError("the batched GPT was shut down while this stream was speaking"))
                    return
                joining, self._joining = self._joining, []
            try:
                for row in joining:
                    if row.gone:
                        row.tokens.put(_END)
                    else:
                        self._prefill(row)
                self._choose()
                self._leave()
                if self._rows:
                    self._step()
            except Exception as err:  # noqa: BLE001 - a failed call fails the streams in it, not the worker
                self._fail_all(err)

    def _turn(self, rows: list[_Row]):
        """The compute lock at the neediest row's deadline (or nothing, when the GPT has cores of its own)."""
        if self._lock is None:
            return contextlib.nullcontext()
        return self._lock.hold(min(row.clock.deadline() for row in rows))

    def _prefill(self, row: _Row) -> None:
        rows, mask = row.decoding.prefill()
        empty = np.zeros((1, self._heads, 0, self._head_dim), np.float32)  # no past: scores span its own rows
        feed = {"x": rows, "mask": mask, **dict.fromkeys(self._past, empty)}
        with self._turn([row]):
            outputs = self.session.run(self._outputs, feed)
        slot, count = len(self._rows), rows.shape[1]
        with self._accounting:
            self._reserve(slot + 1, count)
            for buffer, new in zip(self._cache, outputs[1:], strict=True):
                buffer.array[slot, :, :count] = new[0]
            row.length, row.logits = count, outputs[0][0]
            self._rows.append(row)

    def _choose(self) -> None:
        """Each row's token from its logits (its own sampler); rows whose segment ended get ``_END``."""
        for row in self._rows:
            if row.logits is None or row.gone:
                continue
            token = row.decoding.choose(row.logits)
            row.logits = None
            if token is not None:
                row.tokens.put(token)
            if row.decoding.done:
                row.tokens.put(_END)

    def _leave(self) -> None:
        """Take out the rows that ended or whose stream went away; the last slot fills each gap."""
        for slot in range(len(self._rows) - 1, -1, -1):
            row = self._rows[slot]
            if not (row.decoding.done or row.gone):
                continue
            if row.gone and not row.decoding.done:
                row.tokens.put(_END)  # a cancelled stream's consumer may be waiting for its next token
            reason = "ended" if row.decoding.done else "cancelled" if row.clock.cancelled else "closed"
            self.departures.append((self.steps, reason))
            last = len(self._rows) - 1
            with self._accounting:
                if slot != last:
                    moved = self._rows[last]
                    for buffer in self._cache:
                        buffer.move_slot(last, slot, moved.length)
                    self._rows[slot] = moved
                else:
                    for buffer in self._cache:
                        buffer.release_slot(slot)
                self._rows.pop()

    def _step(self) -> None:
        rows = self._rows
        count = len(rows)
        x = np.concatenate([row.decoding.next_row() for row in rows])  # [rows, 1, d]: each at its own position
        lengths = np.array([row.length for row in rows])
        with self._accounting:
            self._reserve(count, int(lengths.max()) + 1)
        capacity = self._cache[0].capacity
        # [its own filled rows | the rest of the slot (hidden) | its new row]
        mask = np.zeros((count, 1, 1, capacity + 1), dtype=np.float32)
        mask[:, 0, 0, :capacity] = np.where(np.arange(capacity)[None, :] < lengths[:, None], 0.0, -np.inf)
        arrays = [buffer.array[:count] for buffer in self._cache]
        feed = {"x": x, "mask": mask, **dict(zip(self._past, arrays, strict=True))}
        with self._turn(rows):
            outputs = self.session.run(self._outputs, feed)
        del feed
        del arrays  # views of the buffers: a buffer cannot grow while one is alive
        slots = np.arange(count)
        with self._accounting:
            for buffer, new in zip(self._cache, outputs[1:], strict=True):
                buffer.array[slots, :, lengths] = new[:, :, 0]
            for index, row in enumerate(rows):
                row.length += 1
                row.logits = outputs[0][index]
        self.steps += 1
        self.rows_stepped += count
        self.peak_rows = max(self.peak_rows, count)

    def _reserve(self, slots: int, rows: int) -> None:
        """Buffers with room for ``slots`` streams of ``rows`` cached rows each."""
        if not self._cache:
            capacity = max(CAPACITY_STEP, -(-rows // CAPACITY_STEP) * CAPACITY_STEP)
            self._cache = [KVBuffer(self._heads, self._head_dim, capacity, slots) for _ in self._past]
            return
        if slots > self._cache[0].slots:
            for buffer in self._cache:
                buffer.add_slots(max(slots, 2 * buffer.slots))
        if rows > self._cache[0].capacity:
            capacity = -(-rows // CAPACITY_STEP) * CAPACITY_STEP
            kept = max((row.length for row in self._rows), default=0)
            for buffer in self._cache:
                buffer.grow(capacity, kept, used_slots=len(self._rows))

    def _fail_all(self, err: BaseException) -> None:
        with self._wake:  # a Condition's lock is reentrant: _run may hold it already
            failed, self._rows, self._joining = [*self._rows, *self._joining], [], []
        for row in failed:
            row.tokens.put(err)
        for buffer in self._cache:
            for slot in range(buffer.slots):
                buffer.release_slot(slot)
