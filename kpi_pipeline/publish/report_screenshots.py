"""Screenshots of the report at phone, e-mail and desktop widths, from a realistic sample
day (every shipped KPI, long values, breakdowns, why sentences, projections, a target far
above its series): `python -m kpi_pipeline.publish.report_screenshots [OUT_DIR]` writes
report-360.png, report-800.png and report-1280.png (default: docs/images/). Needs
Chromium (CHROMIUM, default /usr/bin/chromium).

Headless Chromium will not make a window narrower than 500 px, so the report is laid out
in an iframe exactly as wide as the width asked for (its own viewport: the media queries
apply to it). The measuring helpers inject a script into a copy of the report, never
into the report itself."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from kpi_pipeline.kpis.catalogue import Kpi, load_catalogue
from kpi_pipeline.publish.report import ReportContext, render_report
from kpi_pipeline.publish.snapshot import snapshot_frame
from kpi_pipeline.settings import KPI_CATALOGUE_PATH, PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WIDTHS = (360, 800, 1280)
MIN_WINDOW = 500  # headless Chromium's narrowest window
SCREENSHOT_HEIGHT = 2400  # CSS px of the report's top shown in a screenshot
SAMPLE_DAY = dt.date(2025, 3, 3)

# kpi id -> (value of the day, target, status); long values on purpose
SAMPLE_KPIS: dict[str, tuple[float | None, float | None, str]] = {
    "session_conversion_rate": (0.0312, 0.02, "on_track"),
    "user_conversion_rate": (0.0236, 0.025, "at_risk"),
    "cost_per_acquisition": (61.75, 60.0, "at_risk"),
    "customer_acquisition_cost": (1_234_567.89, None, "no_target"),
    "return_on_ad_spend": (1.52, 3.0, "off_track"),  # 300 %: far above its series
    "marketing_roi": (2.35, 2.0, "on_track"),
    "social_engagement_rate": (0.0431, 0.04, "on_track"),
    "organic_traffic": (1_234_567.0, 1_100_000.0, "on_track"),
    "lead_to_customer_rate": (0.4812, 0.5, "at_risk"),
    "deal_win_rate": (None, 0.4, "no_data"),
    "net_revenue": (1_234_567.89, 1_250_000.0, "at_risk"),
    "average_order_value": (12_345.67, 70.0, "on_track"),
    "nps": (31.5, 30.0, "on_track"),
    "avg_order_processing_hours": (45.2, 24.0, "off_track"),
}
SAMPLE_BREAKDOWNS = {
    "session_conversion_rate": {
        "channel": {
            "Organic Search": 0.0351,
            "Paid Search": 0.0298,
            "Email": 0.0412,
            "Paid Social (Spring sale, retargeting of visitors who left a full basket)": 0.0187,
            "Referral": 0.0264,
        },
        "country": {"United Kingdom": 0.0332, "Germany": 0.0301, "France": 0.0287},
    },
    "net_revenue": {
        "campaign": {
            "spring_sale_2025_search_brand_exact_match_uk": 456_789.01,
            "always_on_shopping": 654_321.98,
            "(none)": 123_456.90,
        }
    },
    "organic_traffic": {
        "source": {"google": 1_001_234.0, "bing": 198_765.0, "duckduckgo": 34_568.0}
    },
}
SAMPLE_WHY = {
    "net_revenue": (
        "Net revenue -101,234.56 vs the previous day: always_on_shopping fell (-88,765.43); "
        "spring_sale_2025_search_brand_exact_match_uk fell (-12,469.13)"
    ),
    "session_conversion_rate": (
        "Session conversion rate +0.41 pt vs the previous day: Organic Search's rate rose "
        "(+0.29 pt); traffic shifted toward Email (+0.08 pt)"
    ),
    "avg_order_processing_hours": (
        "Average order processing time +12.4 vs the previous day: (not attributable) (+12.4)"
    ),
}
# kpi id -> the period columns a snapshot may hold (absent from frames built without them)
SAMPLE_PERIODS = {
    "net_revenue": (
        "month",
        3_702_345.67,
        37_500_000.0,
        34_567_890.12,
        32_109_876.54,
        36_987_654.32,
        "at_risk",
    ),
    "organic_traffic": (
        "month",
        3_456_789.0,
        33_000_000.0,
        35_123_456.0,
        33_987_654.0,
        36_234_567.0,
        "on_track",
    ),
    "session_conversion_rate": ("month", 0.0305, 0.02, 0.0301, 0.0288, 0.0314, "on_track"),
}
# the order of the values of SAMPLE_PERIODS (snapshot.PACE_COLUMNS; no target to date)
PERIOD_FIELDS = (
    "period_grain",
    "period_to_date_value",
    "period_target",
    "projected_value",
    "projected_low",
    "projected_high",
    "projected_status",
)


def sample_history(day: dt.date = SAMPLE_DAY, days: int = 400) -> pl.DataFrame:
    """Overall values of every sample KPI over `days` days before `day`: a weekly wave and
    a slow drift around the day's value; deal win rate has a gap of two weeks."""
    rows = []
    for k, (kpi_id, (value, target, _)) in enumerate(SAMPLE_KPIS.items()):
        previous = 1 + 0.023 * (k - 4)  # each KPI moved by its own share on the day
        base = value if value is not None else (target or 1.0)
        for i in range(1, days + 1):
            missing = kpi_id == "deal_win_rate" and 20 <= i <= 34
            wave = 0.08 * math.sin(i * 2 * math.pi / 7) + 0.05 * math.sin(i / 23)
            level = base * (1 / previous if i == 1 else 1 + wave)
            rows.append((kpi_id, day - dt.timedelta(days=i), None if missing else level))
    return pl.DataFrame(
        rows, schema={"kpi_id": pl.String, "kpi_date": pl.Date, "value": pl.Float64}, orient="row"
    )


def sample_snapshot(
    catalogue: dict[str, Kpi], day: dt.date = SAMPLE_DAY, periods: bool = True
) -> pl.DataFrame:
    """A snapshot frame of every sample KPI (snapshot_frame), with the period-to-date and
    projection columns when `periods`."""
    facts = [
        (day, kpi_id, "all", "all", None, None, v) for kpi_id, (v, _, _) in SAMPLE_KPIS.items()
    ]
    for kpi_id, dimensions in SAMPLE_BREAKDOWNS.items():
        for dimension, values in dimensions.items():
            facts += [(day, kpi_id, dimension, name, None, None, v) for name, v in values.items()]
    frame = snapshot_frame(
        pl.DataFrame(
            facts,
            schema={
                "kpi_date": pl.Date,
                "kpi_id": pl.String,
                "dimension": pl.String,
                "dimension_value": pl.String,
                "numerator": pl.Float64,
                "denominator": pl.Float64,
                "value": pl.Float64,
            },
            orient="row",
        ),
        {k: v for k, v in catalogue.items() if k in SAMPLE_KPIS},
        {kpi_id: (target, status) for kpi_id, (_, target, status) in SAMPLE_KPIS.items()},
        {
            kpi_id: dict(zip(PERIOD_FIELDS, values, strict=True))
            for kpi_id, values in SAMPLE_PERIODS.items()
        }
        if periods
        else None,
    )
    return frame


def sample_report(periods: bool = True) -> bytes:
    """The report of the sample day, as the publish step renders it."""
    catalogue = load_catalogue(KPI_CATALOGUE_PATH)
    ctx = ReportContext(
        SAMPLE_DAY,
        2,
        "2025-03-04T06:04:31.123456+00:00",
        "3f2b8c1e-6d0a-4c55-9a7e-0b1d2e3f4a5b",
        "USD",
        ["raw/hubspot_contacts: gx_raw_hubspot_contacts (3 rows without an e-mail address)"],
        changes_since=1,
        changes=(
            "Net revenue: 1,230,001.00 USD → 1,234,567.89 USD (orders/dt=2025-03-03/orders.csv "
            "was re-sent)",
        ),
        why=SAMPLE_WHY,
    )
    return render_report(
        ctx, sample_snapshot(catalogue, periods=periods), sample_history(), catalogue
    )


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _frame_page(report: Path, width: int, height: int, scale: int = 1) -> str:
    """A page holding the report in an iframe `width` x `height` CSS px (drawn `scale`
    times larger) that shows what the report posts to it in <pre id="posted">."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; background: #fff; }}
iframe {{ border: 0; display: block; transform: scale({scale}); transform-origin: 0 0; }}
</style></head><body>
<iframe src="{report.name}" width="{width}" height="{height}"></iframe>
<pre id="posted"></pre>
<script>addEventListener("message", e => {{
  document.getElementById("posted").textContent = e.data;
}});</script>
</body></html>"""


def measure(html: bytes, width: int, script: str, workdir: Path) -> object:
    """Lays the report out `width` CSS px wide in Chromium, runs `script` (a JavaScript
    function expression returning JSON-able data) in a copy of it once loaded, and returns
    what it returned."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = html.decode("utf-8")
    probe = (
        "<script>addEventListener('load', () => parent.postMessage("
        f"JSON.stringify(({script})()), '*'));</script>"
    )
    report = workdir / f"report-{width}.html"
    report.write_text(text.replace("</body>", probe + "\n</body>", 1), encoding="utf-8")
    page = workdir / f"frame-{width}.html"
    page.write_text(_frame_page(report, width, 2000), encoding="utf-8")
    dom = _chromium(
        [
            f"--window-size={max(width, MIN_WINDOW)},2100",
            "--virtual-time-budget=3000",
            "--dump-dom",
            page.as_uri(),
        ],
        workdir / "profile",
    ).stdout
    start = dom.index('<pre id="posted">') + len('<pre id="posted">')
    posted = dom[start : dom.index("</pre>", start)]
    if not posted:
        raise RuntimeError(f"Chromium returned no measurement of {report} at {width} px")
    return json.loads(html_lib.unescape(posted))


def screenshot(html: bytes, width: int, png: Path, workdir: Path) -> Path:
    """A PNG of the report's top (up to SCREENSHOT_HEIGHT CSS px) laid out `width` CSS px
    wide; below 500 px (a phone), drawn at twice the size, as a phone's screen shows it."""
    height = measure(html, width, "() => document.documentElement.scrollHeight", workdir)
    height = min(int(height), SCREENSHOT_HEIGHT)  # type: ignore[arg-type]
    scale = 1 if width >= MIN_WINDOW else 2
    report = workdir / f"shot-{width}.html"
    report.write_bytes(html)
    page = workdir / f"shot-frame-{width}.html"
    page.write_text(_frame_page(report, width, height, scale), encoding="utf-8")
    png.parent.mkdir(parents=True, exist_ok=True)
    _chromium(
        [
            f"--window-size={width * scale},{height * scale}",
            "--virtual-time-budget=3000",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        workdir / "profile",
    )
    return png


def main(argv: list[str] | None = None) -> int:
    import tempfile

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else PROJECT_ROOT / "docs" / "images"
    html = sample_report()
    with tempfile.TemporaryDirectory() as tmp:
        for width in WIDTHS:
            png = screenshot(html, width, out / f"report-{width}.png", Path(tmp))
            print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
