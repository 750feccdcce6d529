"""Normalisation and validation of addresses, numbers and records: the fast paths against the slow ones."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from airflow_provider_wooxy.api import is_valid_email
from airflow_provider_wooxy.pipeline.validation import (
    _NORMAL_EMAIL,
    EmailRecords,
    PhoneRecords,
    RecordError,
    _e164,
    _explain_email,
    _parsed_phone,
    normalise_email,
    normalise_phone,
)
from tests.helpers.phones import MAIN_REGIONS, example_numbers, variants


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", None, "+447911123456"),
        ("07624 123456", "GB", "+447624123456"),  # Isle of Man: +44 but not valid for GB itself
        ("(201) 555-0123", "US", "+12015550123"),
        ("+1 204 234 5678", None, "+12042345678"),  # Canada shares +1 with the US
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+39 06 6982 1234", None, "+390669821234"),  # Italian leading zero kept
        ("+800 1234 5678", None, "+80012345678"),  # a non-geographic number
    ],
)
def test_normalise_phone_accepts_what_phonenumbers_calls_valid(text: str, region: str | None, expected: str) -> None:
    assert phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    assert normalise_phone(text, region) == expected


@pytest.mark.parametrize(("text", "region"), [("07911 12345", "GB"), ("+44 1234", None), ("(201) 155-0123", "US")])
def test_normalise_phone_refuses_what_phonenumbers_calls_invalid(text: str, region: str | None) -> None:
    assert not phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    with pytest.raises(RecordError, match="not a valid phone number"):
        normalise_phone(text, region)


class TestPhoneErrors:
    @pytest.mark.parametrize(
        ("value", "default_region", "country"),
        [
            pytest.param("+44 20 7946 001", "US", "+44, GB", id="uk-number-read-with-us-default"),
            pytest.param("+1 415 555 267", "GB", "+1, US", id="nanp-number-read-with-gb-default"),
            pytest.param("020 7946 001", "GB", "+44, GB", id="national-format"),
            pytest.param("+49 30 1", None, "+49, DE", id="no-default-region"),
        ],
    )
    def test_invalid_number_names_its_own_country(self, value, default_region, country):
        with pytest.raises(RecordError) as info:
            normalise_phone(value, default_region)
        assert str(info.value) == f"not a valid phone number (country code {country})"


def slow_result(text: str, region: str | None) -> str | None:
    """What the parse path says about ``text``: the number, or None for a RecordError."""
    try:
        return _parsed_phone(text, region)
    except RecordError:
        return None


def result(text: str, region: str | None) -> str | None:
    """What normalise_phone says: the number, or None for a RecordError."""
    try:
        return normalise_phone(text, region)
    except RecordError:
        return None


def library_e164(text: str) -> str | None:
    """phonenumbers' own answer: the E.164 form of a valid number, else None."""
    try:
        number = phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def e164_near(region: str) -> list[str]:
    """E.164 texts of the region's example numbers and of every single-digit change of them, valid or not."""
    code = phonenumbers.country_code_for_region(region)
    return sorted({f"+{code}{national}" for example in example_numbers(region) for national in variants(example)})


class TestE164FastPath:
    """An E.164 text is checked on libphonenumber's metadata without a parse: it must say what the parse says."""

    @pytest.mark.parametrize("region", MAIN_REGIONS)
    def test_equals_the_parse_around_every_example(self, region: str) -> None:
        accepted = 0
        for text in e164_near(region):
            fast = _e164(text)
            assert result(text, None) == slow_result(text, None) == library_e164(text), text
            if fast:
                assert slow_result(text, None) == text, text
                accepted += 1
        if example_numbers(region):
            assert accepted, f"the fast path settled no number of {region}: the comparison would prove nothing"

    @settings(max_examples=3000, deadline=None)
    @given(
        region=st.sampled_from(MAIN_REGIONS),
        digits=st.text("0123456789", min_size=0, max_size=18),
        default=st.sampled_from([None, "GB", "US", "AR", "IT"]),
    )
    def test_equals_the_parse_for_any_digits_after_a_country_code(
        self, region: str, digits: str, default: str | None
    ) -> None:
        examples = example_numbers(region)
        # Half the time, start from an example's leading digits so that the draw lands near valid ranges.
        national = (examples[len(digits) % len(examples)][: len(digits) // 2] + digits)[:18] if examples else digits
        text = f"+{phonenumbers.country_code_for_region(region)}{national}"
        assert result(text, default) == slow_result(text, default)
        assert result(text, default) == library_e164(text)

    @settings(max_examples=2000, deadline=None)
    @given(text=st.text("+0123456789", min_size=0, max_size=22).map(lambda t: "+" + t))
    def test_equals_the_parse_for_any_text_after_a_plus(self, text: str) -> None:
        assert result(text, None) == slow_result(text, None)

    @pytest.mark.parametrize(
        ("text", "fast"),
        [
            pytest.param("+447911000123", True, id="gb-mobile"),
            pytest.param("+447911123456", True, id="guernsey-mobile-shares-44"),
            pytest.param("+12042345678", True, id="canada-shares-1"),
            pytest.param("+390669821234", True, id="italian-leading-zero"),
            pytest.param("+4407911000123", False, id="national-prefix-left-in"),
            pytest.param("+80012345678", False, id="non-geographic-takes-the-parse"),
            pytest.param("+44791100012", False, id="too-short-is-left-to-the-parse"),
            pytest.param("+4479110001\uff123", False, id="non-ascii-digit"),
            pytest.param("+", False, id="plus-alone"),
            pytest.param("+0447911000123", False, id="no-country-code-starts-with-0"),
        ],
    )
    def test_table(self, text: str, fast: bool) -> None:
        assert _e164(text) is fast
        assert result(text, None) == slow_result(text, None)

    def test_surrounding_space_is_trimmed_as_before(self) -> None:
        assert normalise_phone("  +447911000123\t", None) == "+447911000123"


def email_outcome(function: Callable[[object], str], value: object) -> str:
    """The address, or the message of the RecordError."""
    try:
        return function(value)
    except RecordError as exc:
        return f"error: {exc}"


EMAIL_TEXT = st.text(alphabet=st.sampled_from('aZ09.-_+@"\\ []!~xn'), max_size=30)


class TestEmailNormalForm:
    """An address already in normal form skips the slow path: it must come out as the slow path has it."""

    @settings(max_examples=3000, deadline=None)
    @given(
        address=st.one_of(
            st.emails(),
            st.emails().map(str.upper),
            st.emails().map(lambda a: f" {a}\t"),
            EMAIL_TEXT,
            st.builds(lambda local, domain: f"{local}@{domain}", EMAIL_TEXT, EMAIL_TEXT),
        )
    )
    def test_equals_the_slow_path(self, address: str) -> None:
        assert email_outcome(normalise_email, address) == email_outcome(_explain_email, address)

    @pytest.mark.parametrize(
        ("address", "normal"),
        [
            pytest.param("john.doe+tag@mail.example.com", True, id="dot-atom"),
            pytest.param("John@Example.com", False, id="upper-case-domain"),
            pytest.param(" john@example.com", False, id="white-space"),
            pytest.param('"john doe"@example.com', False, id="quoted-local-part"),
            pytest.param("john@xn--bcher-kva.example", True, id="idn-label-in-ascii"),
            pytest.param("john@example.xn--p1ai", False, id="idn-top-level-domain"),
            pytest.param("john@[192.0.2.1]", False, id="address-literal"),
            pytest.param("a" * 65 + "@example.com", False, id="local-part-over-64"),
            pytest.param("a@" + "b" * 63 + "." + ("c" * 63 + ".") * 3 + "com", False, id="over-254"),
            pytest.param("john@localhost", False, id="one-label"),
        ],
    )
    def test_table(self, address: str, normal: bool) -> None:
        assert (_NORMAL_EMAIL.fullmatch(address) is not None and len(address) <= 254 and address.find("@") <= 64) is (
            normal
        )
        assert email_outcome(normalise_email, address) == email_outcome(_explain_email, address)


class TestIdna2008:
    """Domains in their IDNA 2008 form (UTS 46, non-transitional), as Wooxy's own rule reads them."""

    @pytest.mark.parametrize(
        ("address", "sent"),
        [
            pytest.param("user@straße.de", "user@xn--strae-oqa.de", id="sharp-s-kept"),
            pytest.param("user@strasse.de", "user@strasse.de", id="ss-is-another-domain"),
            pytest.param("user@ς.gr", "user@xn--3xa.gr", id="final-sigma-kept"),
            pytest.param("user@bücher.de", "user@xn--bcher-kva.de", id="umlaut"),
            pytest.param("User@XN--STRAE-OQA.DE", "User@xn--strae-oqa.de", id="a-label-lower-cased"),
            pytest.param("user@xn--strae-oqa.de", "user@xn--strae-oqa.de", id="a-label-as-sent"),
        ],
    )
    def test_the_domain_is_sent_in_its_idna_2008_form(self, address: str, sent: str) -> None:
        assert normalise_email(address) == sent
        assert is_valid_email(sent)

    @pytest.mark.parametrize(
        ("address", "reason"),
        [
            pytest.param("user@xn--zz.de", "invalid A-label", id="a-label-that-decodes-to-nothing"),
            pytest.param("user@xn--strae-.de", "must not end with a hyphen", id="a-label-ending-in-hyphen"),
            pytest.param("user@exa\u2488mple.de", "code point U+2488 is not allowed", id="disallowed-code-point"),
        ],
    )
    def test_a_domain_idna_2008_refuses_is_a_reject_with_the_reason(self, address: str, reason: str) -> None:
        with pytest.raises(RecordError, match=re.escape(reason)) as info:
            normalise_email(address)
        assert "IDNA 2008" in str(info.value)
        assert not is_valid_email(address)  # the sandbox (Wooxy's rule) refuses it too

    def test_straße_and_strasse_are_two_keys(self) -> None:
        build = EmailRecords()
        assert build("user@straße.de")[0] != build("user@strasse.de")[0]


class TestCharacters:
    """A character with no UTF-8 form is the record's reject, never an error further on."""

    @pytest.mark.parametrize(
        ("item", "reason"),
        [
            pytest.param({"email": "a@example.com", "rawLog": "x\ud800"}, "rawLog holds U+D800 at character 2"),
            pytest.param({"email": "a@example.com", "rejectType": "\udcff"}, "rejectType '\\udcff' is not one of"),
            pytest.param("\ud800@example.com", "non-ASCII characters in the local part", id="local-part"),
            pytest.param("a@exam\ud800ple.com", "code point U+D800 is not allowed", id="domain"),
        ],
    )
    def test_a_lone_surrogate_in_an_email_record(self, item: object, reason: str) -> None:
        with pytest.raises(RecordError, match=re.escape(reason)):
            EmailRecords()(item)

    def test_a_lone_surrogate_in_a_phone_number(self) -> None:
        with pytest.raises(RecordError, match="phone number holds U\\+D800 at character 1"):
            PhoneRecords()("\ud800+447911123456")


class TestPhoneSpellings:
    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("tel:+44-7911-123456", id="rfc-3966"),
            pytest.param("TEL:+44-7911-123456", id="upper-case-scheme"),
            pytest.param("tel:7911-123456;phone-context=+44", id="phone-context"),
        ],
    )
    def test_a_tel_uri_is_read_as_its_number(self, text: str) -> None:
        assert normalise_phone(text, None) == "+447911123456"

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            pytest.param("tel:+44-7911-123456;ext=12", "has an extension", id="tel-extension"),
            pytest.param("tel:1-800-FLOWERS", "contains letters", id="tel-vanity"),
            pytest.param("4.47911E+11", "scientific notation", id="excel-scientific"),
            pytest.param("4,47911E+11", "scientific notation", id="excel-scientific-decimal-comma"),
            pytest.param("447911e11", "scientific notation", id="lower-case-exponent"),
        ],
    )
    def test_refused_with_its_own_reason(self, text: str, reason: str) -> None:
        with pytest.raises(RecordError, match=reason):
            normalise_phone(text, "GB")
