"""One question's answer in the making, the same object for every front end.

`Assistant.answer(question, history)` returns a `Response`. Iterate it (`for` or `async for`)
for events — ("token", str) and ("sentence", str) while a model writes, then ("final", Answer)
— or ask for the final `Answer` with `.answer()` / `await .aanswer()`. Preparation (condense,
retrieve, gate, compose the extractive answer) runs when the response is first read; the async
form runs it in a worker thread, so an event loop never waits on retrieval.

An answerer turns the prepared question into a `Generation`: the extractive answerer's has
nothing to stream (its answer was composed in preparation); the LLM's streams tokens and
checks each sentence's citations as it arrives (llm.py).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, AsyncIterator, Callable, Iterator, Protocol

from .answer import Answer

if TYPE_CHECKING:
    from .gate import GateDecision
    from .library import Library
    from .ranking import Candidate
    from .retrieval import Retrieval, Snapshot

TOKEN, SENTENCE, FINAL = "token", "sentence", "final"
Event = tuple[str, object]


@dataclass(frozen=True)
class Prepared:
    """A question taken as far as the extractive answer (or the decline), with what led to it."""

    question: str
    standalone: str
    extractive: Answer
    retrieval: "Retrieval | None" = None  # None when the request was declined before retrieval
    decision: "GateDecision | None" = None
    ranked: "list[Candidate]" = field(default_factory=list)  # the clauses, most likely to answer first
    snapshot: "Snapshot | None" = None
    library: "Library | None" = None
    checks: list[str] = field(default_factory=list)  # what preparation had to work around
    reading_note: str = ""  # the typos read as corpus words (spelling.py), told in every answer


class Generation(Protocol):
    """An answer being written: tokens (sync or async), the events each brings, the result."""

    def tokens(self) -> Iterator[str]: ...

    def atokens(self) -> AsyncIterator[str]: ...

    def feed(self, token: str) -> list[Event]: ...

    def result(self) -> Answer: ...

    def failed(self, exc: Exception) -> Answer: ...

    def close(self) -> None: ...


class Answerer(Protocol):
    def start(self, prepared: Prepared) -> Generation: ...


class Done:
    """A generation with nothing left to write: its answer is known."""

    def __init__(self, answer: Answer):
        self._answer = answer

    def tokens(self) -> Iterator[str]:
        return iter(())

    async def atokens(self) -> AsyncIterator[str]:
        return
        yield  # an async generator that yields nothing

    def feed(self, token: str) -> list[Event]:
        return []

    def result(self) -> Answer:
        return self._answer

    def failed(self, exc: Exception) -> Answer:
        raise exc

    def close(self) -> None:
        pass


class Extractive:
    """The answerer without a model: the extractive answer composed in preparation."""

    def start(self, prepared: Prepared) -> Generation:
        return Done(prepared.extractive)


class Response:
    def __init__(self, prepare: Callable[[], Prepared] | None, answerer: Answerer, answer: Answer | None = None):
        self._prepare = prepare
        self._answerer = answerer
        self._started = time.perf_counter()
        self._known = answer  # given up front: a cached answer
        self._final: Answer | None = None
        self._callbacks: list[Callable[[Answer], None]] = []
        self.prepared: Prepared | None = None  # set once read: how the answer came about

    @classmethod
    def of(cls, answer: Answer) -> "Response":
        """A response whose answer is already known (an answer cache)."""
        return cls(None, Extractive(), answer)

    def on_final(self, callback: Callable[[Answer], None]) -> "Response":
        """Call `callback` with the final answer, once, whichever way the response is read."""
        self._callbacks.append(callback)
        return self

    def __iter__(self) -> Iterator[Event]:
        if self._final is not None:
            yield FINAL, self._final
            return
        generation = self._start(self._prepare() if self._known is None else None)
        try:
            for token in generation.tokens():
                yield from generation.feed(token)
            answer = generation.result()
        except Exception as exc:  # a model that fails mid-answer: its generation falls back
            answer = generation.failed(exc)
        finally:
            generation.close()
        yield FINAL, self._finish(answer)

    async def __aiter__(self) -> AsyncIterator[Event]:
        if self._final is not None:
            yield FINAL, self._final
            return
        generation = self._start(await asyncio.to_thread(self._prepare) if self._known is None else None)
        try:
            async for token in generation.atokens():
                for event in generation.feed(token):
                    yield event
            answer = generation.result()
        except Exception as exc:
            answer = generation.failed(exc)
        finally:
            generation.close()
        yield FINAL, self._finish(answer)

    def answer(self) -> Answer:
        for _ in self:
            pass
        assert self._final is not None
        return self._final

    async def aanswer(self) -> Answer:
        async for _ in self:
            pass
        assert self._final is not None
        return self._final

    def _start(self, prepared: Prepared | None) -> Generation:
        if prepared is None:
            return Done(self._known)
        self.prepared = prepared
        return self._answerer.start(prepared)

    def _finish(self, answer: Answer) -> Answer:
        self._final = replace(answer, latency_ms=round((time.perf_counter() - self._started) * 1000, 1))
        for callback in self._callbacks:
            callback(self._final)
        return self._final
