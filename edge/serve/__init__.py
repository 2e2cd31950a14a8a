"""``gsv-edge serve``: one loaded pack served over Wyoming (Home Assistant) and OpenAI-compatible HTTP.

One file per part: ``service`` (the protocol-independent core: admission, deadlines, cancellation, the runner
that speaks each utterance), ``metrics`` (the Prometheus registry), ``http_app`` (the FastAPI app),
``wyoming_handler`` (the Wyoming event handler), ``sentences`` (text arriving in pieces cut into sentences),
``audio_formats`` (chunks to response bytes), ``main`` (both protocols in one event loop, SIGTERM draining).
Nothing here is imported by ``gsv-edge --help``: the command imports it when it runs.
"""
