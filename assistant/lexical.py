"""Text analysis: jieba words with the domain's dictionary (the thesaurus and the
uncovered topics' words stay whole), a question's content words by part of speech, and
character bigrams — for clauses and questions alike."""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from .thesaurus import DATA_FILE as THESAURUS_FILE, default_thesaurus
from .uncovered import DATA_FILE as UNCOVERED_FILE, default_uncovered

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
    对于 针对 呢 吗 么 啥 咋 谁 不 不会 几天 多少天 几年 几次 多高 多长时间 多大
    咋办 咋样 咋整 咋弄 咋算 咋回事 干嘛 干啥 为啥 啥样 没 行不行 算不算 能否 可否 还是 到底 究竟
    一般 大概 是否是 的话 吧 呗 哈 啦 喽 嗯 哎 诶 请教 问问 想问 想知道 知道 告诉 说说 讲讲 长时间 多长 多久 多少""".split()
)
# Parts of speech that carry no subject matter in a question: pronouns, adverbs, prepositions,
# conjunctions, particles, modal particles, interjections, numerals, measure and time words.
_FUNCTION_TAGS = ("r", "d", "p", "c", "u", "y", "e", "o", "m", "q", "t", "f")
_TOKEN = re.compile(r"[\w%]", re.UNICODE)
# Question words jieba keeps whole ("哪几种", "几档", "多少天"): what is asked, not what about.
_INTERROGATIVE_TOKEN = re.compile(r"^(哪|几|多少|什么|怎|如何|为何|为什么|是否|能否|有没有|多久|多长)")

_MEASURE_WORDS = frozenset("种 个 类 项 次 条 位 名 些 样 方面 部分 点 步".split())
# Tagged as adverbs or numerals, but what a question is about ("不得", "一把手" in a sentence).
_KEEP_DESPITE_TAG = frozenset("不得 严重 主动 擅自 破格 公开 连续 一票否决 一把手 一把".split())
# A time word points at a moment — a closed class ("今年", "明天", "当时", "以后", "年底") — or
# names a period a question is about ("周末", "暑假", "春节", "节假日"), which is subject matter.
_POINTING_TIME = frozenset("""今天 明天 昨天 后天 前天 今年 明年 去年 前年 后年 今晚 明晚 昨晚 今早 现在 目前 当前
    当时 那时 此时 届时 以前 以后 之前 之后 此前 此后 最近 近来 近期 刚才 刚刚 将来 未来 过去 原来 本来 当年 当天
    当月 同年 次年 次日 每年 每月 每天 年底 年初 年中 年末 月底 月初 上午 下午 中午 晚上 早上 凌晨 傍晚 白天 夜里
    平时 平常 一时 马上 立即 随时 同时 期间 如今 眼下 早晚""".split())

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
        # "年假", "处分期", "公积金" stay whole words (and are nouns).
        for word in [*default_thesaurus().words, *default_uncovered().topic_of]:
            if len(word) > 1:
                jieba.add_word(word, freq=max(jieba.get_FREQ(word) or 0, 2000), tag="n")
        _jieba_ready = True


def dictionary_version() -> str:
    """Changes whenever the words the tokenizer knows change, so cached BM25 is rebuilt."""
    digest = hashlib.sha1()
    for path in (_DOMAIN_WORDS, THESAURUS_FILE, UNCOVERED_FILE):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def longest_matches(text: str, words_longest_first: list[str]) -> list[str]:
    """The words occurring in (normalised) text, where two overlap the longer one only
    ("村干部" is found, not the "干部" inside it)."""
    norm = normalize(text)
    taken = [False] * len(norm)
    found = []
    for word in words_longest_first:
        start = norm.find(word)
        while start >= 0:
            end = start + len(word)
            if not any(taken[start:end]):
                found.append(word)
                taken[start:end] = [True] * len(word)
            start = norm.find(word, start + 1)
    return found


@lru_cache(maxsize=65536)  # the same clauses and sentences are normalised for question after question
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
            if tok in _MEASURE_WORDS:
                continue
        if tok.strip() and _TOKEN.search(tok) and tok not in STOPWORDS:
            tokens.append(tok)
    return tokens


_NGRAM_CHARS = re.compile(r"[\u4e00-\u9fff0-9a-z%]+")


def bigrams(text: str) -> list[str]:
    """Character bigrams of the runs of Chinese characters and digits: they meet where words
    do not ("处分期" and "处分期间", a compound the tokenizer cut differently)."""
    out = []
    for run in _NGRAM_CHARS.findall(normalize(text)):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


@lru_cache(maxsize=4096)  # tagging is the slow part of a question's analysis, asked for twice per question
def question_word_parts(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A question's words that carry subject matter — function words dropped by their part of
    speech (a cadre's "现在该咋办", "这种也要…吗" say nothing about the subject) — each with
    the smaller words `tokenize` also finds inside it ("记过处分" -> 记过, 处分)."""
    _ensure_jieba()
    import jieba.posseg

    out: dict[str, tuple[str, ...]] = {}
    for pair in jieba.posseg.cut(normalize(text)):
        word = pair.word
        named_period = pair.flag == "t" and len(word) > 1 and word not in _POINTING_TIME
        if (pair.flag.startswith(_FUNCTION_TAGS) and word not in _KEEP_DESPITE_TAG and not named_period) \
                or word in STOPWORDS \
                or not _TOKEN.search(word):
            continue
        parts = tuple(t for t in tokenize(word) if t != word) if len(word) > 2 else ()
        if word not in out and (word in tokenize(word) or parts):
            out[word] = parts
    return tuple(out.items())


def question_words(text: str) -> list[str]:
    """The words of `question_word_parts` and their parts, in order."""
    return list(dict.fromkeys(w for word, parts in question_word_parts(text) for w in (word, *parts)))


def segments(text: str) -> list[tuple[str, int, int]]:
    """jieba's precise-mode words of the text as it is, with their offsets."""
    _ensure_jieba()
    import jieba

    return list(jieba.tokenize(text))


def in_dictionary(word: str) -> bool:
    """Whether jieba (with the domain's words) knows the word."""
    _ensure_jieba()
    import jieba

    return bool(jieba.dt.FREQ.get(word))


def log_probability(text: str) -> float:
    """The log-probability of jieba's likeliest cut of the text, by its word frequencies."""
    _ensure_jieba()
    import jieba

    route: dict[int, tuple[float, int]] = {}
    jieba.dt.calc(text, jieba.dt.get_DAG(text), route)
    return route[0][0]


def content_words(text: str) -> list[str]:
    """Precise-mode words that carry content (no sub-words, stopwords or punctuation)."""
    _ensure_jieba()
    import jieba

    return [tok for tok in jieba.lcut(normalize(text)) if _TOKEN.search(tok) and tok not in STOPWORDS]
