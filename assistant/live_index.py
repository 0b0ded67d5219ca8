"""The index generation being served, and the catalog's library that goes with it.

Several processes may share one index (the app, `policy-qa index` run by an operator, a
second worker): a build writes a new generation and switches a pointer; readers look at
the pointer every REFRESH_SECONDS and load the new generation without ever waiting for it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from .config import Settings
from .corpus import CorpusScan, scan_corpus
from .embeddings import CachedQueries
from .library import Library
from .retrieval import Snapshot
from .store import BuildReport, IndexStore, Progress
from .vector_seed import SeededEmbeddings, seeded

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0  # how often a reader looks whether another process switched the index


class LiveIndex:
    def __init__(self, settings: Settings, embeddings: CachedQueries, store: IndexStore | None = None):
        self.settings = settings
        self.embeddings = embeddings
        self.store = store or IndexStore(settings)
        self.cache_dir = settings.index_dir / "cache"
        self.library = Library.load(settings.corpus_dir)
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._load_lock = threading.Lock()

    def reindex(self, rebuild: bool = False, progress: Progress | None = None,
                resume: bool = False) -> tuple[BuildReport, CorpusScan]:
        """Bring the index in line with the corpus folder, then serve the new generation."""
        scan = scan_corpus(self.settings.corpus_dir)
        for name, reason in scan.failed.items():
            log.warning("skipped %s: %s", name, reason)
        for problem in scan.question_problems:
            log.warning("associated questions: %s", problem)
        # A rebuild embeds everything afresh; any other build first takes the shipped vectors.
        embeddings = self.embeddings if rebuild else seeded(self.embeddings, self.settings.corpus_dir)
        report = self.store.build(scan.clauses, embeddings, questions=scan.questions, keep_sources=scan.failed,
                                  rebuild=rebuild, progress=progress, resume=resume)
        if isinstance(embeddings, SeededEmbeddings):
            report = replace(report, seeded=embeddings.taken)
        self.library = Library.load(self.settings.corpus_dir)
        self._checked = 0.0
        self.snapshot()
        return report, scan

    def ensure(self, progress: Progress | None = None) -> BuildReport | None:
        """Build the index if there is none yet (first run), or finish a build that was
        interrupted (the previous generation is served meanwhile) — also one killed after
        its switch, whose leftovers are dropped."""
        pointer = self.store.pointer()
        if pointer is None:
            log.info("no index yet: building it from %s", self.settings.corpus_dir)
            return self.reindex(progress=progress)[0]
        if pointer.get("pending"):
            log.warning("an index build was interrupted (%s): finishing it", pointer["pending"])
            return self.reindex(progress=progress, resume=True)[0]
        self.store.tidy()
        return None

    def snapshot(self) -> Snapshot:
        """The generation to read from, reloaded when a build anywhere has switched it."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
            return snap
        # Readers never wait for a reload: while one thread loads, the others keep the old one.
        if not self._load_lock.acquire(blocking=snap is None):
            return snap
        try:
            snap = self._snapshot
            if snap is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
                return snap
            try:
                pointer = self.store.pointer()
            except Exception as exc:  # a Chroma server that went away: keep serving what is loaded
                if snap is None:
                    raise
                log.warning("cannot read the index pointer, keeping %s: %s", snap.name, exc)
                pointer = snap.pointer
            if snap is None or pointer is None or pointer.get("active") != snap.name:
                snap = Snapshot.load(self.store, self.embeddings.model_id, self.cache_dir)
                self.library = Library.load(self.settings.corpus_dir)  # another process may have changed the catalog
                self._snapshot = snap
                log.info("serving index %s (%d clauses)", snap.name, len(snap.clauses))
            self._checked = time.monotonic()
            return snap
        finally:
            self._load_lock.release()

    def titles(self) -> list[str]:
        return self.snapshot().titles
