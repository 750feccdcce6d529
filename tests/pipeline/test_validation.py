"""Phone validity as libphonenumber defines it: our fast check against phonenumbers itself, for every region."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType, is_valid_number_for_region

from airflow_provider_wooxy.pipeline.validation import (
    _MAIN_REGION,
    _NORMAL_EMAIL,
    RecordError,
    RegionValidity,
    _e164,
    _explain_email,
    _parsed_phone,
    normalise_email,
    normalise_phone,
)

MAIN_REGIONS = sorted(set(_MAIN_REGION.values()))
TYPES = [value for name, value in vars(PhoneNumberType).items() if name.isupper() and name != "UNKNOWN"]


def example_numbers(region: str) -> list[str]:
    """The national significant numbers of the region's example numbers, one per type it has."""
    found = []
    for kind in TYPES:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            found.append(phonenumbers.national_significant_number(example))
    return found


def library_says(region: str, national: str) -> bool:
    number = phonenumbers.PhoneNumber(
        country_code=phonenumbers.country_code_for_region(region), national_number=int(national)
    )
    zeros = len(national) - len(str(int(national)))
    if zeros:
        # An NSN with leading zeros (Italy and others) keeps them this way, as phonenumbers.parse sets them.
        number.italian_leading_zero = True
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    assert phonenumbers.national_significant_number(number) == national  # the same digits reach both checks
    return is_valid_number_for_region(number, region)


def variants(national: str) -> set[str]:
    """The number, every single-digit change of it, and the number one digit shorter and longer."""
    found = {national, national[:-1], national + "0", national + "9"}
    for position in range(len(national)):
        for digit in "0123456789":
            found.add(national[:position] + digit + national[position + 1 :])
    return {v for v in found if len(v) >= 2}


@pytest.mark.parametrize("region", MAIN_REGIONS)
def test_region_validity_equals_phonenumbers_around_every_example(region: str) -> None:
    check = RegionValidity(PhoneMetadata.metadata_for_region(region))
    valid = 0
    for example in example_numbers(region):
        for national in variants(example):
            expected = library_says(region, national)
            assert check(national) is expected, (region, national)
            valid += expected
    if example_numbers(region):
        assert valid, f"no valid number checked for {region}: the comparison would prove nothing"


@settings(max_examples=3000, deadline=None)
@given(region=st.sampled_from(MAIN_REGIONS), digits=st.text("0123456789", min_size=2, max_size=17))
def test_region_validity_equals_phonenumbers_for_any_digits(region: str, digits: str) -> None:
    examples = example_numbers(region)
    # Half the time, start from an example's leading digits so that the draw lands near valid ranges.
    national = (examples[len(digits) % len(examples)][: len(digits) // 2] + digits)[:17] if examples else digits
    assert RegionValidity(PhoneMetadata.metadata_for_region(region))(national) is library_says(region, national)


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
