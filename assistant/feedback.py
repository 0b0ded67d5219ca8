"""Questions asked and feedback given, in SQLite under data/ — no personal data beyond a
salted hash of the channel's user id. Text that UTF-8 cannot carry (a lone surrogate) is
stored repaired rather than refused: a record is never lost for one bad character. The
question log is written by a thread of its own, in batches, so no answer waits for the disk;
what is queued is written before the process exits, and before any read of the tables.

The schema grows by numbered migrations, recorded in a table of their own as they are
applied, so a database written by an older version is brought up to date when opened."""
from __future__ import annotations

import atexit
import csv
import hashlib
import io
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .answer import Answer
from .wellformed import repaired

MIGRATIONS = (
    ("tables", """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    refused INTEGER NOT NULL,
    labels TEXT NOT NULL,
    mode TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    given_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
    comment TEXT NOT NULL
);
"""),
    # A tentative answer ("没有找到直接对应的规定") is worth finding in the log.
    ("answer confidence", "ALTER TABLE questions ADD COLUMN confidence TEXT NOT NULL DEFAULT ''"),
)
EXPORTS = {"feedback": "given_at", "questions": "asked_at"}
QUESTION_COLUMNS = "asked_at, channel, user_hash, question, refused, labels, mode, latency_ms, confidence"

log = logging.getLogger(__name__)
FORMATS = ("csv", "jsonl")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class BatchWriter:
    """Rows handed to `write` by a thread of its own, as many at a time as have queued up.
    `flush` returns once every row put before it is written."""

    def __init__(self, write: Callable[[list[tuple]], None], name: str):
        self._write = write
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()
        atexit.register(self.flush)  # daemon threads stop at exit: what is queued is written first

    def put(self, row: tuple) -> None:
        self._queue.put(row)

    def flush(self, timeout: float = 30.0) -> None:
        written = threading.Event()
        self._queue.put(written)
        written.wait(timeout)

    def _run(self) -> None:
        while True:
            rows, flushes = [], []
            item = self._queue.get()
            while True:
                (flushes if isinstance(item, threading.Event) else rows).append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if rows:
                try:
                    self._write(rows)
                except Exception as exc:  # the log is a record, never a reason to fail an answer or stop logging
                    log.warning("could not log %d question(s): %s", len(rows), exc)
            for written in flushes:
                written.set()


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = self._load_salt(path.parent / ".user-hash-salt")
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
        self.migrate()
        self._log_db: sqlite3.Connection | None = None
        self._questions = BatchWriter(self._insert_questions, "policyqa-question-log")

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded, in order; the names of those applied."""
        applied = []
        with self._lock, self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_at TEXT NOT NULL)")
            done = {row[0] for row in db.execute("SELECT id FROM migrations")}
            for number, (name, sql) in enumerate(MIGRATIONS, 1):
                if number not in done:
                    db.executescript(f"BEGIN; {sql}; INSERT INTO migrations VALUES ({number}, '{name}', '{_now()}'); COMMIT;")
                    applied.append(name)
        return applied

    @staticmethod
    def _load_salt(path: Path) -> str:
        """A random salt kept beside the database, so user hashes cannot be reversed by lookup."""
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_hex(16), encoding="utf-8")
            tmp.replace(path)
        return path.read_text(encoding="utf-8").strip()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short transaction per write: a row is stored whole or not at all.
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def user_hash(self, user_id: str) -> str:
        if not user_id:
            return ""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def log_question(self, answer: Answer, channel: str, user_id: str = "") -> None:
        """Queued: written within moments, off the caller's path."""
        self._questions.put((_now(), channel, self.user_hash(user_id), repaired(answer.question), int(answer.refused),
                             json.dumps([c.label for c in answer.citations], ensure_ascii=False), answer.mode,
                             answer.latency_ms, "" if answer.refused else answer.confidence))

    def flush(self) -> None:
        """Every question logged so far, written."""
        self._questions.flush()

    def _insert_questions(self, rows: list[tuple]) -> None:
        # Called only by the log's writer thread, which keeps its connection: opening one per
        # batch cost as much CPU as a tenth of the answers being logged.
        if self._log_db is None:
            self._log_db = sqlite3.connect(self.path, timeout=10)
        with self._lock, self._log_db as db:
            db.executemany(f"INSERT INTO questions ({QUESTION_COLUMNS}) VALUES ({', '.join('?' * 9)})", rows)

    def add_feedback(self, question: str, answer: str, citations: list, rating: int, comment: str = "",
                     channel: str = "web", user_id: str = "") -> int:
        if rating not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (given_at, channel, user_hash, question, answer, citations, rating, comment)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), channel, self.user_hash(user_id), repaired(question), repaired(answer),
                 repaired(json.dumps(citations, ensure_ascii=False)), rating, repaired(comment)),
            )
            return int(cursor.lastrowid)

    def set_comment(self, feedback_id: int, comment: str) -> None:
        with self._lock, self._connect() as db:
            db.execute("UPDATE feedback SET comment = ? WHERE id = ?", (repaired(comment), feedback_id))

    def rows(self, table: str) -> tuple[list[str], list[tuple]]:
        """Column names and rows of `feedback` or `questions`, oldest first."""
        if table not in EXPORTS:
            raise ValueError(f"unknown table {table!r}")
        self.flush()
        with self._connect() as db:
            cursor = db.execute(f"SELECT * FROM {table} ORDER BY id")
            return [d[0] for d in cursor.description], cursor.fetchall()

    def export(self, table: str = "feedback", fmt: str = "csv") -> str:
        """The table as CSV (a header row, then the rows) or as JSON Lines (one object a row)."""
        columns, rows = self.rows(table)
        if fmt == "jsonl":
            return "".join(json.dumps(dict(zip(columns, row)), ensure_ascii=False) + "\n" for row in rows)
        if fmt != "csv":
            raise ValueError(f"unknown format {fmt!r} (one of {FORMATS})")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue()
