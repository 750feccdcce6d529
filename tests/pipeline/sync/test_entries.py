"""What an email and a phone entry are for a sync: identities, addresses, payloads, line shapes, loose addresses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wooxy.api import EMAIL_LIST, PHONE_LIST
from airflow_provider_wooxy.pipeline.sync.entries import EMAIL, PHONE
from airflow_provider_wooxy.pipeline.validation import EmailRecords, PhoneRecords


class TestTheListsAreTheApis:
    @pytest.mark.parametrize(
        ("kind", "wooxy", "pages"),
        [pytest.param(EMAIL, EMAIL_LIST, True, id="email"), pytest.param(PHONE, PHONE_LIST, False, id="phone")],
    )
    def test_each_kind_reads_its_wooxy_list(self, kind, wooxy, pages: bool):
        assert kind.wooxy is wooxy
        assert (kind.name, kind.address_key, kind.find_pages_the_list) == (wooxy.name, wooxy.key_field, pages)

    def test_each_finds_through_its_own_door_method(self):
        class Door:
            def find_email_blacklist(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
                return {"method": EMAIL_LIST.find}

            def find_phone_blacklist(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
                return {"method": PHONE_LIST.find}

        door = Door()
        assert EMAIL.find_in(door)("hard")["method"] == EMAIL.wooxy.find  # type: ignore[arg-type]
        assert PHONE.find_in(door)("+447400000001")["method"] == PHONE.wooxy.find  # type: ignore[arg-type]


class TestEmailList:
    def test_identity_is_the_line_lower_cased_line_by_line_or_at_once(self):
        assert EMAIL.identity("John@Example.com\thard") == "john@example.com\thard"
        text = "A@x.co\thard\nB@x.co\tcomplaint\n"
        assert EMAIL.identity(text).split("\n") == [EMAIL.identity(line) for line in text.split("\n")]

    def test_the_identity_of_a_validated_record_is_its_lines(self):
        key, payload = EmailRecords()("John@Example.com")
        assert EMAIL.identity_of_key(key) == EMAIL.identity(EMAIL.line_of_payload(payload)) == "john@example.com\thard"

    def test_the_address_drops_the_reject_type(self):
        assert EMAIL.address_of("john@example.com\thard") == "john@example.com"
        text = "A@x.co\thard\nb@x.co\tlist-unsubscribe\nC@x.co\tcustom-type\n"  # a type of no release: the regex
        assert EMAIL.addresses(text) == "a@x.co\nb@x.co\nc@x.co\n"

    def test_payloads_round_trip(self):
        payload = EMAIL.remove_payload("John@Example.com\tcomplaint")
        assert json.loads(payload) == {"email": "John@Example.com", "rejectType": "complaint"}
        assert EMAIL.line_of_payload(payload) == "John@Example.com\tcomplaint"

    def test_plain_addresses_need_a_reject_type_and_name_only_texts_as_they_stand(self):
        assert EMAIL.plain_addresses(None) is None
        addresses = EMAIL.plain_addresses("hard")
        assert addresses is not None
        texts = ["a@x.co", "b@x.co"]
        assert addresses(texts) is texts  # lower case ASCII: the texts themselves
        assert addresses(["A@X.co", "\u212aate@x.co", "c@x.co\thard"]) == ["a@x.co", "", ""]

    def test_named_plainly_are_the_run_types_addresses(self):
        assert EMAIL.named_plainly("A@x.co\thard\nb@x.co\tcomplaint\n", "hard") == ["a@x.co", "b@x.co\tcomplaint"]

    @pytest.mark.parametrize(
        ("value", "address"),
        [
            pytest.param(" John@Example.com ", "john@example.com", id="trimmed-lower-cased"),
            pytest.param("no at sign", None, id="no-address"),
            pytest.param({"email": "a@x.co"}, None, id="not-text"),
        ],
    )
    def test_a_loose_address(self, value: object, address: str | None):
        assert EMAIL.loose_address(value, None) == address

    @pytest.mark.parametrize(
        "line",
        [
            "a@x.co\thard",
            "a@x.co\t",
            "a.x.co\thard",
            "a@x.co",
            "a@x.co\thard\tx",
            "\t@",
            "@\tx",
            "a\t@b\tc",
            "é@x\tq\r",
        ],
    )
    def test_the_line_shape_is_the_entry_check(self, line: str):
        address, tab, reject_type = line.partition("\t")
        expected = bool(tab) and "@" in address and bool(reject_type) and "\t" not in reject_type
        assert (EMAIL.shape.fullmatch(line) is not None) is expected
        assert (EMAIL.first_bad_line(f"a@x.co\thard\n{line}\n") is None) is expected

    def test_the_first_bad_line_is_counted_from_zero(self):
        assert EMAIL.first_bad_line("a@x.co\thard\nnope\nb@x.co\thard\n") == 1
        assert EMAIL.entry_described == "an email entry (address, tab, reject type)"


class TestPhoneList:
    def test_a_number_is_its_own_identity_and_address(self):
        assert PHONE.identity("+447400000001") == PHONE.address_of("+447400000001") == "+447400000001"
        assert PHONE.addresses("+447400000001\n+447400000002\n") == "+447400000001\n+447400000002\n"

    def test_one_entry_per_number_whatever_the_reject_type(self):
        key, payload = PhoneRecords(reject_type="unsubscribe")("+447400000001")
        assert PHONE.identity_of_key(key) == PHONE.line_of_payload(payload) == "+447400000001"
        assert PHONE.remove_payload("+447400000001") == b'{"phoneNumber":"+447400000001"}'  # no reject type

    def test_texts_are_matched_as_they_stand_for_any_reject_type(self):
        addresses = PHONE.plain_addresses(None)
        assert addresses is not None and addresses(["+447400000001", "07400"]) == ["+447400000001", "07400"]
        assert PHONE.named_plainly("+447400000001\n+447400000002\n", "import") == ["+447400000001", "+447400000002"]

    @pytest.mark.parametrize(
        ("value", "region", "address"),
        [
            pytest.param("07400 000001", "GB", "+447400000001", id="national"),
            pytest.param("07400 000001", None, "+07400000001", id="no-region-its-digits"),
            pytest.param("   ", "GB", None, id="blank"),
            pytest.param(447400000001, "GB", None, id="not-text"),
        ],
    )
    def test_a_loose_address(self, value: object, region: str | None, address: str | None):
        assert PHONE.loose_address(value, region) == address

    def test_the_line_shape_is_e164(self):
        assert PHONE.first_bad_line("+447400000001\n") is None
        assert PHONE.first_bad_line("+447400000001\n447400000002\n") == 1
        assert PHONE.entry_described == "an E.164 number"
