"""What ``ketenzorg monitor --out`` writes: the CSV, the FHIR MeasureReports and the HTML pages carry
the same published figures, and nothing that could point at a family."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.factories import run_cli

from ketenzorg.interop.conformance.common import package_version
from ketenzorg.interop.definitions import DATA_ABSENT_REASON, measure_url
from ketenzorg.interop.measurereport import measure_reports
from ketenzorg.monitor.flat import write_parquet
from ketenzorg.monitor.indicators import INDICATORS, Period, area_parents, run_indicators
from ketenzorg.monitor.measures import measure_text
from ketenzorg.monitor.page import CHARTS, region_pages
from ketenzorg.monitor.publish import publish, to_csv
from ketenzorg.monitor.synth import generate

MARKER = "qqoutmarkerqq"
PERIODS = ("2025H2", "2026H1")
REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KETENZORG_FHIR_R4", REPO.parent / "shared" / "fhir-r4"))
SCHEMA = SHARED / "fhir.schema.json"
needs_schema = pytest.mark.skipif(not SCHEMA.exists(), reason=f"official FHIR R4 JSON Schema not at {SCHEMA}")
FORBIDDEN = (MARKER, "case-", "Cliënt", "Hulpverlener", "Opvang Geheim", "Oranje Huis", "Lindelaan", "reden")
"""Traces of a case: the planted marker, case ids, and the invented names, addresses and texts."""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitor-out")
    table = root / "events.parquet"
    write_parquet(generate(240, seed=11, marker=MARKER), table)
    result = run_cli(
        "monitor", str(table), "--period", "..".join(PERIODS), "--by", "municipality",
        "--lang", "nl", "--out", str(root / "figures"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root / "figures"


def csv_cells(path: Path) -> dict[tuple[str, str, str], str]:
    """Every figure of a CSV: (level, area, column) to the text shown."""
    cells = {}
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        for column, value in row.items():
            if column not in ("period", "level", "area", "parent"):
                cells[(row["level"], row["area"], column)] = value
    return cells


def is_count_column(column: str) -> bool:
    return not column.endswith(("_days", ".pct"))


def _shown_count(population: dict[str, Any]) -> str:
    if "count" in population:
        return str(population["count"])
    assert population["_count"]["extension"] == [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]
    return "."


def _shown_score(score: dict[str, Any], unit: str) -> str:
    if "value" not in score:
        assert score["extension"][0]["url"] == DATA_ABSENT_REASON
        return "."
    assert score["code"] == unit
    return f"{score['value']:.1f}" if unit == "%" else str(score["value"])


def _column(name: str, category: str | None) -> str:
    """The CSV's column of a count: the indicator's one figure, a category, or the total."""
    label = category or ("total" if measure_text(name).by_category else None)
    return name if label is None else f"{name}.{'total' if label == '_total' else label}"


def _put(
    cells: dict[tuple[str, str, str], str],
    name: str,
    group: str,
    where: tuple[str, str, str | None],
    populations: list[Any],
    score: Any,
) -> None:
    """The figures of one group or stratum, under the CSV's names."""
    level, area, category = where
    text = measure_text(name)
    if not populations:
        # the half-year has no figure of the indicator: the CSV has only its percentage, not published
        assert score is None or "value" not in score
        if text.scoring == "proportion":
            cells[(level, area, f"{name}.pct")] = "."
        return
    shown = {p["code"]["coding"][0]["code"]: _shown_count(p) for p in populations}
    key = (level, area, _column(name, category))
    if cells.setdefault(key, shown["initial-population"]) != shown["initial-population"]:
        raise AssertionError(f"{key}: two different counts")
    if text.scoring == "continuous-variable":
        assert shown["measure-population"] == shown["initial-population"]
        cells[(level, area, f"{_column(name, category)}.{group}_days")] = _shown_score(score, "d")
    if text.scoring == "proportion" and category is None:
        assert shown["denominator"] == shown["initial-population"]
        cells[(level, area, f"{name}.{text.numerator}")] = shown["numerator"]
        cells[(level, area, f"{name}.pct")] = _shown_score(score, "%")


def report_cells(bundle: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """Every figure of the MeasureReports, named as the CSV names it: an independent reading of
    the FHIR layout (group per figure, stratifiers by area level and category)."""
    cells: dict[tuple[str, str, str], str] = {}
    for entry in bundle["entry"]:
        report = entry["resource"]
        assert report["type"] == "summary"
        name = report["measure"].split("|")[0].rsplit("/", 1)[1].replace("-", "_")
        for group in report["group"]:
            code = group["code"]["text"]
            where = ("total", "all", None)
            _put(cells, name, code, where, group.get("population", []), group.get("measureScore"))
            for stratifier in group.get("stratifier", []):
                by = stratifier["code"][0]["text"]
                for stratum in stratifier["stratum"]:
                    if "value" in stratum:
                        values = {by: stratum["value"]["text"]}
                    else:
                        values = {c["code"]["text"]: c["value"]["text"] for c in stratum["component"]}
                    category = values.pop("category", None)
                    level, area = next(iter(values.items()), ("total", "all"))
                    where = (level, area, category)
                    _put(cells, name, code, where, stratum.get("population", []), stratum.get("measureScore"))
    return cells


def test_every_output_is_written(out: Path) -> None:
    names = sorted(p.name for p in out.iterdir())
    for period in PERIODS:
        assert f"monitor-{period}-municipality.csv" in names
        assert f"monitor-{period}-municipality.measurereport.json" in names
    pages = [n for n in names if n.endswith(".html")]
    assert pages == sorted(
        f"monitor-2025H2-2026H1-municipality-{slug}.nl.html"
        for slug in ("regio-heuvelrand", "regio-noorderveen", "regio-rivierenland-oost")
    )


@pytest.mark.parametrize("period", PERIODS)
def test_the_measure_report_carries_exactly_the_csv_figures(out: Path, period: str) -> None:
    bundle = json.loads((out / f"monitor-{period}-municipality.measurereport.json").read_text("utf-8"))
    from_csv = csv_cells(out / f"monitor-{period}-municipality.csv")
    from_report = report_cells(bundle)
    assert from_report == from_csv
    assert "." in from_csv.values()  # the data has suppressed cells, so the comparison covers them
    measures = [e["resource"]["measure"] for e in bundle["entry"]]
    assert measures == [f"{measure_url(i.name)}|{package_version()}" for i in INDICATORS]
    assert {e["resource"]["period"]["start"][:4] for e in bundle["entry"]} == {period[:4]}


@cache
def _validator(resource_type: str) -> Any:
    import jsonschema

    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


@needs_schema
@pytest.mark.parametrize("period", PERIODS)
def test_the_measure_report_is_valid_r4(out: Path, period: str) -> None:
    bundle = json.loads((out / f"monitor-{period}-municipality.measurereport.json").read_text("utf-8"))
    errors = []
    for index, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        errors += [
            f"{index} {list(e.absolute_path)}: {e.message}"
            for e in _validator("MeasureReport").iter_errors(resource)
        ]
    shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in bundle["entry"]]}
    errors += [e.message for e in _validator("Bundle").iter_errors(shell)]
    assert errors == []


def _publishable(value: int) -> bool:
    return value % 5 == 0 and not 1 <= value <= 9


def _counts(node: Any) -> list[int]:
    if isinstance(node, dict):
        found = [node["count"]] if "count" in node else []
        return found + [c for v in node.values() for c in _counts(v)]
    if isinstance(node, list):
        return [c for v in node for c in _counts(v)]
    return []


class _Tables(HTMLParser):
    """The cells of every table of a page, by table id, and the value labels of the charts' bars."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.svg_texts: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._svg = 0
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs)["id"] or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "svg":
            self._svg += 1
        elif tag == "text" and self._svg:
            self._in_text = dict(attrs).get("class") == "value"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "svg":
            self._svg -= 1
        elif tag == "text":
            self._in_text = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_text:
            self.svg_texts.append(data.strip())


COUNT_COLUMNS = {
    "trends-table": (1, 2, 3),
    "durations-table": (1,),
    "relapse-table": (1, 2, 4),
    "areas-table": (2, 3),
}
"""The columns of each page table that hold counts (the others: days, percentages, labels)."""


def test_no_count_from_1_to_9_or_off_the_rounding_base_anywhere(out: Path) -> None:
    for path in out.glob("*.csv"):
        for (_, _, column), value in csv_cells(path).items():
            if is_count_column(column) and value != ".":
                assert _publishable(int(value)), (path.name, column)
    for path in out.glob("*.measurereport.json"):
        counts = _counts(json.loads(path.read_text(encoding="utf-8")))
        assert counts
        assert all(_publishable(c) for c in counts)
    for path in out.glob("*.html"):
        parser = _Tables()
        parser.feed(path.read_text(encoding="utf-8"))
        assert set(parser.tables) == set(COUNT_COLUMNS)
        for table, columns in COUNT_COLUMNS.items():
            for row in parser.tables[table][1:]:
                for index in columns:
                    assert row[index] == "." or _publishable(int(row[index])), (path.name, table, row)


def test_the_page_shows_only_figures_of_the_csv(out: Path) -> None:
    """Each number in a page's tables and charts is a figure the CSV of its region publishes."""
    region = "Regio Noorderveen"
    page = out / "monitor-2025H2-2026H1-municipality-regio-noorderveen.nl.html"
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    shown = {
        period: {c: v for (lvl, area, c), v in csv_cells(out / f"monitor-{period}-municipality.csv").items()
                 if (lvl, area) == ("region", region)}
        for period in PERIODS
    }  # fmt: skip
    trends = parser.tables["trends-table"][1:]
    assert [row[0] for row in trends] == list(PERIODS)
    for row in trends:
        figures = shown[row[0]]
        assert row[1:] == [
            figures[c] for c in ("cases_opened", "phase_at_end.total", "closed.total", "closed.pct")
        ]
    for row in parser.tables["relapse-table"][1:]:
        figures = shown[row[0]]
        wanted = [figures.get(c, "0") for c in ("relapse_6_months.total", "relapse_6_months.relapsed")]
        assert row[1:3] == wanted
        assert row[3] == figures["relapse_6_months.pct"]
    durations = parser.tables["durations-table"][1:]
    last = shown[PERIODS[-1]]
    assert durations[0][1:] == [
        last[f"time_to_phase_2{q}"] for q in ("", ".q1_days", ".median_days", ".q3_days")
    ]
    # the bars' labels are figures of the tables: the trends' counts and the relapse percentages
    labels = parser.svg_texts
    assert labels
    assert sorted(labels) == sorted(
        [cell for row in trends for cell in row[1:4]]
        + [row[i] for row in parser.tables["relapse-table"][1:] for i in (3, 5)]
    )


def test_no_case_id_name_free_text_or_address_in_any_output(out: Path) -> None:
    written = list(out.iterdir())
    assert len(written) >= 7
    for path in written:
        text = path.read_text(encoding="utf-8")
        for forbidden in FORBIDDEN:
            assert forbidden not in text, (path.name, forbidden)


def test_the_page_has_one_chart_and_one_table_per_indicator_group(out: Path) -> None:
    text = (out / "monitor-2025H2-2026H1-municipality-regio-heuvelrand.nl.html").read_text("utf-8")
    assert len(re.findall(r'<svg class="chart"', text)) == len(CHARTS) == 3
    for chart in CHARTS:
        assert f'id="{chart}-chart"' in text
        assert f'id="{chart}-table"' in text
    assert "<script" not in text
    assert 'http-equiv="Content-Security-Policy"' in text
    assert "@media print" in text
    assert "niet gepubliceerd" in text  # the "." is explained, in the page's language
    assert not re.search(r"(src|href)=", text)


def test_english_page(tmp_path: Path, out: Path) -> None:
    result = run_cli(
        "monitor", str(out.parent / "events.parquet"), "--period", "2026H1", "--lang", "en",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "monitor-2026H1-region-regio-heuvelrand.en.html").read_text("utf-8")
    assert "Regional monitor" in page
    assert "not published" in page
    assert 'lang="en"' in page


def test_a_bad_period_range_is_refused(tmp_path: Path, out: Path) -> None:
    table = str(out.parent / "events.parquet")
    backwards = run_cli("monitor", table, "--period", "2026H1..2025H1", "--out", str(tmp_path))
    assert backwards.returncode == 1
    assert "range" in backwards.stderr
    missing = run_cli("monitor", table, "--out", str(tmp_path))
    assert missing.returncode == 1
    assert "period" in missing.stderr


def test_demo_writes_the_figures_of_a_synthetic_region(tmp_path: Path) -> None:
    result = run_cli("monitor", "--demo", "--by", "region", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in names if n.endswith(".csv")] == [
        f"monitor-{p}-region.csv" for p in ("2025H1", "2025H2", "2026H1")
    ]
    assert len([n for n in names if n.endswith(".measurereport.json")]) == 3
    assert len([n for n in names if n.endswith(".en.html")]) == 3
    rows = list(csv.DictReader(io.StringIO((tmp_path / "monitor-2026H1-region.csv").read_text("utf-8"))))
    total = next(r for r in rows if r["level"] == "total")
    assert int(total["cases_opened"]) >= 50
    refused = run_cli("monitor", "--demo", "--store", str(tmp_path / "x.db"), "--out", str(tmp_path / "y"))
    assert refused.returncode == 1
    assert "--demo" in refused.stderr


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), by=st.sampled_from(["municipality", "lead_municipality", "region"]))
@example(seed=77, by="municipality")  # a half-year with entries into phase 2 but no relapse in it
def test_over_generated_regions_every_output_shows_only_the_published_figures(
    tmp_path: Path, seed: int, by: str
) -> None:
    """Small regions (most cells suppressed): the MeasureReport reads back as the CSV, no count
    from 1 to 9 or off the base, and no trace of a case in any output."""
    cases = list(generate(40, seed=seed, marker=MARKER))
    table = tmp_path / f"events-{seed}.parquet"
    write_parquet(cases, table)
    parents = area_parents(table, "municipality")
    publications = [
        publish(run_indicators(table, Period.parse(p), "municipality"), parents, by, p) for p in PERIODS
    ]
    texts = []
    for publication in publications:
        text = to_csv(publication)
        path = tmp_path / f"{publication.period}.csv"
        path.write_text(text, encoding="utf-8")
        bundle = measure_reports([publication])
        assert report_cells(bundle) == csv_cells(path)
        assert all(_publishable(c) for c in _counts(bundle))
        texts += [text, json.dumps(bundle, ensure_ascii=False)]
    for html in region_pages(publications, "en").values():
        parser = _Tables()
        parser.feed(html)
        for name, columns in COUNT_COLUMNS.items():
            for row in parser.tables[name][1:]:
                assert all(row[i] == "." or _publishable(int(row[i])) for i in columns), (name, row)
        texts.append(html)
    for text in texts:
        for forbidden in FORBIDDEN:
            assert forbidden not in text
        for case in cases:
            assert case.case_id not in text
