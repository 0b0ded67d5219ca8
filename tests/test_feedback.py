"""The question log and feedback store: migrations bring an old database up to date without
losing a row; exports in CSV and JSON Lines."""
from __future__ import annotations

import csv
import io
import json
import sqlite3

from assistant.answer import Answer
from assistant.feedback import MIGRATIONS, FeedbackStore


def test_an_old_database_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "policyqa.sqlite3"
    with sqlite3.connect(path) as db:  # as the first version of the store left it: no migrations table
        db.executescript(MIGRATIONS[0][1])
        db.execute("INSERT INTO questions (asked_at, channel, user_hash, question, refused, labels, mode, latency_ms)"
                   " VALUES ('2026-01-01T00:00:00', 'web', '', '旧问题', 0, '[]', 'extractive', 12.5)")
    store = FeedbackStore(path)
    with sqlite3.connect(path) as db:
        assert [r[1] for r in db.execute("SELECT * FROM migrations ORDER BY id")] == [name for name, _ in MIGRATIONS]
    assert store.migrate() == []  # nothing left to apply
    store.log_question(Answer(answer="……", refused=False, question="新问题", confidence="low"), "api")
    rows = [json.loads(line) for line in store.export("questions", "jsonl").splitlines()]
    assert [(r["question"], r["confidence"]) for r in rows] == [("旧问题", ""), ("新问题", "low")]


def test_exports_in_both_formats(tmp_path):
    store = FeedbackStore(tmp_path / "db.sqlite3")
    store.add_feedback("年假几天？", "……", ["《职工带薪年休假条例》第三条"], -1, "希望更清楚", channel="web", user_id="u1")
    table = list(csv.DictReader(io.StringIO(store.export("feedback"))))
    assert table[0]["comment"] == "希望更清楚" and table[0]["user_hash"] and "u1" not in store.export("feedback")
    assert json.loads(store.export("feedback", "jsonl"))["rating"] == -1


def test_questions_queued_for_the_log_are_written_before_the_process_exits(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "db.sqlite3"
    script = ("import sys\nfrom assistant.answer import Answer\nfrom assistant.feedback import FeedbackStore\n"
              "store = FeedbackStore(__import__('pathlib').Path(sys.argv[1]))\n"
              "for n in range(300):\n"
              "    store.log_question(Answer(answer='…', refused=False, question=f'问题{n}'), 'cli')\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)  # exits without a flush
    with sqlite3.connect(path) as db:
        questions = [row[0] for row in db.execute("SELECT question FROM questions ORDER BY id")]
    assert questions == [f"问题{n}" for n in range(300)]
