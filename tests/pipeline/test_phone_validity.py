"""Phone validity as libphonenumber defines it: our fast check against phonenumbers itself, for every region."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata

from airflow_provider_wooxy.pipeline.phone_validity import RegionValidity
from tests.helpers.phones import MAIN_REGIONS, example_numbers, library_says, variants


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
