"""Fitting data sections into a prompt's budget of characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codegen.model.budget import EMPTY_BLOCK, clip, data_block, fit
from codegen.model.prompts import Section, compose
from core.prompt_data import CLOSE, OPEN


def test_clip_keeps_short_text_and_says_where_long_text_was_cut() -> None:
    assert clip("short", 10) == "short"
    cut = clip("x" * 1000, 100)
    assert len(cut) <= 100
    assert cut.startswith("xxx")
    assert "1000 characters, cut here" in cut
    assert clip("x" * 1000, 5) == ""


PIECES = st.lists(st.sampled_from(["a", "\n", OPEN, CLOSE, "USER_DATA", "<", ">"]), max_size=80).map("".join)


@given(PIECES, st.integers(0, 600))
def test_a_data_block_is_never_longer_than_its_limit_even_with_markers_inside(text: str, limit: int) -> None:
    block = data_block(text, limit)
    assert len(block) <= limit
    if block:
        assert block.startswith(OPEN + "\n")
        assert block.endswith("\n" + CLOSE)
        assert block.count(CLOSE) == 1, "a marker inside the text cannot end the block"
    if limit >= len(data_block(text, 10**6)):
        assert block == data_block(text, 10**6), "a block that fits is not cut"


def test_fit_keeps_small_sections_whole_and_shares_the_rest_equally() -> None:
    assert fit([100, 5_000, 9_000], 4_100) == [100, 2_000, 2_000]
    assert fit([100, 200], 10_000) == [100, 200]
    assert fit([1_000, 1_000], 10_000, [300, None]) == [300, 1_000]
    assert fit([500], -20) == [0]


def test_compose_stays_within_the_budget_but_never_cuts_a_whole_section() -> None:
    sections = [Section(f"Interface {n}:", "def f(): ...\n" * 2_000) for n in range(10)]
    message = compose("system", sections, "Do it.", budget=8_000)
    assert len("system") + len(message.content) <= 8_000
    assert message.content.count(OPEN) == 10
    assert message.content.endswith("Do it.")

    whole = compose(
        "system", [*sections, Section("The file:", "y = 2\n" * 3_000, whole=True)], "Fix.", budget=8_000
    )
    assert ("y = 2\n" * 3_000).strip() in whole.content
    assert whole.content.count(OPEN) == 1, "the other sections are left out when nothing is left"


def test_a_section_without_room_for_its_markers_is_left_out() -> None:
    message = compose("s" * 90, [Section("Example:", "z" * 500)], "Go.", budget=100 + EMPTY_BLOCK)
    assert OPEN not in message.content
    assert message.content == "Go."
