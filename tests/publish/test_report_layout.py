"""The report as Chromium lays it out at 360 (phone), 800 (e-mail) and 1280 px (desktop):
no two texts overlap, nothing is wider than the screen, the summary and projections are
there; and screenshots at each width."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kpi_pipeline.publish.report_screenshots import (
    CHROMIUM,
    WIDTHS,
    measure,
    sample_report,
    screenshot,
)

TOLERANCE = 0.5  # px

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")

# Every text node's line boxes (Range client rects), the viewport and the page's width.
BOXES = """() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node, index = 0;
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim() || node.parentElement.closest("script, style, title")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) {
        boxes.push({node: index, text: node.textContent.trim().slice(0, 50),
                    left: r.left, top: r.top, right: r.right, bottom: r.bottom});
      }
    }
    index += 1;
  }
  return {
    viewport: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    boxes: boxes,
    summary: document.getElementById("summary") ? document.getElementById("summary").innerText : "",
    periods: Array.from(document.querySelectorAll(".period")).map(e => e.innerText),
    cards: document.querySelectorAll("[data-kpi]").length,
  };
}"""


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """Pairs of texts (of different text nodes) whose boxes intersect by more than
    TOLERANCE in both directions."""
    found = []
    ordered = sorted(boxes, key=lambda b: b["top"])
    for i, a in enumerate(ordered):
        for b in itertools.islice(ordered, i + 1, None):
            if b["top"] >= a["bottom"] - TOLERANCE:
                break  # sorted by top: no later box reaches up into a
            if a["node"] == b["node"]:
                continue
            wide = min(a["right"], b["right"]) - max(a["left"], b["left"])
            high = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if wide > TOLERANCE and high > TOLERANCE:
                found.append((a["text"], b["text"]))
    return found


def test_the_overlap_finder_finds_overlaps_and_only_them() -> None:
    def box(node: int, left: float, top: float, right: float, bottom: float) -> dict:
        return {
            "node": node,
            "text": str(node),
            "left": left,
            "top": top,
            "right": right,
            "bottom": bottom,
        }

    assert overlaps([box(1, 0, 0, 10, 10), box(2, 10, 0, 20, 10), box(3, 0, 10, 10, 20)]) == []
    assert overlaps([box(1, 0, 0, 10, 10), box(2, 9, 5, 20, 15)]) == [("1", "2")]
    assert overlaps([box(1, 0, 0, 10, 10), box(2, 9.7, 9.7, 20, 20)]) == []  # within 0.5 px
    assert overlaps([box(1, 0, 0, 10, 10), box(1, 5, 5, 20, 20)]) == []  # one text's lines


def test_chromium_would_see_overlapping_texts_and_a_page_too_wide(tmp_path: Path) -> None:
    """The measurement can fail: texts drawn over each other, and a fixed-width table."""
    broken = b"""<!DOCTYPE html><html><body>
<p style="position: absolute; top: 10px; left: 10px">75.67 USD</p>
<p style="position: absolute; top: 12px; left: 40px">60.00 USD off track</p>
<table style="width: 900px; margin-top: 100px"><tr><td>wide</td></tr></table>
</body></html>"""
    layout = measure(broken, 360, BOXES, tmp_path)
    assert layout["viewport"] == 360
    assert overlaps(layout["boxes"]) == [("75.67 USD", "60.00 USD off track")]
    assert layout["scrollWidth"] > 360


@pytest.mark.parametrize("width", WIDTHS)
def test_no_text_overlaps_another_and_nothing_is_wider_than_the_screen(
    width: int, tmp_path: Path
) -> None:
    """Every shipped KPI with long values (1,234,567.89 USD), breakdowns with long names,
    why sentences, projections and a target far above its series."""
    layout = measure(sample_report(), width, BOXES, tmp_path)
    assert layout["viewport"] == width
    assert layout["scrollWidth"] <= width
    assert layout["cards"] == 14
    assert len(layout["boxes"]) > 300
    assert all(b["left"] >= -TOLERANCE and b["right"] <= width + TOLERANCE for b in layout["boxes"])
    assert overlaps(layout["boxes"]) == []
    assert "6 on track" in layout["summary"] and "Biggest moves" in layout["summary"]
    assert len(layout["periods"]) == 3
    assert any(p.startswith("Month to date 3,702,345.67 USD of") for p in layout["periods"])


def test_the_report_without_period_columns_lays_out_too(tmp_path: Path) -> None:
    layout = measure(sample_report(periods=False), 360, BOXES, tmp_path)
    assert layout["periods"] == [] and layout["cards"] == 14
    assert overlaps(layout["boxes"]) == [] and layout["scrollWidth"] <= 360


def test_screenshots_at_every_width(tmp_path: Path) -> None:
    html = sample_report()
    for width in WIDTHS:
        png = screenshot(html, width, tmp_path / f"report-{width}.png", tmp_path / "work")
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        # IHDR width: a phone's 360 px drawn twice as large
        assert int.from_bytes(data[16:20], "big") == (720 if width == 360 else width)
