"""The coverage gate: answered, answered tentatively, or declined.

First the request itself: a translation, a poem, or an attempt to make the assistant set
its rules aside is not a policy question, whatever words it contains. Then the evidence,
as features that do not need the cadre to use the statute's words — how likely the ranker
finds the best clause to answer, the best similarity (to associated questions, or to
clauses where there are none), the share of the question's weighted terms (with their
thesaurus forms) one top clause and its associated questions hold, the share of words the
corpus never uses in any form and how much of the rest no clause holds, whether a quote
the answer would cite states the amount asked for, and whether the question names a
subject no document governs. A
logistic model turns them into the probability that the corpus answers the question; two
thresholds split it into three outcomes.

The model and thresholds are data (`data/gate.json`), fitted by `policy-qa calibrate` on
the calibration half of the evaluation sets only (see calibration.py); nothing here is
set by hand at the edge of a test set.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from .answer import Answer, with_notes
from .clause import search_text
from .compose import pick_clauses
from .evidence import asked_units, states_amount
from .lexical import normalize
from .library import AbsentDocument
from .logistic import REGIMES, LogisticModel, read, regime
from .procedure import procedure_met_by_sanction
from .query import topics_named
from .ranking import Candidate
from .retrieval import Retrieval, Snapshot
from .thesaurus import default_thesaurus


GATE_DEPTH = 5  # clauses examined
MODEL_FILE = Path(__file__).parent / "data" / "gate.json"

ANSWERED, TENTATIVE, DECLINED = "answered", "tentative", "declined"
NOT_COVERED = "知识库中没有找到相关规定。"

_NOT_A_POLICY_QUESTION = re.compile(
    r"翻译|译成|翻成|译为|\btranslate\b|英文怎么说|英语怎么说|写一首|写首|作诗|写诗|写一篇|写篇|写一段|作文|"
    r"讲个笑话|讲笑话|编个故事|写代码|编程|\bcode\b|"
    r"[帮替给]我(?:写|起草|拟|润色|改写|编)|帮忙(?:写|起草|拟|润色)|"  # a writing job, not a question
    r"[帮替给]我把[^。？！\n]{0,40}(?:改成|改为|改写|写成|润色|翻译)|"  # … or rewriting one
    r"[你您](?:觉得|认为|看)[^，。？！\n]{0,12}(?:这人|这个人|为人|人品|人怎么样|人咋样)",  # judging a person
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|别管|跳过|绕过|抛开|违反)[^。！？\n]{0,12}(规则|指令|指示|设定|限制|提示词|约束|条款|要求|身份)|"
    r"(忽略|无视|忘记|忘掉|不要理会|别管|不用管|不要管|跳过|绕过|抛开)[^。！？\n]{0,8}(知识库|资料|文件|条文|依据|出处)|"
    r"你现在是|你现在扮演|扮演(?:一个|一下|个|成|我)|假装你是|进入[^。\n]{0,8}模式|开发者模式|越狱|jailbreak|\bDAN\b|"
    r"system prompt|系统提示|提示词|不受(任何)?限制|ignore (all |the )?(previous|above|prior)|"
    r"你(?:现在)?就是[^，。？！\n]{0,6}(?:部长|书记|局长|主任|领导|组织部|纪委|人事)|"  # playing who decides
    r"(?:回答|答复|回复|以后|今后|接下来|你)[^。？！\n]{0,8}(?:别|不要|不用|无需|不必)再?(?:给我)?(?:标|注|加|列|给|带)"
    r"明?(?:出处|来源|引用|条文)",  # being told to answer without citing
    re.IGNORECASE,
)

FEATURES = ("relevance", "similarity", "coverage", "head_coverage", "unknown", "unknown_uncovered",
            "amount_missing", "uncovered_topic")


@dataclass(frozen=True)
class GateFeatures:
    relevance: float  # how likely the best-ranked clause is to answer (ranking.py)
    similarity: float  # best associated-question similarity when the best clause has associated questions,
    #                    else best clause similarity: beside the questions, which speak a cadre's words,
    #                    the clause similarity only added noise
    coverage: float  # best weighted share of question terms in one clause and its associated questions
    head_coverage: float  # share of the question's two most specific known terms the best clause holds
    unknown: float  # share of the question's weight in words the corpus never uses in any form
    unknown_uncovered: float  # unknown × (1 - coverage): words the corpus never uses weigh against a question
    #                           whose known words no clause holds either, and little beside a clause that holds
    #                           them. With it, and the clause similarity read only where there are no
    #                           questions, the cross-validated cost on the calibration sets fell from 48 to 36
    amount_missing: float  # 1 when the question asks how many/how long and no quote the answer would cite
    #                        (compose.pick_clauses: as many as make one likely to answer, with a 款's
    #                        sibling that states the figure) states an amount. Read on the best quote alone,
    #                        a question with two asks ("几天？没休完怎么办？") whose other ask ranked first
    #                        looked unanswered. Cross-validated on the calibration sets (10 draws), the
    #                        least cost fell from 39.4 to 38.0 (without associated questions, 75.3 to 75.2),
    #                        and at the fitted cut 1 answerable question was declined instead of 2,
    #                        out-of-scope ones as before (140 of 169). Read on the best three quotes
    #                        whatever their likelihood, it was no better (39.0): an out-of-scope amount
    #                        question finds a figure in that unit somewhere
    uncovered_topic: float  # 1 when the question names a subject no document governs (uncovered.py) or a
    #                         document the corpus lacks, and the best clause does not speak of it; or asks
    #                         how to get something done and the best clause only sanctions doing it
    #                         wrongly (procedure.py): a procedure no document governs

    has_questions: bool = False  # whether the best clause has associated questions: selects the model

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]


@dataclass(frozen=True)
class GateDecision:
    outcome: str  # ANSWERED | TENTATIVE | DECLINED
    reason: str  # "" unless declined: "out_of_scope" | "injection" | "not_covered"
    probability: float  # that the corpus answers the question
    features: GateFeatures | None = None
    absent: tuple[AbsentDocument, ...] = ()  # documents the question names that the corpus lacks: their notices

    @property
    def covered(self) -> bool:
        return self.outcome != DECLINED

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "reason": self.reason, "probability": round(self.probability, 4),
                "features": {k: round(v, 4) for k, v in asdict(self.features).items()} if self.features else None}


@dataclass(frozen=True)
class Threshold:
    answer_at: float  # probability from which an answer is given without reservation
    decline_below: float  # probability under which the question is declined

    def outcome(self, probability: float) -> str:
        if probability < self.decline_below:
            return DECLINED
        return ANSWERED if probability >= self.answer_at else TENTATIVE


@dataclass(frozen=True)
class Gate:
    """The model and thresholds of each regime: best clause with associated questions, or without."""

    models: dict[str, LogisticModel]
    thresholds: dict[str, Threshold]
    provenance: dict

    def decide(self, found: GateFeatures, model_id: str) -> tuple[str, float]:
        """The outcome and its probability. Fitted on another embedding model's similarities,
        the probability means little: nothing is declined, everything found is tentative,
        until `policy-qa calibrate` is run for the model in use."""
        which = regime(found.has_questions)
        probability = self.models[which].probability(found.vector())
        if model_id != self.provenance.get("embedding_model"):
            return TENTATIVE, probability
        return self.thresholds[which].outcome(probability), probability

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "Gate":
        data = read(path, FEATURES)
        return cls({r: LogisticModel.from_dict(data[r]) for r in REGIMES},
                   {r: Threshold(data[r]["answer_at"], data[r]["decline_below"]) for r in REGIMES},
                   data.get("provenance", {}))


@lru_cache(maxsize=4)
def load_gate(path: Path = MODEL_FILE) -> Gate:
    return Gate.load(path)


def check_request(question: str) -> str:
    """'' for a policy question; otherwise why it is not one."""
    if _INJECTION.search(question):
        return "injection"
    if _NOT_A_POLICY_QUESTION.search(question):
        return "out_of_scope"
    return ""


def features(retrieval: Retrieval, snapshot: Snapshot, ranked: list[Candidate],
             absent: Sequence[AbsentDocument] = ()) -> GateFeatures:
    """`absent`: the documents the question names that the corpus does not hold
    (Library.absent_named_in) — a subject no document governs, like those of uncovered.py."""
    hits = retrieval.hits[:GATE_DEPTH]
    best = ranked[0] if ranked else None
    units = asked_units(retrieval.query)
    has_questions = bool(best) and snapshot.has_questions(best.hit.clause)
    coverage = max((retrieval.terms.coverage(snapshot.evidence_text(h.clause)) for h in hits), default=0.0)
    unknown = retrieval.terms.unknown_share
    return GateFeatures(
        relevance=best.relevance if best else 0.0,
        similarity=max(retrieval.question_scores if has_questions else retrieval.dense_scores, default=0.0),
        coverage=coverage,
        head_coverage=retrieval.terms.head_coverage(snapshot.evidence_text(best.hit.clause)) if best else 0.0,
        unknown=unknown,
        unknown_uncovered=unknown * (1.0 - coverage),
        amount_missing=float(bool(units) and not any(states_amount(
            c.hit.clause.lead_in_for(c.start, c.end) + c.hit.clause.text[c.start:c.end], units)
            for c in pick_clauses(retrieval, snapshot, ranked))),
        uncovered_topic=float(
            _names_uncovered_topic(retrieval.query, search_text(best.hit.clause) if best else "", absent)
            or (bool(best) and procedure_met_by_sanction(retrieval.query, best.hit.clause.text))),
        has_questions=has_questions,
    )


def _names_uncovered_topic(question: str, clause_text: str, absent: Sequence[AbsentDocument]) -> bool:
    """Whether the question names an uncovered subject that the clause — its own words, not
    the associated questions, which speak a cadre's words about many things — never speaks of."""
    thesaurus = default_thesaurus()
    norm = normalize(clause_text)
    subjects = [thesaurus.forms(word) or (word,) for word in topics_named(question)] + [doc.names for doc in absent]
    return any(not any(normalize(form) in norm for form in forms) for forms in subjects)


def decide(retrieval: Retrieval, snapshot: Snapshot, ranked: list[Candidate], gate: Gate | None = None,
           absent: Sequence[AbsentDocument] = ()) -> GateDecision:
    found = features(retrieval, snapshot, ranked, absent)
    outcome, probability = (gate or load_gate()).decide(found, snapshot.pointer.get("model", ""))
    if retrieval.degraded and ranked:  # without the vectors the features mean little: answer tentatively
        outcome = TENTATIVE
    return GateDecision(outcome, "not_covered" if outcome == DECLINED else "", probability, found, tuple(absent))


def decline(question: str, standalone: str, reason: str, titles: list[str], notes: list[str] = ()) -> Answer:
    """What a declined question is told: why, and what the knowledge base does cover."""
    why = {
        "injection": "本助手只依据知识库中的条文回答，不能按要求改变或忽略这一规则。",
        "out_of_scope": "这个请求不是政策条文问题，超出了本助手的范围。",
    }.get(reason, "本助手只依据知识库中的文件作答，不提供知识库以外的政策解释。")
    scope = "、".join(titles) if titles else "（知识库为空）"
    text = (f"{NOT_COVERED}{why}\n"
            f"目前收录：{scope}。\n请换个说法，或询问这些文件涉及的内容。")
    return Answer(answer=with_notes(text, list(notes)), refused=True, question=question,
                  standalone_question=standalone, notes=list(notes), refusal_reason=reason)
