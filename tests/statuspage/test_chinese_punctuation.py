"""Chinese reads as a native speaker writes it: full-width punctuation beside Chinese text, in
the public catalogue (page, feeds, emails, chat) and in the console's."""

from __future__ import annotations

import re

from statuspage import i18n
from statuspage.console import catalogue

_PLACEHOLDERS = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
_HAN = r"[\u4e00-\u9fff]"
# An ASCII mark right after Chinese text, or an ASCII bracket opening right after it.
_HALF_WIDTH = re.compile(rf"{_HAN}[,:;!?]|{_HAN} ?\(|\) ?{_HAN}|{_HAN}\.(?!\w)")


def _half_width(text: str) -> list[str]:
    return _HALF_WIDTH.findall(_PLACEHOLDERS.sub("X", text))


def test_the_public_catalogue_uses_full_width_marks() -> None:
    found = {key: text for key, text in i18n.catalogue("zh-CN").items() if _half_width(text)}
    assert found == {}


def test_the_console_catalogue_uses_full_width_marks() -> None:
    found = {}
    for po in catalogue.catalogues("zh-CN").values():
        for entry in po:
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            for text in map(str, strings):
                if entry.id and _half_width(text):
                    found[str(entry.id)] = text
    assert found == {}


def test_the_check_sees_half_width_marks() -> None:
    assert _half_width("状态: 正常") and _half_width("维护日历 (iCal)") and _half_width("完成.")
    assert not _half_width("状态：正常（iCal）。") and not _half_width("请 %(num)d 分钟后再试")
