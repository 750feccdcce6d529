"""Records given directly (pipeline/sources/xcom.py): a list, typically an upstream task's XCom."""

from __future__ import annotations

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.pipeline.sources.xcom import iter_xcom_records


class TestXcomRecords:
    @pytest.mark.parametrize(
        "records",
        [
            pytest.param(["a@b.co", {"email": "c@d.co"}], id="list"),
            pytest.param(("a@b.co", {"email": "c@d.co"}), id="tuple"),
            pytest.param(iter(["a@b.co", {"email": "c@d.co"}]), id="iterator"),
        ],
    )
    def test_items_are_numbered_from_one(self, records: object):
        assert list(iter_xcom_records(records, "email")) == [(1, "a@b.co"), (2, {"email": "c@d.co"})]

    @pytest.mark.parametrize(
        ("records", "message"),
        [
            pytest.param('["a@b.co"]', r"got str \(a JSON string\? decode it upstream", id="json-string"),
            pytest.param(b"a@b.co", r"got bytes\.$", id="bytes"),
            pytest.param({"email": "a@b.co"}, r"got dict\.$", id="one-object"),
            pytest.param(7, r"got int\.$", id="number"),
        ],
    )
    def test_not_a_list(self, records: object, message: str):
        with pytest.raises(WooxyInputError, match=f"records must be a list of addresses or of objects, {message}"):
            list(iter_xcom_records(records, "email"))
