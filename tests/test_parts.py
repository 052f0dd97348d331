"""A message cut into the parts a channel accepts: nothing lost, no part over the limit."""

from bot.channels.parts import split_text, utf8_bytes


def test_a_long_message_is_cut_at_line_ends_within_each_channels_measure() -> None:
    text = "\n".join(f"第{i}条：" + "政策" * 30 for i in range(40))
    for limit, size in ((500, len), (700, utf8_bytes)):
        cut = split_text(text, limit, size)
        assert len(cut) > 1 and all(size(p) <= limit for p in cut)
        assert "\n".join(cut) == text  # nothing lost, no line broken when lines fit


def test_an_overlong_line_is_cut_inside_without_breaking_a_character() -> None:
    cut = split_text("长" * 1000, 2048, utf8_bytes)
    assert [len(p) for p in cut] == [682, 318] and "".join(cut) == "长" * 1000


def test_an_empty_message_still_sends_something() -> None:
    assert split_text("\n\n", 10) == ["…"]
