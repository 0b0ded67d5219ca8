"""Checking a generated answer against the clauses it was given, sentence by sentence.

What the check guarantees for an answer with `mode == "llm"`:
- every [n] in the text refers to a clause that was given to the model;
- every sentence that cites a clause shares content with it: at least SUPPORT_THRESHOLD of
  the sentence's character bigrams occur in that clause (calibrated in
  bench/citation_check_calibration.py);
- a sentence whose citations all fail, or a substantive sentence with no citation, is
  removed; only short connectives and plain statements that the clauses do not settle
  the question may stand uncited;
- an answer left with no valid citation is not used: the extractive answer is returned.
Everything removed or flagged is listed in `Answer.checks`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .clause import Clause
from .lexical import normalize
from .sentences import sentence_spans

SUPPORT_THRESHOLD = 0.4
_MARKER = re.compile(r"[\[【]\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*[\]】]")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+(?:\s*[\[【]\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*[\]】])*")
_CONTENT = re.compile(r"[\u4e00-\u9fff0-9a-z%]")
# Sentences that may stand without a citation: they state no policy of their own.
_HEDGE = re.compile(r"(没有|未|无|并未|尚未)(作出|做出)?(明确|具体|直接)?(规定|涉及|提及|说明)|无法(确定|判断|回答)|"
                    r"不足以|请以.{0,12}为准|建议.{0,12}(咨询|询问)|如下|以下几|综上")
_MIN_CONTENT_CHARS = 6


def bigrams(text: str) -> set[str]:
    """Character bigrams of the content characters (CJK, digits, letters), markers removed."""
    runs = re.split(r"[^\u4e00-\u9fff0-9a-z%]+", normalize(_MARKER.sub(" ", text)))
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)}


def support(sentence: str, clause_text: str) -> float:
    """Share of the sentence's bigrams found in the clause (1.0 when it has none to check)."""
    grams = bigrams(sentence)
    if not grams:
        return 1.0
    return len(grams & bigrams(clause_text)) / len(grams)


def split_generated(text: str) -> list[str]:
    """Sentences of generated text, each keeping the markers that follow its full stop."""
    out, pos = [], 0
    for match in _SENTENCE_END.finditer(text):
        out.append(text[pos:match.end()])
        pos = match.end()
    if pos < len(text):
        out.append(text[pos:])
    return [s for s in out if s.strip()]


_OPEN_MARKER = re.compile(r"[\[【][\d\s,，、\-–]*$")


def ends_in_open_marker(text: str) -> bool:
    """A stream cut inside "[1, 2]": the sentence before it is not complete until the marker is."""
    return bool(_OPEN_MARKER.search(text))


def cited_numbers(sentence: str) -> list[int]:
    numbers: list[int] = []
    for group in _MARKER.findall(sentence):
        parts = re.split(r"\s*[,，、]\s*", group)
        for part in parts:
            if re.search(r"[\-–]", part):
                lo, hi = (int(x) for x in re.split(r"\s*[\-–]\s*", part)[:2])
                numbers.extend(range(lo, min(hi, lo + 20) + 1))
            else:
                numbers.append(int(part))
    return list(dict.fromkeys(numbers))


@dataclass
class CitationChecker:
    clauses: list[Clause]  # as numbered in the prompt: clauses[0] is [1]
    threshold: float = SUPPORT_THRESHOLD
    kept: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # prompt numbers, in order of first valid use
    cited_text: dict[int, str] = field(default_factory=dict)  # prompt number -> sentences citing it

    def feed(self, sentence: str) -> str | None:
        """The sentence as it may be shown (markers renumbered), or None if it must go."""
        numbers = cited_numbers(sentence)
        body = _MARKER.sub("", sentence).strip()
        newline = "\n" if "\n" in sentence.lstrip() else ""
        if not body:
            return None
        valid = []
        for n in numbers:
            if not 1 <= n <= len(self.clauses):
                self.checks.append(f"删除了不存在的引用 [{n}] / removed citation [{n}]: no such clause was given")
            elif support(body, self.clauses[n - 1].text) < self.threshold:
                self.checks.append(f"引用 [{n}] 与句子内容不符，已删除 / citation [{n}] does not support: {body[:40]}")
            else:
                valid.append(n)
        if not valid:
            content = len(_CONTENT.findall(normalize(body)))
            if numbers or (content >= _MIN_CONTENT_CHARS and not _HEDGE.search(body)):
                self.checks.append(f"删除了没有有效依据的句子 / removed an unsupported sentence: {body[:40]}")
                return None
            self.kept.append(body + newline)
            return body + newline
        for n in valid:
            if n not in self.order:
                self.order.append(n)
            self.cited_text[n] = self.cited_text.get(n, "") + body
        shown = body + "".join(f"[{self.order.index(n) + 1}]" for n in valid) + newline
        self.kept.append(shown)
        return shown

    @property
    def text(self) -> str:
        return "".join(self.kept).strip()

    @property
    def has_citations(self) -> bool:
        return bool(self.order)

    def quote_span(self, n: int) -> tuple[int, int]:
        """The sentence of clause [n] that shares most with what the answer said citing it."""
        clause = self.clauses[n - 1]
        said = bigrams(self.cited_text.get(n, ""))
        spans = sentence_spans(clause.text, clause.body_start) or [(clause.body_start, len(clause.text))]
        return max(spans, key=lambda s: (len(bigrams(clause.text[s[0]:s[1]]) & said), -s[0]))
