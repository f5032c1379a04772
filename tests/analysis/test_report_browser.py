"""The smoke report rendered by a real browser (headless Chromium): images load, the first screen is there, nothing overflows."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a real browser: left out of the quick lane (README)

CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const summary = [...document.querySelectorAll("h2")].find(h => h.textContent === "Summary");
  let table = summary && summary.nextElementSibling;
  while (table && table.tagName !== "TABLE" && table.tagName !== "H2") table = table.nextElementSibling;
  const rows = table && table.tagName === "TABLE" ? [...table.querySelectorAll("tbody tr")] : [];
  const resolves = a => !!a && a.getAttribute("href").startsWith("#") && !!document.getElementById(a.getAttribute("href").slice(1));
  const verdicts = rows.map(r => r.cells[2] ? r.cells[2].textContent : "");
  const firstNotRun = verdicts.indexOf("NOT_RUN");
  const contents = [...document.querySelectorAll("nav#contents a")];
  const broken = [];
  for (const cell of document.querySelectorAll("td, th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(match[0]);
      }
    }
  }
  const style = getComputedStyle(document.body);
  const column = document.body.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const result = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    summary: !!summary,
    forest: !!document.getElementById("fig-forest"),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    summary_rows: rows.length,
    unlinked_rows: rows.filter(r => !resolves(r.querySelector("td a"))).map(r => r.cells[0].textContent),
    not_run_before_decided: firstNotRun >= 0 && verdicts.slice(firstNotRun).some(v => v !== "NOT_RUN"),
    contents: contents.length,
    contents_unresolved: contents.filter(a => !resolves(a)).map(a => a.textContent),
    broken_words: broken,
    column: column,
    wide_figures: images.filter(i => i.getBoundingClientRect().width > column + 1 || i.naturalWidth > 1.5 * column).map(i => i.alt),
    bare_captions: [...document.querySelectorAll("figure")].filter(f => {
      const c = f.querySelector("figcaption");
      return !c || c.textContent.trim().length < 40 || /^\\w+: \\w+$/.test(c.textContent.trim());
    }).map(f => f.id),
  };
  const out = document.createElement("pre");
  out.id = "check";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must render the report")
        pytest.skip(message)
    return found


def run_chromium(*args: str, width: int = 1280) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},2000"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


def checked(page: str, folder: Path, width: int = 1280) -> dict:
    """What CHECK finds on ``page`` (HTML) in a window ``width`` px wide."""
    path = folder / f"checked-{width}.html"
    path.write_text(page.replace("</body>", CHECK + "</body>"))
    done = run_chromium("--virtual-time-budget=10000", "--dump-dom", path.as_uri(), width=width)
    assert done.returncode == 0, done.stderr[-2000:]
    start = done.stdout.index('<pre id="check">') + len('<pre id="check">')
    return json.loads(done.stdout[start : done.stdout.index("</pre>", start)].replace("&quot;", '"').replace("&amp;", "&"))


def test_the_report_renders_in_a_browser(smoke_job, tmp_path):
    folder, _, _ = smoke_job
    page = (folder / "reports" / "smoke" / "report.html").read_text()
    result = checked(page, tmp_path)
    assert result["images"] >= 3 and result["broken"] == []
    assert result["summary"] and result["forest"]
    assert result["overflow"] <= 0, f"the page is {result['overflow']} px wider than the window"
    assert result["summary_rows"] >= 1 and result["unlinked_rows"] == [], result["unlinked_rows"]
    assert not result["not_run_before_decided"]
    assert result["contents"] >= 5 and result["contents_unresolved"] == []
    assert result["wide_figures"] == [] and result["bare_captions"] == [], result
    narrow = checked(page, tmp_path, width=700)  # MLflow's artifact pane
    assert narrow["broken_words"] == [], narrow["broken_words"]
    # a screenshot stays with the test's temporary folder, to look at
    shot = tmp_path / "report.png"
    run_chromium(f"--screenshot={shot}", (folder / "reports" / "smoke" / "report.html").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


WIDE_IMAGE = "data:image/svg+xml," + "%3Csvg xmlns='http://www.w3.org/2000/svg' width='3000' height='20'%3E%3C/svg%3E"
GOOD_CAPTION = "A figure whose caption says what it shows, in a sentence"
SUMMARY = "<h2 id='summary'>Summary</h2><table><tbody>{rows}</tbody></table>"
ROW = "<tr><td>{first}</td><td>a claim</td><td>{verdict}</td></tr>"
LINKED = ROW.format(first="<a href='#claim-A1'>A1</a>", verdict="SUPPORTED")
SECTION = "<h3 id='claim-A1'>A1</h3><nav id='contents'>" + "<a href='#summary'>Summary</a>" * 5 + "</nav>"
PLANTED = {  # each page fails exactly the check it names
    "unlinked_rows": SUMMARY.format(rows=ROW.format(first="A1", verdict="SUPPORTED")) + SECTION,
    "not_run_before_decided": SUMMARY.format(rows=ROW.format(first="<a href='#claim-A1'>A1</a>", verdict="NOT_RUN") + LINKED) + SECTION,
    "contents": SUMMARY.format(rows=LINKED) + "<h3 id='claim-A1'>A1</h3>",
    "broken_words": SUMMARY.format(rows=LINKED) + SECTION + "<table><tr><td style='width:40px;max-width:40px;overflow-wrap:anywhere'>INCONCLUSIVE</td></tr></table>",
    "wide_figures": SUMMARY.format(rows=LINKED) + SECTION + f"<figure id='fig-x'><img src=\"{WIDE_IMAGE}\" alt='x' style='max-width:100%'><figcaption>{GOOD_CAPTION}</figcaption></figure>",
    "bare_captions": SUMMARY.format(rows=LINKED) + SECTION + "<figure id='fig-table1'><figcaption>A1: table1</figcaption></figure>",
    "overflow": SUMMARY.format(rows=LINKED) + SECTION + "<div style='width:5000px'>wide</div>",
}


def failures(result: dict) -> set[str]:
    """The names of the checks ``result`` fails."""
    failed = {name for name in ("unlinked_rows", "broken_words", "wide_figures", "bare_captions", "contents_unresolved") if result[name]}
    failed |= {name for name in ("not_run_before_decided",) if result[name]}
    failed |= {"contents"} if result["contents"] < 5 else set()
    failed |= {"overflow"} if result["overflow"] > 0 else set()
    return failed


@pytest.mark.parametrize("check", sorted(PLANTED))
def test_a_page_that_breaks_a_check_is_caught(check, tmp_path):
    """Each check can fail: a planted page that breaks it, and only it, is reported."""
    page = f"<html><body style='max-width:1100px;margin:2em auto;padding:0 1em'>{PLANTED[check]}</body></html>"
    assert failures(checked(page, tmp_path, width=700 if check == "broken_words" else 1280)) == {check}
