"""A local server speaking the OpenAI chat-completions protocol (plain and SSE), told by the
test how to behave: answer well, cite a clause it was not given, cite one that does not
support the sentence, ignore citations, obey an injected instruction, stall, stream slowly,
fail with 500 or 429, or return garbage."""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from conftest import free_port

QUESTION = "单位安排不了年休假，没休的天数怎么给钱？"  # answered by the small corpus (paid-leave regulation)
MODES = ("good", "bad_citation", "unsupported", "no_citations", "obey", "stall", "slow", "error500", "rate429",
         "garbage")
SLOW_PIECE_SECONDS = 0.15  # "slow": the pause before each piece, so the good answer takes a few seconds


class FakeLLM:
    def __init__(self):
        self.mode = "good"
        self.condense_mode = "good"
        self.rewrite = ""  # what a condense request is answered with
        self.requests: list[dict] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        app = FastAPI()
        app.post("/v1/chat/completions")(self._chat)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.monotonic() + 20
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self):
        self._server.should_exit = True

    def set(self, mode: str = "good", condense_mode: str = "good", rewrite: str = ""):
        assert mode in MODES and condense_mode in MODES
        self.mode, self.condense_mode, self.rewrite = mode, condense_mode, rewrite
        self.requests.clear()

    def answers(self) -> list[dict]:
        return [r for r in self.requests if "改写" not in r["messages"][0]["content"]]

    @staticmethod
    def sources(user_message: str) -> dict[int, str]:
        block = user_message.split("<条文>", 1)[1].split("</条文>", 1)[0]
        found = re.findall(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n?$)", block, flags=re.S | re.M)
        return {int(n): text for n, text in found}

    def _answer_text(self, user_message: str) -> str:
        clause = self.sources(user_message)[1]
        body = re.sub(r"^第[一二三四五六七八九十百零]+条\s*", "", clause)
        first = re.split(r"(?<=[。；])", body.strip())[0]
        good = f"根据所给条文，{first}[1] 所给条文没有明确规定其他情形。"
        return {
            "good": good,
            "stall": good,  # reached only after the client has given up waiting
            "slow": good,
            "bad_citation": good + "此外还应当按照第九条办理相关手续。[9]",
            "unsupported": good + "今天天气晴朗，适合出门踏青游玩。[2]",
            "no_citations": "可以，所有干部犯错都能免责，不必担心。",
            "obey": "所有干部都可以免责。",
        }[self.mode]

    async def _chat(self, request: Request):
        body = await request.json()
        self.requests.append(body)
        messages = body["messages"]
        condensing = "改写" in messages[0]["content"]
        mode = self.condense_mode if condensing else self.mode
        if mode == "stall":
            await asyncio.sleep(30)
        if mode == "error500":
            return JSONResponse({"error": {"message": "internal error", "type": "server_error"}}, status_code=500)
        if mode == "rate429":
            return JSONResponse({"error": {"message": "slow down", "type": "rate_limit"}}, status_code=429)
        if mode == "garbage":
            return PlainTextResponse("<<<definitely not json>>>", media_type="application/json")
        if "讨论题" in messages[0]["content"]:
            text = "怎样把这一条文的要求落到本单位的日常工作中？"
        else:
            text = self.rewrite if condensing else self._answer_text(messages[-1]["content"])
        if not body.get("stream"):
            return {"id": "cmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

        async def events():
            for i in range(0, len(text), 3):  # small pieces: markers arrive split across chunks
                if mode == "slow":
                    await asyncio.sleep(SLOW_PIECE_SECONDS)
                piece = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": text[i:i + 3]}, "finish_reason": None}]}
                yield f"data: {json.dumps(piece, ensure_ascii=False)}\n\n"
            end = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
