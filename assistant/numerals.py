"""Chinese numerals as used in 条/款/项 numbering (一 … 九千九百九十九)."""
from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零一二三四五六七八九"


def cn_to_int(text: str) -> int:
    """'九十三' -> 93, '一百零六' -> 106, '十' -> 10; Arabic digits pass through."""
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + digit


def int_to_cn(n: int) -> str:
    """93 -> '九十三', 106 -> '一百零六', 10 -> '十' (the form laws use for 款 numbers)."""
    if not 0 < n < 10000:
        raise ValueError(f"out of range: {n}")
    parts: list[str] = []
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if pending_zero and parts:
                parts.append("零")
            parts.append(_CN[d] + unit)
            pending_zero = False
        else:
            pending_zero = True
    out = "".join(parts)
    return out[1:] if out.startswith("一十") else out
