"""Failures told to a person in two languages. The API's error bodies carry "中文 / English";
a chat (WeChat, the web UI) shows the Chinese alone, so it is kept on its own, never cut back
out of the joined message."""
from __future__ import annotations


def bilingual(zh: str, en: str) -> str:
    return f"{zh} / {en}"


class BilingualError(Exception):
    """str() is "中文 / English"; `zh` is the Chinese part. Mixed into the failures a front end
    shows a user, beside the built-in type callers already catch (ValueError, RuntimeError)."""

    def __init__(self, zh: str, en: str):
        super().__init__(zh, en)  # both in args, so the error pickles and compares whole
        self.zh, self.en = zh, en

    def __str__(self) -> str:
        return bilingual(self.zh, self.en)
