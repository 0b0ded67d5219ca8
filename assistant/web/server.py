"""One process: web UI at /, REST API under /api, OpenAI-compatible API under /v1,
WeChat callbacks at /wechat and /wecom, health at /healthz — sharing one loaded Assistant."""
from __future__ import annotations

import argparse
import logging
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from . import api, errors, openai_api
from .wechat import routes as wechat_routes
from .admission import AdmissionControl
from .app_state import AppState
from ..config import Settings, SettingsError, configure_process

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_SECONDS = 5


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    settings = settings or Settings.load()
    configure_process(settings)  # before Gradio and the embedding model load
    import gradio as gr

    from .webui import CSS, build_ui
    from .webui_zh import I18N, LOCALIZE_JS

    state = state or AppState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        state.start()
        yield
        state.feedback.flush()  # the questions still queued for the log

    app = FastAPI(title="干部政策问答助手 API", version=__version__, lifespan=lifespan,
                  description="Clause-cited answers from the policy corpus. Errors: {\"error\": {\"code\", \"message\"}} "
                              "(under /v1 in OpenAI's shape).")
    # What the routes are given (deps.get_state, wechat.routes.get_channels).
    app.state.policyqa = state
    app.state.wechat = wechat_routes.make_channels(state)
    app.include_router(api.router)
    app.include_router(openai_api.router)
    app.include_router(wechat_routes.router)
    errors.install(app)
    app.add_middleware(AdmissionControl, max_concurrent=settings.max_concurrent, max_queue=settings.max_queue,
                       queue_timeout=settings.queue_timeout)
    # Mounted last: the routes above take precedence over the UI at "/".
    return gr.mount_gradio_app(app, build_ui(state), path="/", css=CSS, js=LOCALIZE_JS, i18n=I18N, footer_links=[],
                               max_file_size=f"{settings.max_upload_mb}mb")


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings.load()
    except SettingsError as exc:
        sys.exit(f"错误 / error: {exc}")
    parser = argparse.ArgumentParser(description="干部政策问答助手：网页、REST API、微信回调")
    parser.add_argument("--host", default=settings.host, help=f"listen address (POLICYQA_HOST, default {settings.host})")
    parser.add_argument("--port", type=int, default=settings.port, help=f"port (POLICYQA_PORT, default {settings.port})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    log.info("policy-qa on http://%s:%d (corpus %s, index %s)", args.host, args.port, settings.corpus_dir,
             settings.chroma_location)
    # A browser tab's open event stream would otherwise hold a restart up indefinitely.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
