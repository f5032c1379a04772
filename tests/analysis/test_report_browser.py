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
  const result = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    summary: !!document.querySelector("h2") && [...document.querySelectorAll("h2")].some(h => h.textContent === "Summary"),
    forest: !!document.getElementById("fig-forest"),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
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


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


def test_the_report_renders_in_a_browser(smoke_job, tmp_path):
    folder, _, _ = smoke_job
    page = (folder / "reports" / "smoke" / "report.html").read_text()
    checked = tmp_path / "report.html"
    checked.write_text(page.replace("</body>", CHECK + "</body>"))
    done = run_chromium("--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    start = done.stdout.index('<pre id="check">') + len('<pre id="check">')
    result = json.loads(done.stdout[start : done.stdout.index("</pre>", start)].replace("&quot;", '"'))
    assert result["images"] >= 3 and result["broken"] == []
    assert result["summary"] and result["forest"]
    assert result["overflow"] <= 0, f"the page is {result['overflow']} px wider than the window"
    # a screenshot stays with the test's temporary folder, to look at
    shot = tmp_path / "report.png"
    run_chromium(f"--screenshot={shot}", (folder / "reports" / "smoke" / "report.html").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_a_page_that_overflows_is_caught(tmp_path):
    """The check itself can fail: a page wider than the window is reported."""
    wide = tmp_path / "wide.html"
    wide.write_text(f"<html><body><div style='width:5000px'>wide</div><h2>Summary</h2>{CHECK}</body></html>")
    done = run_chromium("--virtual-time-budget=5000", "--dump-dom", Path(wide).as_uri())
    start = done.stdout.index('<pre id="check">') + len('<pre id="check">')
    result = json.loads(done.stdout[start : done.stdout.index("</pre>", start)].replace("&quot;", '"'))
    assert result["overflow"] > 0 and not result["forest"]
