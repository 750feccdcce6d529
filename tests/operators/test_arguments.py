"""The operators' argument checks (operators/arguments.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wooxy.exceptions import WooxyInputError
from airflow_provider_wooxy.operators.arguments import rendered_region
from airflow_provider_wooxy.operators.export import WooxyExportEmailBlacklistOperator
from airflow_provider_wooxy.operators.lookup import WooxyCheckPhoneBlacklistOperator


class TestRenderedRegion:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(None, None, id="none"),
            pytest.param(" ", None, id="blank"),
            pytest.param("gb", "GB", id="lower-case"),
            pytest.param(" US ", "US", id="spaces"),
        ],
    )
    def test_known_regions(self, value: str | None, expected: str | None):
        assert rendered_region(value) == expected

    def test_unknown_region_is_one_clear_error(self):
        with pytest.raises(WooxyInputError, match="default_region 'UK' is not an ISO 3166 country code"):
            rendered_region("UK")


OUTPUT_OPERATORS = [
    pytest.param(WooxyExportEmailBlacklistOperator, {}, id="email-export"),
    pytest.param(WooxyCheckPhoneBlacklistOperator, {"records": []}, id="phone-check"),
]


class TestOutputPath:
    """The export and look-up operators name their output output_path; path is its deprecated alias."""

    @pytest.mark.parametrize(("operator", "kwargs"), OUTPUT_OPERATORS)
    def test_output_path_is_templated_and_path_is_not_a_field(self, operator: type[Any], kwargs: dict[str, Any]):
        assert "output_path" in operator.template_fields
        assert "path" not in operator.template_fields
        assert operator(task_id="t", output_path="out.csv", **kwargs).output_path == "out.csv"

    @pytest.mark.parametrize(("operator", "kwargs"), OUTPUT_OPERATORS)
    def test_path_still_works_with_a_deprecation_warning(self, operator: type[Any], kwargs: dict[str, Any]):
        with pytest.warns(DeprecationWarning, match="use output_path="):
            op = operator(task_id="t", path="{{ ds }}/out.csv", **kwargs)
        assert op.output_path == "{{ ds }}/out.csv"
        op.render_template_fields({"ds": "2026-12-01"})
        assert op.output_path == "2026-12-01/out.csv"

    @pytest.mark.parametrize(("operator", "kwargs"), OUTPUT_OPERATORS)
    def test_both_names_or_neither_is_refused(self, operator: type[Any], kwargs: dict[str, Any]):
        with pytest.raises(WooxyInputError, match="give output_path only"):
            operator(task_id="t", output_path="a.csv", path="b.csv", **kwargs)
        with pytest.raises(WooxyInputError, match="output_path is required"):
            operator(task_id="t", **kwargs)
