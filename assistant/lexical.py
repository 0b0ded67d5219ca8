"""Lexical retrieval: jieba tokens with a domain dictionary, scored by BM25.

The BM25 weight of every (clause, term) pair is computed once per index generation and
kept as one compressed sparse matrix, so a query costs a column slice and a sum — no
per-query rebuild. The arrays are saved once and memory-mapped by every process.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import unicodedata
from pathlib import Path

import numpy as np
from scipy import sparse

_DOMAIN_WORDS = Path(__file__).parent / "data" / "domain_words.txt"
_jieba_lock = threading.Lock()
_jieba_ready = False
_jieba_cache_dir: Path | None = None

# Function words and question words: they carry no policy content.
STOPWORDS = frozenset(
    """的 了 是 吗 呢 吧 啊 呀 么 嘛 哦 和 与 及 或 或者 并 而 在 对 把 被 给 让 向 从 以 于 为 之 其 该 此
    这 那 这个 那个 这些 那些 这样 那样 我 你 您 他 她 它 我们 你们 他们 咱们 自己 本人
    什么 怎么 怎么样 怎样 如何 为什么 哪 哪些 哪个 哪里 多少 几 几个 多久 多长 吗 呢 是否 是不是 有没有
    能不能 可不可以 会不会 要不要 请问 请 问 一下 一个 有 没有 没 也 都 就 还 又 再 很 最 更 能 会 要 想
    可 可以 应该 需要 得 地 着 过 上 下 中 里 时 时候 等 等等 之类 方面 情况 问题 规定 相关 有关 关于
    对于 针对 呢 吗 么 啥 咋 谁 不 不会 几天 多少天 几年 几次 多高 多长时间 多大""".split()
)
_TOKEN = re.compile(r"[\w%]", re.UNICODE)
# Question words jieba keeps whole ("哪几种", "几档", "多少天"): what is asked, not what about.
_INTERROGATIVE_TOKEN = re.compile(r"^(哪|几|多少|什么|怎|如何|为何|为什么|是否|能否|有没有|多久|多长)")

_MEASURE_WORDS = frozenset("种 个 类 项 次 条 位 名 些 样 方面 部分 点 步".split())

# Everyday words a cadre types -> the words statutes use for the same thing. Query side only.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "不能": ("不得",),
    "不可以": ("不得",),
    "不准": ("不得",),
    "天": ("日",),
    "种": ("种类", "分为"),  # "有哪几种" asks for a classification
    "类": ("类别", "种类", "分为"),
    "组成": ("包括",),
    "构成": ("包括",),
    "档": ("档次", "等次"),
    "等次": ("档次",),
    "档次": ("等次",),
    "等级": ("等次", "档次"),
    "补偿": ("报酬", "补助", "赔偿"),
    "辞职": ("辞去公职",),
    "提拔": ("晋升",),
    "升职": ("晋升",),
    "晋升": ("提拔",),
    "考评": ("考核",),
    "请假": ("事假", "病假"),
}


def set_cache_dir(path: Path) -> None:
    """Where jieba keeps its 9 MB dictionary cache (it defaults to the system temp folder)."""
    global _jieba_cache_dir
    _jieba_cache_dir = path


def _ensure_jieba() -> None:
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if _jieba_ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        if _jieba_cache_dir is not None:
            _jieba_cache_dir.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(_jieba_cache_dir)
        jieba.initialize()
        jieba.load_userdict(str(_DOMAIN_WORDS))
        _jieba_ready = True


def normalize(text: str) -> str:
    """Full-width letters/digits/punctuation to their ASCII forms, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (long words also yield their parts), without stopwords or punctuation."""
    _ensure_jieba()
    import jieba

    tokens = []
    for tok in jieba.cut_for_search(normalize(text)):
        if _INTERROGATIVE_TOKEN.match(tok):  # "哪几档" asks about 档: keep what is asked about
            while _INTERROGATIVE_TOKEN.match(tok):
                tok = _INTERROGATIVE_TOKEN.sub("", tok, count=1)
            if tok in _MEASURE_WORDS and tok not in SYNONYMS:
                continue
        if tok.strip() and _TOKEN.search(tok) and tok not in STOPWORDS:
            tokens.append(tok)
    return tokens


def alternatives(token: str) -> tuple[str, ...]:
    """The token and the statute words that mean the same."""
    return (token, *SYNONYMS.get(token, ()))


def content_words(text: str) -> list[str]:
    """Precise-mode words that carry content (no sub-words, stopwords or punctuation)."""
    _ensure_jieba()
    import jieba

    return [tok for tok in jieba.lcut(normalize(text)) if _TOKEN.search(tok) and tok not in STOPWORDS]


class BM25Index:
    """BM25 (k1=1.2, b=0.75) over a fixed list of token lists."""

    def __init__(self, vocab: dict[str, int], weights: sparse.csc_matrix, idf: np.ndarray):
        self.vocab = vocab
        self.weights = weights  # clauses x terms, BM25 weight of each occurrence
        self.idf = idf
        self.max_idf = float(idf.max()) if len(idf) else 1.0

    @classmethod
    def build(cls, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, tokens in enumerate(docs):
            lengths[i] = len(tokens)
            tf: dict[int, int] = {}
            for tok in tokens:
                j = vocab.setdefault(tok, len(vocab))
                tf[j] = tf.get(j, 0) + 1
            rows.extend([i] * len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        n = max(len(docs), 1)
        tf_matrix = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (np.asarray(rows), np.asarray(cols))),
            shape=(len(docs), len(vocab)), dtype=np.float32,
        )
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if len(docs) else 1.0
        norm = k1 * (1.0 - b + b * lengths / max(avg, 1e-6))
        tf_matrix = tf_matrix.tocoo()
        data = tf_matrix.data * (k1 + 1.0) / (tf_matrix.data + norm[tf_matrix.row]) * idf[tf_matrix.col]
        weights = sparse.csc_matrix((data.astype(np.float32), (tf_matrix.row, tf_matrix.col)),
                                    shape=tf_matrix.shape)
        return cls(vocab, weights, idf)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in query_tokens if t in self.vocab]
        if not ids:
            return np.zeros(self.weights.shape[0], dtype=np.float32)
        return np.asarray(self.weights[:, ids].sum(axis=1)).ravel()

    def term_weight(self, token: str) -> float:
        """IDF of a term; a term the corpus never uses counts as maximally specific."""
        j = self.vocab.get(token)
        return float(self.idf[j]) if j is not None else self.max_idf

    def save(self, folder: Path) -> None:
        """As plain .npy arrays in a folder of their own, written aside then renamed into place."""
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        partial.mkdir(parents=True, exist_ok=True)
        try:
            terms = sorted(self.vocab, key=self.vocab.get)
            (partial / "terms.txt").write_text("\n".join(terms), encoding="utf-8")
            for name, array in (("idf", self.idf), ("data", self.weights.data), ("indices", self.weights.indices),
                                ("indptr", self.weights.indptr), ("shape", np.asarray(self.weights.shape))):
                np.save(partial / f"{name}.npy", array)
            partial.rename(folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)  # only left if the rename did not happen

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        """Memory-mapped: worker processes on one machine share the pages instead of each
        holding a copy; only the term dictionary is per process."""
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                  for name in ("idf", "data", "indices", "indptr", "shape")}
        terms = (folder / "terms.txt").read_text(encoding="utf-8").split("\n")
        vocab = {t: i for i, t in enumerate(terms)} if terms != [""] else {}
        weights = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                    shape=tuple(int(x) for x in arrays["shape"]), copy=False)
        return cls(vocab, weights, arrays["idf"])
