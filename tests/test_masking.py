"""Masking: addresses and numbers are masked; the provider's own words and counts stay readable."""

from __future__ import annotations

import pytest

from airflow_provider_wooxy.masking import mask_email, mask_phone, mask_value, scrub


class TestScrub:
    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("CSV row has 12000000 fields but the header has 3", id="field-count"),
            pytest.param("row 1234567: not an email address", id="row-number"),
            pytest.param("rawLog is 1048576 bytes in UTF-8", id="byte-count"),
            pytest.param("row 2; and 1500000 more", id="and-more"),
            pytest.param("no local part and domain around an '@'", id="the-sign-itself"),
            pytest.param("the JSON array is broken after element 2500000", id="element-number"),
        ],
    )
    def test_the_providers_own_words_are_kept(self, text: str) -> None:
        assert scrub(text) == text

    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            pytest.param("got +44 7911 123456 here", "got +4***********56 here", id="grouped-number"),
            pytest.param("value 447911123456", "value 44********56", id="bare-number"),
            pytest.param("'alice@example.com'", "'a***@e***.com'", id="address"),
            pytest.param("12000000 fields", "12000000 fields", id="counted-kept"),
        ],
    )
    def test_addresses_and_numbers_are_masked(self, text: str, masked: str) -> None:
        assert scrub(text) == masked


class TestMaskedValues:
    @pytest.mark.parametrize(
        ("value", "masked"),
        [
            pytest.param("\u202ealice@example.com", "a***@e***.com", id="bidi-override-email"),
            pytest.param("+14155552671\u202c", "+1********71", id="bidi-pop-phone"),
            pytest.param("\u200b+14155552671", "+1********71", id="zero-width-space"),
            pytest.param("\ud800+14155552671", "+1********71", id="lone-surrogate"),
            pytest.param("a\x1b[31m@example.com", "a***@e***.com", id="escape-sequence"),
        ],
    )
    def test_control_and_bidi_characters_are_dropped(self, value: str, masked: str) -> None:
        assert mask_value(value) == masked
        assert mask_value(value).isprintable()

    def test_plain_values_are_masked_as_before(self) -> None:
        assert mask_email("john.doe@example.com") == "j***@e***.com"
        assert mask_phone("+14155552671") == "+1********71"
