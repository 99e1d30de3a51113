"""The report's HTML: self-contained, every case text escaped, both languages, bounded in size."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import lxml.html
import pytest
from cases import HOSTILE, demo, hostile, long_history

from ketenzorg import Engine
from ketenzorg.report import build_report, render_html
from ketenzorg.report.render import CSP

FAR = datetime(2100, 1, 1, tzinfo=UTC)
URL_ATTRIBUTES = (
    "src",
    "href",
    "xlink:href",
    "{http://www.w3.org/1999/xlink}href",
    "action",
    "srcset",
    "poster",
)


def _render(engine: Engine, which: str = "demo", lang: str = "en") -> str:
    case, at = {"demo": demo, "hostile": hostile, "long": long_history}[which](engine)
    return render_html(build_report(case, engine, at=at), lang)  # type: ignore[arg-type]


def test_hostile_free_texts_are_shown_as_text_never_as_elements(engine: Engine) -> None:
    html = _render(engine, "hostile")
    document = lxml.html.document_fromstring(html)
    assert document.xpath("//script") == []
    assert document.xpath("//img") == []
    assert not [e for e in document.iter() if any(a.startswith("on") for a in e.attrib)]
    text = document.text_content()
    assert text.count(HOSTILE) >= 3  # the rationales' table cells, the incident, the agreement
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_the_report_asks_for_nothing_from_the_network(engine: Engine) -> None:
    html = _render(engine)
    document = lxml.html.document_fromstring(html)
    csp = document.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp == [CSP]
    assert "default-src 'none'" in CSP
    assert "script-src" not in CSP
    for element in document.iter():
        for name, value in element.attrib.items():
            if name in URL_ATTRIBUTES or name.endswith("href"):
                assert not re.match(r"\s*(https?:|//|ftp:)", value), (element.tag, name)
    styles = " ".join(document.xpath("//style/text()")) + " ".join(document.xpath("//@style"))
    for url in re.findall(r"url\(([^)]*)\)", styles + html):
        assert url.strip("'\" ").startswith(("#", "data:")), url
    assert "@import" not in styles
    assert document.xpath("//link") == []


@pytest.mark.parametrize(("lang", "heading"), [("nl", "Veiligheidsactieplan"), ("en", "Safety action plan")])
def test_both_languages(engine: Engine, lang: str, heading: str) -> None:
    document = lxml.html.document_fromstring(_render(engine, lang=lang))
    assert document.get("lang") == lang
    assert heading in document.text_content()


def test_the_chart_carries_one_element_per_item_for_the_browser_and_a_table(engine: Engine) -> None:
    case, at = demo(engine)
    report = build_report(case, engine, at=at)
    document = lxml.html.document_fromstring(render_html(report, "en"))
    timeline = report.timeline
    assert len(document.xpath("//*[@class='phase-band']")) == len(timeline.bands)
    assert len(document.xpath("//polyline[@class='score-line']")) == sum(
        bool(s.points) for s in timeline.series
    )
    assert sorted(document.xpath("//*[@class='gate']/@data-threshold")) == ["2", "6", "7"]
    assert len(document.xpath("//*[@data-acute]")) == len(timeline.incidents)
    # the tables hold the same data: a row per band and per score
    assert len(document.xpath("//table[@class='data-phases']/tbody/tr")) == len(timeline.bands)
    assert len(document.xpath("//table[@class='data-scores']/tbody/tr")) == sum(
        len(s.points) for s in timeline.series
    )


def test_the_decision_and_the_plan_beside_the_chart(engine: Engine) -> None:
    case, at = demo(engine)
    report = build_report(case, engine, at=at)
    text = lxml.html.document_fromstring(render_html(report, "en")).text_content()
    assert "May not (yet) advance to phase 3" in text
    assert "Unsafe incident in the last 90 days" in text
    plan = case.state.plan
    assert plan is not None
    for agreement in plan.agreements:
        assert agreement.what in text
    for goal in plan.work_goals:
        assert goal.text in text
    assert report.last_conference is not None
    assert report.last_conference.at < at
    assert report.actions  # the last conference's plan, with its status now


def test_sizes(engine: Engine) -> None:
    assert len(_render(engine).encode()) <= 1_000_000
    long = _render(Engine(clock=lambda: FAR), "long")
    assert len(long.encode()) <= 5_000_000
    document = lxml.html.document_fromstring(long)
    assert len(document.xpath("//table[@class='data-scores']/tbody/tr")) < 600  # readable: gathered
