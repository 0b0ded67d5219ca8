"""`policy-qa`: build the index, ask questions, evaluate — from a terminal."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_USAGE = 2  # bad input: the question, a file
EXIT_UNAVAILABLE = 3  # the index or a model cannot be used


def _progress_bar():
    """A progress callback drawing one tqdm bar per stage, on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="条", file=sys.stderr, leave=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _extractive(settings):
    """The same settings without the model: extractive answers only."""
    from .config import LLMSettings

    return settings.model_copy(update={"llm": LLMSettings()})


_UNREADABLE = object()


def _read_json(path: str, what: str):
    """The JSON in the file, or _UNREADABLE after saying why on stderr."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"无法读取{what} {path}：{exc}", file=sys.stderr)
        return _UNREADABLE


def _assistant(settings, fitted: bool = True):
    from .service import Assistant

    return Assistant(settings, fitted=fitted)


def cmd_index(args, settings) -> int:
    if args.suggest_questions and not settings.llm.base_url:
        print("错误 / error: --suggest-questions 需要大模型：请设置 POLICYQA_LLM_BASE_URL 和 POLICYQA_LLM_MODEL",
              file=sys.stderr)
        return EXIT_USAGE
    assistant = _assistant(settings)
    report, scan = assistant.index.reindex(rebuild=args.rebuild, progress=_progress_bar())
    for name, reason in scan.failed.items():
        print(f"跳过 / skipped {name}: {reason}（其已入库的条文保留不变）", file=sys.stderr)
    for name in scan.ignored:
        print(f"忽略 / ignored {name}: 不支持的文件类型", file=sys.stderr)
    for problem in scan.question_problems:
        print(f"关联问题 / associated questions: {problem}", file=sys.stderr)
    print(report.summary())
    if args.save_vectors:
        from .vector_seed import save_from_index

        path, count = save_from_index(assistant.index.store, assistant.embeddings.model_id, settings.corpus_dir)
        print(f"已把 {count} 个向量写入 {path}，下次在新环境建索引时直接取用 / wrote {count} vectors to {path}")
    if args.suggest_questions:
        from .suggest import suggest

        drafted, failures = suggest(settings, scan.clauses, settings.corpus_dir, progress=_progress_bar())
        for failure in failures:
            print(f"起草失败 / not drafted: {failure}", file=sys.stderr)
        print(f"已为 {drafted} 条条文起草关联问题，写在 {settings.corpus_dir / 'questions'} 各文件的 draft 中；"
              f"审核后移入 questions 才会参与检索 / drafted questions for {drafted} clauses, for review")
    return 0


def cmd_ask(args, settings) -> int:
    from .render import answer_plain

    history = []
    if args.history:
        history = _read_json(args.history, "对话历史文件")
        if history is _UNREADABLE:
            return EXIT_USAGE
        if not isinstance(history, list):
            print('对话历史应为 JSON 列表：[{"role": "user", "content": "…"}, …]', file=sys.stderr)
            return EXIT_USAGE
    from .web.app_state import AppState

    state = AppState(settings)  # as the app answers: cached, logged, only once the index is ready
    state.boot(progress=_progress_bar())
    answer = state.answer(args.question, history, channel="cli").answer()
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(answer_plain(answer))
    return 0


def cmd_eval(args, settings) -> int:
    from .evaluation import format_table, load_items, run_assistant, run_naive_baseline, summarize

    items = load_items(Path(args.file), args.split or "")
    if args.mode == "llm" and not settings.llm.base_url:
        print("错误 / error: --mode llm 需要设置 POLICYQA_LLM_BASE_URL 和 POLICYQA_LLM_MODEL", file=sys.stderr)
        return EXIT_USAGE
    if args.mode == "extractive":
        settings = _extractive(settings)
    assistant = _assistant(settings)
    assistant.index.ensure(progress=_progress_bar())
    runs = {f"policy-qa ({args.mode})": run_assistant(assistant, items, args.k)}
    if args.baseline == "naive":
        print("正在运行 LangChain 默认检索基线（嵌入全部切块）… / running the naive baseline", file=sys.stderr)
        runs["langchain-naive"] = run_naive_baseline(assistant, items, args.k)
    results = {name: summarize(outcomes) for name, outcomes in runs.items()}
    if args.json:
        report = {
            "file": str(args.file), "k": args.k, "results": results,
            "questions": {name: [{"id": o.item.id, "refused": o.refused, "citation_hit": o.citation_hit,
                                  "primary_hit": o.primary_hit, "quote_hit": o.quote_hit,
                                  "retrieval_hit": o.retrieval_hit, "latency_ms": o.latency_ms,
                                  "labels": o.labels, **o.detail} for o in outcomes]
                          for name, outcomes in runs.items()},
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_table(results, args.k))
        misses = [o for o in runs[f"policy-qa ({args.mode})"] if (o.item.answerable and not o.primary_hit)
                  or (not o.item.answerable and not o.refused)]
        if misses:
            print("\n未达标的题目 / misses:")
            for o in misses:
                print(f"- {o.item.id} {o.item.question} -> {'拒答' if o.refused else '; '.join(o.labels)}")
    return 0


def cmd_calibrate(args, settings) -> int:
    from .calibration import main as calibrate

    settings = _extractive(settings)
    assistant = _assistant(settings, fitted=False)  # the models it writes may be stale or missing
    assistant.index.ensure(progress=_progress_bar())
    folder = Path(args.output) if args.output else settings.models_dir
    print(calibrate(assistant, args.sets, folder))
    print(f"已写入 {folder}/ranker.json、gate.json / written", file=sys.stderr)
    return 0


def cmd_feedback_export(args, settings) -> int:
    from .feedback import FeedbackStore

    if not settings.database.exists():
        print(f"还没有记录：{settings.database} 不存在 / no records yet", file=sys.stderr)
        return EXIT_USAGE
    text = FeedbackStore(settings.database).export(args.table, args.format)
    if args.output:  # a CSV with a BOM, so that Excel opens it as UTF-8
        Path(args.output).write_text(text, encoding="utf-8-sig" if args.format == "csv" else "utf-8")
        print(f"已导出到 {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_self_check(args, settings) -> int:
    """容错自查: interactive in a terminal, or from --situation/--answers for scripts."""
    from . import downloads
    from .self_check import SelfCheckError, default_data, prefill, run
    from .self_check_export import to_markdown

    answers = {}
    if args.answers:
        answers = _read_json(args.answers, "回答文件")
        if answers is _UNREADABLE:
            return EXIT_USAGE
    situation = args.situation or ""
    if args.situation is None and args.answers is None:
        situation, answers = _ask_self_check(default_data(), prefill)
    assistant = _assistant(settings)
    assistant.index.ensure(progress=_progress_bar())
    try:
        result = run(assistant, situation, answers)
    except SelfCheckError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The file's kind follows its name (.docx is Word), else --json, else Markdown.
    if args.output and args.output.endswith(".docx"):
        data = downloads.self_check(result, "docx").data
    elif args.json:
        data = json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    else:
        data = to_markdown(result).encode("utf-8")
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"已生成 {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _ask_self_check(data, prefill) -> tuple[str, dict]:
    """The situation, then each question (red lines first) answered 是/否/不清楚; what the
    situation already says is offered as the default."""
    print("容错自查：先简要描述情况（回车结束），再逐题回答 是(y)/否(n)/不清楚(回车)。结果只是自查，不是组织认定。")
    situation = input("情况：").strip()
    suggested = prefill(situation, data)
    answers: dict[str, bool | None] = {}
    for q in data.questions():
        hint = suggested.get(q["id"])
        default = "" if hint is None else ("y" if hint.value else "n")
        reply = input(f"{'【红线】' if q['red_line'] else ''}{q['question']} [{default or '?'}] ").strip().lower() or default
        answers[q["id"]] = {"y": True, "是": True, "n": False, "否": False}.get(reply)
    return situation, answers


def cmd_study(args, settings) -> int:
    from . import downloads
    from .study import StudyPackBuilder, TopicNotFound
    from .study_export import to_markdown

    assistant = _assistant(settings)
    assistant.index.ensure(progress=_progress_bar())
    docs = [d.strip() for d in (args.docs or "").split(",") if d.strip()]
    try:
        pack = StudyPackBuilder(assistant).build(args.topic, docs, args.questions)
    except (TopicNotFound, ValueError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "md" and not args.output:
        sys.stdout.write(to_markdown(pack))
        return 0
    download = downloads.study_pack(pack, args.format)
    output = Path(args.output or download.filename)
    output.write_bytes(download.data)
    print(f"已生成 {output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policy-qa", description="干部政策问答助手：条文引用式回答 / clause-cited policy Q&A")
    parser.add_argument("-v", "--verbose", action="store_true", help="show progress logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="建立或增量更新索引 / build or update the index")
    p.add_argument("--rebuild", action="store_true",
                   help="re-embed everything from scratch (the shipped vectors in corpus/vectors are not used)")
    p.add_argument("--save-vectors", action="store_true",
                   help="then write the index's vectors to corpus/vectors/<model>.npz, for first builds elsewhere")
    p.add_argument("--suggest-questions", action="store_true",
                   help="with an LLM configured: draft associated questions for clauses that have none, for review")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="提问 / ask a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument("--history", metavar="FILE", help='JSON list of {"role": "user"|"assistant", "content": str}, oldest first')
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="评测 / evaluate on a JSONL question file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("-k", type=int, default=5, help="depth for retrieval hit@k (default 5)")
    p.add_argument("--baseline", choices=["naive"], help="also run LangChain's default retrieval")
    p.add_argument("--split", choices=["calibration", "test"],
                   help="only the questions of one half of the set (see eval/split.py)")
    p.add_argument("--mode", choices=["extractive", "llm"], default="extractive",
                   help="answer mode to evaluate (llm needs POLICYQA_LLM_BASE_URL and POLICYQA_LLM_MODEL)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="拟合覆盖判断（只用校准题）/ fit the coverage gate on calibration questions")
    p.add_argument("sets", nargs="+", metavar="FILE[:SPLIT]",
                   help="question files, e.g. eval/cadre.jsonl:calibration ../shared/eval/colloquial.jsonl")
    p.add_argument("-o", "--output", help="folder for ranker.json and gate.json (default: POLICYQA_MODELS_DIR, "
                                          "else the package's data/)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("study", help="学习备课材料 / a study pack for trainers")
    p.add_argument("topic", help="主题，如 容错纠错、干部考核、选拔任用、关心关爱、年休假、政务处分，或任意文字")
    p.add_argument("--docs", help="只用这些文档（id，逗号分隔），见 GET /api/documents")
    p.add_argument("--questions", type=int, default=10, help="测验题数 (1-50, default 10)")
    p.add_argument("--format", choices=["md", "docx"], default="md")
    p.add_argument("-o", "--output", help="output file (docx defaults to a file named after the topic)")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("self-check", help="容错自查 / check a situation against the provisions on 容错")
    p.add_argument("--situation", help="情况描述（不给则在终端逐题询问）")
    p.add_argument("--answers", metavar="FILE", help='JSON {"condition id": true|false|null}; ids: GET /api/self-check/questions')
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-o", "--output", help="write Markdown (.md) or Word (.docx)")
    p.set_defaults(func=cmd_self_check)

    p = sub.add_parser("feedback", help="反馈与提问记录 / feedback and the question log")
    feedback_sub = p.add_subparsers(dest="feedback_command", required=True)
    p = feedback_sub.add_parser("export", help="导出 / export as CSV or JSON Lines")
    p.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="output format (default csv)")
    p.add_argument("--table", choices=["feedback", "questions"], default="feedback")
    p.add_argument("-o", "--output", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .config import Settings, SettingsError, configure_process
    from .embeddings import EmbeddingError
    from .evaluation import EvalFileError
    from .logistic import ModelFileError
    from .service import QuestionError
    from .store import IndexUnavailable

    try:
        settings = Settings.load()
        configure_process(settings)
        return args.func(args, settings)
    except (QuestionError, EvalFileError, SettingsError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (IndexUnavailable, EmbeddingError, ModelFileError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
