"""Phone numbers to test validity with: libphonenumber's example numbers and their neighbours."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType, is_valid_number_for_region

from airflow_provider_wooxy.pipeline.validation import _MAIN_REGION

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
