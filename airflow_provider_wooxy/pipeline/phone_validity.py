"""
Phone validity as libphonenumber defines it, as a fast test on a number's national significant number: per region
(:class:`RegionValidity`) and per country code (:class:`CountryValidity`, :func:`country_validity`).
tests/pipeline/test_phone_validity.py holds them equal to phonenumbers for every region and country code.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneMetadata

# The number types libphonenumber tells apart. A number is valid for a region when its national significant number
# matches the region's general description and at least one of these; mobile is not looked at when the region's
# mobile and fixed-line patterns are the same (phonenumbers' _number_type_helper).
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class CountryValidity:
    """
    ``phonenumbers.is_valid_number`` for the numbers of one country code, as a test on the national significant
    number: valid for the code's main region (the common case, two regex matches), or else for the region that
    ``is_valid_number`` would pick among the regions sharing the code (by their leading digits, else by validity).
    tests/pipeline/test_validation.py holds it equal to phonenumbers for every country code.
    """

    def __init__(self, regions: tuple[str, ...]) -> None:
        metadata = [m for m in map(PhoneMetadata.metadata_for_region, regions) if m is not None]
        self._main = RegionValidity(metadata[0])
        # is_valid_number's choice among the regions sharing the code (none to choose from when it has one).
        self._shared = [
            (re.compile(m.leading_digits) if m.leading_digits is not None else None, RegionValidity(m))
            for m in (metadata if len(metadata) > 1 else ())
        ]
        # parse (E.164 input) strips or transforms a national prefix for parsing that matches the number's start.
        self._prefix = re.compile(metadata[0].national_prefix_for_parsing or "(?!)")
        self._transforms = bool(metadata[0].national_prefix_transform_rule)

    def valid(self, national: str) -> bool:
        if self._main(national):
            return True
        for leading, check in self._shared:
            if leading is None:
                if check(national):
                    return True
            elif leading.match(national):
                return check(national)
        return False

    def e164(self, national: str) -> bool:
        """Valid, and read by parse from ``+<code><national>`` with ``national`` untouched."""
        if not 2 <= len(national) <= 17:  # phonenumbers' bounds on a national significant number
            return False
        found = self._prefix.match(national)
        if found is not None:
            groups = found.groups()
            if found.end() or any(g is not None for g in groups) or (self._transforms and not groups):
                return False
        return self.valid(national)


COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@functools.cache
def country_validity(code: str) -> CountryValidity | None:
    """The checks of a country code (its digits), made on first use; None for the non-geographic codes."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[int(code)]
    if regions[0] in ("001", "ZZ") or PhoneMetadata.metadata_for_region(regions[0]) is None:
        return None  # is_valid_number decides, and their E.164 text takes the parse
    return CountryValidity(regions)


class RegionValidity:
    """
    Whether a national significant number is valid for one region, by libphonenumber's rules and metadata.

    ``phonenumbers.is_valid_number_for_region`` works out the number's type, trying up to ten type patterns in
    turn (~6.5 us for a UK mobile). Validity only needs to know that some type matches, so the type patterns
    allowing a given length are joined into one regex, compiled once per length: two regex matches (~0.6 us).
    tests/pipeline/test_validation.py holds it equal to phonenumbers for every region.
    """

    def __init__(self, metadata: PhoneMetadata) -> None:
        general = metadata.general_desc
        self._general = (
            re.compile(general.national_number_pattern) if general and general.national_number_pattern else None
        )
        self._general_lengths = frozenset(general.possible_length) if general else frozenset()
        self._types = [
            (frozenset(desc.possible_length), desc.national_number_pattern)
            for name in _NUMBER_TYPES
            if not (name == "mobile" and metadata.same_mobile_and_fixed_line_pattern)
            and (desc := getattr(metadata, name)) is not None
            and desc.national_number_pattern
        ]
        self._by_length: dict[int, tuple[re.Pattern[str], re.Pattern[str]] | None] = {}

    def _patterns(self, length: int) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
        try:
            return self._by_length[length]
        except KeyError:
            alternatives = [pattern for lengths, pattern in self._types if not lengths or length in lengths]
            usable = self._general is not None and (not self._general_lengths or length in self._general_lengths)
            joined = "|".join(f"(?:{a})" for a in alternatives)
            patterns = (self._general, re.compile(joined)) if self._general and usable and alternatives else None
            self._by_length[length] = patterns
            return patterns

    def __call__(self, national: str) -> bool:
        patterns = self._patterns(len(national))
        return (
            patterns is not None
            and patterns[0].fullmatch(national) is not None
            and patterns[1].fullmatch(national) is not None
        )
