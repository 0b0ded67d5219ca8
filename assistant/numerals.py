"""Chinese numerals as used in 条/款/项 numbering (一 … 九千九百九十九)."""
from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零一二三四五六七八九"


def cn_to_int(text: str) -> int:
    """'九十三' -> 93, '一百零六' -> 106, '十' -> 10, '一万零一' -> 10001; Arabic digits pass through."""
    if text.isdigit():
        return int(text)
    if "万" in text:
        high, _, low = text.partition("万")
        return cn_to_int(high or "一") * 10000 + (cn_to_int(low) if low else 0)
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
    if not 0 < n < 100_000_000:
        raise ValueError(f"out of range: {n}")
    if n >= 10000:
        high, low = divmod(n, 10000)
        tail = "" if low == 0 else ("零" if low < 1000 else "") + _small(low, keep_leading_one=low < 1000)
        return int_to_cn(high) + "万" + tail
    return _small(n)


def _small(n: int, keep_leading_one: bool = False) -> str:
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
    return out[1:] if out.startswith("一十") and not keep_leading_one else out
