"""Normalization: what users type and the form the matcher compares."""

import pytest

from bot.answering.text import Normalizer

SYNONYMS = {"社会保险": "社保", "五险": "社保", "缓交": "缓缴", "停产": "停工停产", "停工": "停工停产"}


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("請問社會保險能緩交嗎？", "社保能缓缴吗"),  # traditional → simplified, filler, synonyms
        ("您好，麻烦问一下五险能缓交吗，谢谢！", "社保能缓缴吗"),
        ("ＨＲ问下：社保减免😂😂", "hr 社保减免"),  # full width, emoji, punctuation, filler
        ("停工停产期间工资怎么发", "停工停产期间工资怎么发"),  # a variant inside its canonical word stays
        ("停产了工资咋算", "停工停产了工资咋算"),
        ("水价从4.1降到4元", "水价从4.1降到4元"),  # decimals survive
        ("   ", ""),
    ],
)
def test_normalizer(typed: str, normalized: str) -> None:
    assert Normalizer(SYNONYMS)(typed) == normalized
