"""The HTTP side: an OpenAI-compatible speech endpoint and the server's own, as one FastAPI app.

``create_app(service, api_key)`` builds it; ``gsv-edge serve`` runs it with uvicorn, and another ASGI host (a
Ray Serve ingress) can mount the same app over its own ``Service``.

- ``POST /v1/audio/speech``: OpenAI's request (``model``, ``input``, ``voice``, ``response_format``, ``speed``,
  ``stream_format``) plus ``language``, ``seed``, ``top_k``, ``top_p``, ``temperature``. wav and pcm stream from
  the first vocoded chunk; ``stream_format: "sse"`` sends OpenAI's ``speech.audio.delta`` events (base64 of the
  same bytes) and a ``speech.audio.done`` event; flac, mp3 and opus are sent whole (``audio_formats``).
- ``GET /v1/models``, ``GET /v1/audio/voices``, ``GET /health``, ``GET /metrics``.
- ``POST /v1/voices`` (multipart: ``name``, ``clip``, ``transcript``, ``language``) and ``DELETE /v1/voices/{id}``,
  only when the server has an API key: the same voice files as ``gsv-edge voice add``; the clip is kept only in a
  temporary file while it is enrolled.

With an API key every route but ``/health`` needs ``Authorization: Bearer KEY``. Every error is JSON
``{"error": {"message", "type", "param", "code"}}`` with a 4xx or 5xx status, never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from gsv_edge.edge.serve.audio_formats import CONTENT_TYPES, STREAMED, check_format, encode_whole, pcm16
from gsv_edge.edge.serve.metrics import CONTENT_TYPE
from gsv_edge.edge.serve.service import (
    MAX_INPUT_CHARACTERS,
    DeadlineExceeded,
    ServerBusy,
    Service,
    SpeechRequest,
    VoiceNotFound,
)
from gsv_edge.runtime.audio_out import wav_stream_header
from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.synthesizer import SpeechOptions
from gsv_edge.runtime.vocoder import SAMPLE_RATE

LOG = logging.getLogger("gsv_edge.serve")

MODEL_ID = "gsv-edge"
# A speech request is a few KB of JSON (4096 characters of input, at most 16 KB in UTF-8); a voice upload is a
# 3-10 s clip (10 s of 48 kHz stereo 32-bit WAV is under 4 MB) and its transcript.
MAX_JSON_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
               413: "request_too_large", 422: "invalid_request_error", 503: "server_busy", 504: "timeout"}  # fmt: skip


class VoiceRef(BaseModel):
    id: str


class SpeechBody(BaseModel):
    """OpenAI's speech request, and gsv-edge's own fields. Fields OpenAI has and gsv-edge does not use
    (``instructions``) are accepted and ignored, so existing clients work unchanged."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=256, description="Any name: the server has one model.")
    input: str = Field(min_length=1, max_length=MAX_INPUT_CHARACTERS)
    voice: str | VoiceRef
    response_format: str = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    stream_format: Literal["audio", "sse"] = "audio"
    language: str = "auto"
    seed: int | None = Field(None, ge=0, lt=2**63)
    top_k: int | None = Field(None, ge=1)
    top_p: float = Field(1.0, gt=0, le=1)
    temperature: float = Field(1.0, gt=0)

    @property
    def voice_id(self) -> str:
        return self.voice if isinstance(self.voice, str) else self.voice.id


def create_app(service: Service, api_key: str | None = None) -> FastAPI:
    """The FastAPI app over ``service``; with ``api_key``, bearer authentication and the voice routes."""
    app = FastAPI(title="gsv-edge", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        _BodyLimit,
        limits={"/v1/voices": MAX_UPLOAD_BYTES},
        default=MAX_JSON_BYTES,
        refused=lambda path: service.refused("http") if path == "/v1/audio/speech" else None,
    )
    _error_handlers(app, service)
    enrolling = asyncio.Lock()  # one enrollment at a time: it runs HuBERT on every core

    async def authorized(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key; send 'Authorization: Bearer KEY'",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip

    guarded = [Depends(authorized)]

    @app.get("/health")
    async def health() -> JSONResponse:
        state = {"status": "draining" if service.draining else "ok", "streams_active": service.streams_active,
                 "requests_waiting": service.requests_waiting, "max_streams": service.limits.max_streams,
                 "queue": service.limits.queue}  # fmt: skip
        return JSONResponse(state, status_code=503 if service.draining else 200)

    @app.get("/metrics", dependencies=guarded)
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "gsv-edge"}]}

    @app.get("/v1/audio/voices", dependencies=guarded)
    async def voices() -> dict:
        entries = await asyncio.to_thread(service.voices)
        return {"voices": [_voice_entry(e) for e in entries]}

    @app.post("/v1/audio/speech", dependencies=guarded)
    async def speech(body: SpeechBody) -> Response:
        fmt = body.response_format
        try:
            check_format(fmt)
            if body.stream_format == "sse" and fmt not in STREAMED:
                raise GsvEdgeError(f"stream_format 'sse' sends wav or pcm, not {fmt!r}; choose one of them")
            options = SpeechOptions(top_k=body.top_k, top_p=body.top_p, temperature=body.temperature,
                                    speed=body.speed, seed=body.seed)  # fmt: skip
        except GsvEdgeError:
            service.refused("http")
            raise
        utterance = await service.open(SpeechRequest(body.input, body.voice_id, body.language, options, "http"))
        if body.stream_format == "sse":
            return StreamingResponse(_sse(utterance, fmt), media_type="text/event-stream")
        if fmt in STREAMED:
            return StreamingResponse(_streamed(utterance, fmt), media_type=CONTENT_TYPES[fmt])
        async with utterance:
            pieces = [chunk.samples async for chunk in utterance]
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        encoded = await asyncio.to_thread(encode_whole, fmt, samples, SAMPLE_RATE)
        return Response(encoded, media_type=CONTENT_TYPES[fmt])

    @app.post("/v1/voices", dependencies=guarded, status_code=201)
    async def add_voice(
        name: Annotated[str, Form()], transcript: Annotated[str, Form()], clip: Annotated[UploadFile, File()],
        language: Annotated[str, Form()] = "auto", force: Annotated[bool, Form()] = False,
    ) -> dict:  # fmt: skip
        _voices_need_a_key(api_key)
        from gsv_edge.runtime.enroll import enroll_voice
        from gsv_edge.runtime.voices import VoiceExists, check_name, save_voice

        check_name(name)
        folder = service.synth.voices_dir
        if (folder / f"{name}.npz").exists() and not force:
            raise HTTPException(409, f"voice {name!r} already exists; send force=true to replace it")
        data = await clip.read()
        async with enrolling:
            voice = await asyncio.to_thread(_enroll_from_bytes, service, name, data, clip.filename, transcript,
                                            language, enroll_voice)  # fmt: skip
            try:  # exclusive unless forced: of two uploads of one name at once, one wins
                await asyncio.to_thread(save_voice, voice, folder, force)
            except VoiceExists:
                raise HTTPException(409, f"voice {name!r} already exists; send force=true to replace it") from None
        return _voice_entry(voice.metadata())

    @app.delete("/v1/voices/{voice_id}", dependencies=guarded)
    async def remove_voice(voice_id: str) -> dict:
        _voices_need_a_key(api_key)
        from gsv_edge.runtime.voices import check_name
        from gsv_edge.runtime.voices import remove_voice as remove

        check_name(voice_id)
        folder = service.synth.voices_dir
        if not (folder / f"{voice_id}.npz").exists():
            raise VoiceNotFound(f"no voice {voice_id!r}; see GET /v1/audio/voices")
        await asyncio.to_thread(remove, folder, voice_id)
        return {"id": voice_id, "deleted": True}

    return app


# --- response bodies ---------------------------------------------------------------------------------------


async def _streamed(utterance, fmt: str):
    """wav or pcm, chunk by chunk. An error after the first bytes can only end the body early (the status line
    has gone out); it is in the server's log line."""
    async with utterance:
        if fmt == "wav":
            yield wav_stream_header(SAMPLE_RATE)
        try:
            async for chunk in utterance:
                yield pcm16(chunk.samples)
        except GsvEdgeError as err:
            LOG.warning("stream ended early: %s", err)


async def _sse(utterance, fmt: str):
    """OpenAI's speech events: ``speech.audio.delta`` with base64 audio, then ``speech.audio.done`` with the
    usage (input: phones, output: semantic tokens), or an ``error`` event."""
    async with utterance:
        try:
            if fmt == "wav":
                yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(wav_stream_header(SAMPLE_RATE))})
            async for chunk in utterance:
                yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(pcm16(chunk.samples))})
        except GsvEdgeError as err:
            yield _event({"type": "error", "error": _error_body(str(err), _status_of(err))["error"]})
            return
        phones = sum(len(segment.phone_ids) for segment in utterance.speech.segments)
        tokens = sum(len(made) for made in utterance.tokens)
        usage = {"input_tokens": phones, "output_tokens": tokens, "total_tokens": phones + tokens}
        yield _event({"type": "speech.audio.done", "usage": usage})


def _event(data: dict) -> bytes:
    if isinstance(data.get("audio"), bytes):
        data = {**data, "audio": data["audio"].decode("ascii")}
    return f"data: {json.dumps(data)}\n\n".encode()


# --- voices ------------------------------------------------------------------------------------------------


def _voice_entry(entry: dict) -> dict:
    return {"id": entry["name"], "name": entry["name"], "languages": [entry.get("language", "auto")]}


def _voices_need_a_key(api_key: str | None) -> None:
    if api_key is None:
        raise HTTPException(403, "managing voices over HTTP needs a server started with --api-key")


def _enroll_from_bytes(service, name, data: bytes, filename, transcript, language, enroll_voice):
    """Enroll from the uploaded bytes: they exist only in a temporary file while the clip is read."""
    suffix = Path(filename or "clip.wav").suffix[:8] or ".wav"
    with tempfile.TemporaryDirectory(prefix="gsv-edge-clip-") as folder:
        path = Path(folder) / f"clip{suffix}"
        path.write_bytes(data)
        return enroll_voice(service.synth.engine, name, path, transcript, language, service.synth.front_end)


# --- errors ------------------------------------------------------------------------------------------------


def _status_of(err: GsvEdgeError) -> int:
    if isinstance(err, VoiceNotFound):
        return 404
    if isinstance(err, ServerBusy):
        return 503
    if isinstance(err, DeadlineExceeded):
        return 504
    return 400


def _error_body(message: str, status: int, param: str | None = None) -> dict:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": " ".join(str(message).split()), "type": kind, "param": param, "code": None}}


def _error_handlers(app: FastAPI, service: Service) -> None:
    def speech_refused(request: Request) -> None:
        """A speech request refused before it reached the service still counts in gsv_requests_total."""
        if request.url.path == "/v1/audio/speech":
            service.refused("http")

    @app.exception_handler(GsvEdgeError)
    async def library_error(request: Request, err: GsvEdgeError) -> JSONResponse:
        status = _status_of(err)
        headers = {"Retry-After": str(err.retry_after)} if isinstance(err, ServerBusy) else None
        return JSONResponse(_error_body(str(err), status, err.option), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        speech_refused(request)
        first = err.errors()[0] if err.errors() else {}
        where = [str(part) for part in first.get("loc", ()) if part != "body"]
        if first.get("type") == "json_invalid":  # its loc is a character position, not a field
            reason = first.get("ctx", {}).get("error", "cannot parse it")
            return JSONResponse(_error_body(f"the body is not valid JSON ({reason})", 400), status_code=400)
        message = f"{'.'.join(where) or 'body'}: {first.get('msg', 'invalid value')}"
        return JSONResponse(_error_body(message, 400, ".".join(where) or None), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        if err.status_code == 413:
            speech_refused(request)
        detail = err.detail if isinstance(err.detail, str) else json.dumps(err.detail)
        return JSONResponse(_error_body(detail, err.status_code), status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        LOG.exception("request failed: %s %s", request.method, request.url.path)
        return JSONResponse(_error_body(f"internal error ({type(err).__name__})", 500), status_code=500)


class _BodyLimit:
    """Refuses a request body over its path's limit with 413, whether it says its length up front or not.
    (Starlette has no body-size option; uvicorn's limits are on headers only.)"""

    def __init__(self, app, limits: dict[str, int], default: int, refused):
        self.app, self.limits, self.default, self.refused = app, limits, default, refused

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((n for prefix, n in self.limits.items() if scope["path"].startswith(prefix)), self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = f"the request body is over {limit // 1024} KiB"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self.refused(scope["path"])
            await JSONResponse(_error_body(too_large, 413), status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)
