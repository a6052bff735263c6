"""Validations through the file-backed GX context are kept and rendered as Data Docs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_pipeline.quality.suites import build_data_docs, validate_frame


def test_validation_results_become_data_docs(tmp_path: Path) -> None:
    frame = pd.DataFrame({"rows": [5, 0]})
    outcome = validate_frame("raw_orders_volume", frame, {}, store=tmp_path)
    assert [o.success for o in outcome.outcomes] == [False]  # a day without orders
    assert outcome.errors[0].unexpected_count == 1
    index = build_data_docs(tmp_path)
    assert index == tmp_path / "gx_docs" / "index.html"
    html = index.read_text()
    assert "raw_orders_volume" in html
    pages = list((tmp_path / "gx_docs" / "validations").rglob("*.html"))
    assert len(pages) == 1 and "values must be greater than or equal to" in pages[0].read_text()


def test_data_docs_of_given_outcomes_render_only_their_pages(tmp_path: Path) -> None:
    first = validate_frame("raw_orders_volume", pd.DataFrame({"rows": [5]}), {}, store=tmp_path)
    build_data_docs(tmp_path, [first])
    second = validate_frame("raw_orders_volume", pd.DataFrame({"rows": [0]}), {}, store=tmp_path)
    assert second.result_key is not None and second.result_key != first.result_key
    page_of_first = next((tmp_path / "gx_docs" / "validations").rglob("*.html"))
    page_of_first.write_text("kept as it was")
    index = build_data_docs(tmp_path, [second])
    pages = list((tmp_path / "gx_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2 and page_of_first.read_text() == "kept as it was"
    assert any("values must be greater than or equal to" in p.read_text() for p in pages)
    assert list((tmp_path / "gx_docs" / "expectations").rglob("raw_orders_volume.html"))
    assert index.read_text().count("raw_orders_volume") >= 2


def test_data_docs_of_a_run_render_its_results_only(tmp_path: Path) -> None:
    frame = pd.DataFrame({"rows": [0]})
    validate_frame("raw_orders_volume", frame, {}, store=tmp_path, run_name="run-a")
    index = build_data_docs(tmp_path, run_name="run-b")  # no results: nothing rendered
    assert not index.exists()
    build_data_docs(tmp_path, run_name="run-a")
    assert "raw_orders_volume" in index.read_text()
    assert len(list((tmp_path / "gx_docs" / "validations").rglob("*.html"))) == 1
