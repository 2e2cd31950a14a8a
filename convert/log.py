"""What the libraries underneath say while a conversion runs, kept out of the user's terminal.

NNCF prints its compression tables and rich progress bars, torch's ONNX exporter warns about tracing and
constant folding, transformers logs notices while loading a model. None of it is for the person running
``gsv-edge convert``, but it helps when a conversion misbehaves, so it all goes to one log file in the pack
(``convert.log``), and optionally to a second stream as well (``gsv-edge convert --verbose``).

Captured at the Python level: ``warnings``, whatever is written to ``sys.stdout`` or ``sys.stderr``, and the
``logging`` handlers of these libraries, which hold the terminal's stream from the moment they were made and
are pointed at the log meanwhile (a library first imported during the conversion makes its handler on the
redirected stream; it gets the terminal's stream back afterwards). Native code that writes to the process's
file descriptors directly (OpenVINO's and ONNX Runtime's C++ loggers) is not caught.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

# Loggers whose handlers write to the terminal (with every logger below them), besides the root logger.
LIBRARIES = ("nncf", "torch", "transformers", "onnxruntime", "onnx", "onnxscript", "openvino")


class _Sink:
    """The log file (and the echo stream, if any) as one text stream; one for stdout, one for stderr."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def release(self, stream: TextIO) -> None:
        """Write to ``stream`` from now on: whatever kept a reference to the sink past the capture (transformers
        keeps the flush method of the stderr it first saw) reaches the terminal instead of a closed file."""
        self.streams = (stream,)

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


class Capture:
    """The capture in force; ``uncaptured()`` lends the caller's own streams back for a moment."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self._stdout, self._stderr = stdout, stderr

    @contextlib.contextmanager
    def uncaptured(self) -> Iterator[None]:
        """stdout and stderr as they were before the capture (for the caller's own progress output)."""
        with contextlib.redirect_stdout(self._stdout), contextlib.redirect_stderr(self._stderr):
            yield


@contextlib.contextmanager
def captured(path: Path, echo: TextIO | None = None) -> Iterator[Capture]:
    """Send warnings, the libraries' log records and anything printed to stdout/stderr to ``path`` (and also to
    ``echo`` when given) until the block ends; everything is restored afterwards, also on error."""
    stdout, stderr = sys.stdout, sys.stderr
    with open(path, "w", encoding="utf-8") as log, contextlib.ExitStack() as stack:
        streams = (log, echo) if echo is not None else (log,)
        out, err = _Sink(*streams), _Sink(*streams)
        terminal = {stdout: out, sys.__stdout__: out, stderr: err, sys.__stderr__: err}
        stack.callback(out.release, stdout)
        stack.callback(err.release, stderr)
        stack.enter_context(_library_handlers(terminal, {out: stdout, err: stderr}))
        stack.enter_context(warnings.catch_warnings())
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: err.write(
            warnings.formatwarning(message, category, filename, lineno, line)
        )
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        yield Capture(stdout, stderr)


@contextlib.contextmanager
def _library_handlers(targets: dict[TextIO, _Sink], back: dict[_Sink, TextIO]) -> Iterator[None]:
    """Point the libraries' stream handlers that write to a terminal stream (a key of ``targets``) at its sink;
    afterwards, put them back, and point those made meanwhile on a sink at the stream ``back`` names."""
    moved = []
    for handler in _stream_handlers():
        if handler.stream in targets:
            moved.append((handler, handler.stream))
            handler.setStream(targets[handler.stream])
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)
        for handler in _stream_handlers():
            if handler.stream in back:  # made during the conversion, on the redirected stream
                handler.setStream(back[handler.stream])


def _stream_handlers() -> list[logging.StreamHandler]:
    """The stream handlers of the libraries' loggers, and the root logger's (OpenVINO's converter adds one there
    for the time of a conversion when the root has none)."""
    loggers = [logging.getLogger()] + [
        logger
        for name, logger in list(logging.Logger.manager.loggerDict.items())
        if isinstance(logger, logging.Logger) and name.split(".")[0] in LIBRARIES
    ]
    return [
        handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
