"""A loaded pack: which backend runs each graph, the compiled graphs, and the sessions over them.

    engine = Engine.open("packs/myvoice-laptop")          # the pack's own settings
    engine = Engine.open(pack, settings=load_profile("rpi4").settings, backend="onnxruntime")

Each graph is compiled once per process and shared. The SoVITS encoder and decoder sessions are shared by every
stream (one call at a time each: an OpenVINO infer request is not reentrant; whose call goes next is decided by
``compute_lock``, see ``runtime.scheduling``); each stream borrows a GPT session of its own (``t2s_session``),
because that holds the stream's KV cache, unless ``enable_batching`` has put every stream's decode steps into one
batched call (``runtime.batching``). Nothing above this module knows which engine runs a graph.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from gsv_edge.runtime.backends import Backend, open_backend
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.memory import fix_mmap_threshold, mapped_files, release_mapped_pages
from gsv_edge.runtime.pack import GraphFile, Manifest, read_manifest
from gsv_edge.runtime.sampling import SamplingOptions
from gsv_edge.runtime.scheduling import ComputeLock, StreamClock
from gsv_edge.runtime.settings import Settings
from gsv_edge.runtime.t2s import Generation, T2SEmbeddings, decode_tokens
from gsv_edge.runtime.vocoder import LATENT_CHANNELS

# When a pack holds several precisions of a graph, run the most compressed one (the profile chose them).
PRECISION_PREFERENCE = ("int4", "int8", "fp16", "fp32")
# The optional graphs: each is added by the convert option of its own name.
OPTIONAL_GRAPHS = ("hubert", "bert", "sv")

Wrap = Callable[[str, object], object]
"""``wrap(graph name, session) -> session``: see ``Engine.instrument``."""


class _OneCallAtATime:
    """A shared session that several streams call: one call at a time (an OpenVINO infer request is not
    reentrant; ONNX Runtime's run is, but a lock costs nothing beside a decoder call)."""

    def __init__(self, session):
        self.session, self._lock = session, threading.Lock()

    def run(self, *args, **kwargs):
        with self._lock:
            return self.session.run(*args, **kwargs)


class Engine:
    """The compiled graphs of one pack, on the backends its settings choose."""

    def __init__(self, pack: Path, manifest: Manifest, settings: Settings, main: Backend, by_graph: dict):
        self.pack, self.manifest, self.settings = pack, manifest, settings
        self.backend = main
        """The main backend: every graph the settings do not give another one."""
        self._by_graph: dict[str, Backend] = by_graph
        self._compiled: dict[str, object] = {}
        self._blobs: dict[str, set[str]] = {}
        self._shared: dict[str, object] = {}
        self._idle_t2s: list[object] = []
        self._pool_lock = threading.Lock()
        self._run_locks: dict[str, threading.Lock] = {}
        self._wrap: Wrap | None = None
        self._batcher = None
        self.compute_lock = ComputeLock()
        """Vocoder calls of all streams take turns here, earliest deadline first (and the batched GPT's steps too,
        when the GPT and the vocoder share the cores: ``runtime.scheduling``)."""
        if "t2s_embeddings" not in manifest.tables:
            raise GsvEdgeError(f"{pack}: the manifest names no t2s_embeddings table; convert the model again")
        with np.load(pack / manifest.tables["t2s_embeddings"], allow_pickle=False) as tables:
            self.embeddings = T2SEmbeddings(dict(tables))

    @classmethod
    def open(
        cls,
        pack: str | Path,
        settings: Settings | None = None,
        backend: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> Engine:
        """Open a pack (manifest and file hashes checked) with ``settings`` (default: the pack's own), every graph
        on ``backend`` when given. When OpenVINO cannot compile or run the GPT or the decoder and no backend was
        asked for, everything runs on ONNX Runtime instead (if the pack has its files)."""
        fix_mmap_threshold()  # before the graphs allocate anything (see runtime.memory)
        pack = Path(pack)
        manifest = read_manifest(pack)
        settings = settings or manifest.settings
        if backend is not None:
            main = open_backend(manifest, settings.runtime, backend, _path(cache_dir))
            settings = dataclasses.replace(settings, runtime=settings.runtime.only(main.name))
        else:
            main = open_backend(manifest, settings.runtime, None, _path(cache_dir))
        engine = cls(pack, manifest, settings, main, _graph_backends(manifest, settings, main))
        reason = engine._start()
        if reason is None:
            return engine
        has_onnx = all(manifest.graph(name, "onnxruntime") for name in ("t2s", "sovits_enc", "sovits_dec"))
        if main.name != "openvino" or backend == "openvino" or not has_onnx:
            raise GsvEdgeError(f"cannot load {pack} with {main.name}: {reason}")
        fallback = open_backend(manifest, settings.runtime, "onnxruntime")
        fallback.reason = f"fallback: openvino failed ({reason[:80]})"
        settings = dataclasses.replace(settings, runtime=settings.runtime.only("onnxruntime"))
        engine = cls(pack, manifest, settings, fallback, {})
        reason = engine._start()
        if reason is not None:
            raise GsvEdgeError(f"cannot load {pack} with onnxruntime either: {reason}")
        return engine

    def _start(self) -> str | None:
        """Compile the GPT and warm up the decoder. None, or the first line of the engine's error when it cannot
        compile or run one of them."""
        try:
            with self.t2s_session():
                pass
            self._warm_up_decoder()
        except RuntimeError as err:  # both engines raise RuntimeError subclasses for a graph they cannot run
            return (str(err).strip().splitlines() or [type(err).__name__])[0]
        return None

    def _warm_up_decoder(self) -> None:
        """Decode silence once on each window length, at load. OpenVINO repacks the decoder's weights on its
        first call (about 130 ms for the full-size model), which would otherwise delay the first audio; after that
        it never reads the weight file it memory-mapped (or the compiled blob it read back from the cache, which
        it maps the same way), so those pages are handed back to the system."""
        decoder, ge = self.session("sovits_dec"), np.zeros((1, self.decoder_gin()), np.float32)
        for frames in self.settings.streaming.decoder_windows:
            decoder.run(np.zeros((1, LATENT_CHANNELS, frames), np.float32), ge)
        for name in self.graph_file("sovits_dec").files:
            release_mapped_pages(self.pack / name)
        for blob in self._blobs.get("sovits_dec", ()):  # read back from the compiled-graph cache: the same holds
            release_mapped_pages(blob)

    # --- which backend, which file ------------------------------------------------------------------------

    def backend_for(self, name: str) -> Backend:
        """The backend that runs graph ``name``."""
        return self._by_graph.get(name, self.backend)

    def graph_file(self, name: str) -> GraphFile:
        """The pack's file for graph ``name`` on its backend, most compressed first; GsvEdgeError without one."""
        backend = self.backend_for(name)
        graph = self.manifest.graph(name, backend.name, PRECISION_PREFERENCE)
        if graph is None:
            option = name if name in OPTIONAL_GRAPHS else None
            fix = f"convert the model again with the {option} option" if option else "convert the model again"
            raise GsvEdgeError(f"the pack has no {name} graph for {backend.name}; {fix}", option=option)
        return graph

    def has_graph(self, name: str) -> bool:
        return self.manifest.graph(name, self.backend_for(name).name) is not None

    # --- compiled graphs and sessions ---------------------------------------------------------------------

    def compiled(self, name: str):
        """Graph ``name`` compiled on its backend (once per engine)."""
        if name not in self._compiled:
            threads = self.settings.runtime.vocoder_threads if name.startswith("sovits") else 0
            backend = self.backend_for(name)
            cache = backend.compiled_cache
            before = mapped_files(cache) if cache else set()
            self._compiled[name] = backend.load(self.pack / self.graph_file(name).files[0], threads)
            # the compiled blob this graph was read back from, when it came from the cache (see _warm_up_decoder)
            self._blobs[name] = (mapped_files(cache) - before) if cache else set()
        return self._compiled[name]

    def run(self, name: str, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One call of a plain graph (hubert, ref_enc, sv, bert): named inputs → named outputs. One call at a time
        per graph: an OpenVINO compiled model called directly uses one infer request, which is not reentrant
        (two streams' BERT calls at once fail with "Infer Request is busy")."""
        with self._pool_lock:
            lock = self._run_locks.setdefault(name, threading.Lock())
        with lock:
            return self.backend_for(name).run(self.compiled(name), feed)

    def session(self, name: str):
        """The shared session of sovits_enc or sovits_dec (see the module's note)."""
        if name not in self._shared:
            raw = self.backend_for(name).session(name, self.compiled(name))
            self._shared[name] = _OneCallAtATime(raw)
        session = self._shared[name]
        return self._wrap(name, session) if self._wrap else session

    @contextlib.contextmanager
    def t2s_session(self) -> Iterator[object]:
        """Borrow a GPT session (its KV cache is the borrower's until it is handed back)."""
        with self._pool_lock:
            raw = self._idle_t2s.pop() if self._idle_t2s else None
        if raw is None:
            raw = self.backend_for("t2s").session("t2s", self.compiled("t2s"))
        try:
            yield self._wrap("t2s", raw) if self._wrap else raw
        finally:
            with self._pool_lock:
                self._idle_t2s.append(raw)

    def generate_tokens(
        self,
        phone_ids: np.ndarray,
        bert: np.ndarray,
        prompt: np.ndarray,
        options: SamplingOptions,
        seed: int | None,
        result: Generation | None = None,
        clock: StreamClock | None = None,
    ) -> Iterator[int]:
        """One segment's semantic tokens, each yielded as soon as it is sampled (``runtime.t2s.decode_tokens``): in
        the batch when batching is on (``clock``: the stream's, for scheduling and cancellation), else on a GPT
        session borrowed for the segment. Closing the generator early hands the session or the row back at once."""
        if self._batcher is not None:
            yield from self._batcher.generate(phone_ids, bert, prompt, options, seed, result, clock)
            return
        with self.t2s_session() as t2s:
            yield from decode_tokens(t2s, self.embeddings, phone_ids, bert, prompt, options, seed, result)

    def instrument(self, wrap: Wrap | None) -> None:
        """For benchmarks and tests: every session handed out from now on is ``wrap(graph name, session)``
        (timing calls, counting them, or failing on purpose), and so is the batched GPT's; ``None`` switches it
        off."""
        self._wrap = wrap
        if self._batcher is not None:
            raw = self.compiled("t2s")
            self._batcher.session = wrap("t2s", raw) if wrap else raw

    # --- batching -----------------------------------------------------------------------------------------

    def batching_problem(self) -> str | None:
        """Why this engine cannot batch the GPT's decode steps across streams, or None when it can."""
        backend = self.backend_for("t2s").name
        if backend != "onnxruntime":
            return (f"the GPT runs on {backend}, whose stateful graph holds one stream per call; batching needs the "
                    "GPT on onnxruntime (runtime.t2s_backend)")  # fmt: skip
        shape = self.compiled("t2s").get_inputs()[2].shape
        if isinstance(shape[0], int):
            return "the pack's GPT graph has no batch axis (converted by an older gsv-edge); convert the model again"
        return None

    def enable_batching(self) -> str | None:
        """Put every stream's GPT decode steps into one batched call from now on; the reason when it cannot be
        done (then each stream keeps a GPT session of its own). The batched steps take ``compute_lock`` unless
        the settings overlap the GPT with the vocoder (cores to spare)."""
        from gsv_edge.runtime.batching import BatchedT2S

        problem = self.batching_problem()
        if problem is None and self._batcher is None:
            lock = None if self.settings.streaming.overlap else self.compute_lock
            raw = self.compiled("t2s")
            self._batcher = BatchedT2S(self._wrap("t2s", raw) if self._wrap else raw, self.embeddings, lock)
        return problem

    @property
    def batcher(self):
        """The batched GPT (``runtime.batching.BatchedT2S``), or None when each stream has a session of its own."""
        return self._batcher

    def disable_batching(self) -> None:
        """Back to a GPT session per stream: the batched GPT's worker stops (streams still in it end with an
        error)."""
        if self._batcher is not None:
            self._batcher.close()
            self._batcher = None

    def decoder_gin(self) -> int:
        """Width of the speaker vector ``ge`` the SoVITS decoder takes (512 for v1/v2, 1024 for v2Pro)."""
        compiled = self.compiled("sovits_dec")
        if self.backend_for("sovits_dec").name == "openvino":
            return int(compiled.input("ge").get_partial_shape()[1].get_length())
        return int(next(i.shape[1] for i in compiled.get_inputs() if i.name == "ge"))


def _graph_backends(manifest: Manifest, settings: Settings, main: Backend) -> dict[str, Backend]:
    """The backends of the graphs the settings put on another engine than the main one (when the pack has that
    graph for it), e.g. ONNX Runtime for the GPT and the SoVITS encoder beside OpenVINO's decoder."""
    chosen = {}
    for graph, key in (("t2s", "t2s_backend"), ("sovits_enc", "sovits_enc_backend"), ("bert", "bert_backend")):
        wanted = settings.runtime.backend_for(graph)
        if wanted == main.name or manifest.graph(graph, wanted) is None:
            continue
        backend = open_backend(manifest, settings.runtime, wanted)
        backend.reason = f"settings: runtime.{key}"
        chosen[graph] = backend
    return chosen


def _path(value: str | Path | None) -> Path | None:
    return Path(value) if value is not None else None
