"""A verdict document any set of claims shares: the lead, counts by scope, the forest plot, the summary with links,
and one section per claim (verdict badge, minimum protocol, test, effect, power, pre-registration log, figure).

The paper's report (``papers.ultimate_optimizer.report``) adds its own sections around these; ``write_verdicts_report`` writes
the document alone, for claims over runs the toolkit did not train (``pipeline.decide``).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt

from analysis.document import Document
from analysis.forest import VERDICT_COLOURS, forest
from claims.runs import RunTables
from claims.scope import NONE, PROTOCOL, REDUCED
from claims.verdict import NOT_RUN, VERDICTS, Verdict

MAX_FIGURE_INCHES = 14  # at 110 dpi, 1,540 px: at most 1.4 times the report's 1,100-px column
SCOPE_WORDS = {PROTOCOL: "at the paper's protocol", REDUCED: "at reduced scale", NONE: "without runs"}
FOREST_CAPTION = ("Every decided claim's tested statistic against its decision threshold, in standard deviations over seeds (labels: in the "
                  "claim's own units); colour = verdict, filled = at its minimum protocol, open = reduced scale")
Figure = Callable[[RunTables], object]  # run tables -> a matplotlib figure, or None when there is nothing to draw

# per-claim tables: column names as a reader says them
COLUMN_WORDS = {"mean_diff": "mean difference", "ci_low": "95% CI low", "ci_high": "95% CI high", "p_greater": "p (greater)",
                "p_less": "p (less)", "n": "seeds"}


def column_words(key: str) -> str:
    return COLUMN_WORDS.get(key, key.replace("_pct", " (%)").replace("_", " "))


@dataclass
class Report:
    markdown: Path
    html: Path
    figures: list[Path]


def number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}"


def effect_with_ci(verdict: Verdict) -> str:
    e = verdict.evidence
    if e is None:
        return "not run"
    return f"{number(e.effect)} [{number(e.ci[0])}, {number(e.ci[1])}] ({e.effect_label})"


def draw_figures(tables: RunTables, verdicts: list[Verdict], folder: Path, figures: Mapping[str, Figure] | None = None) -> dict[str, Path]:
    """The forest plot and every figure of ``figures`` a decided claim names, each drawn once: {name: its PNG}."""
    folder.mkdir(parents=True, exist_ok=True)
    drawn = {}
    figures = figures or {}
    wanted = {"forest": lambda _: forest(verdicts)} | {v.claim.figure: figures[v.claim.figure] for v in verdicts
                                                      if v.claim.figure in figures and v.verdict != NOT_RUN}
    for name, draw in sorted(wanted.items()):
        fig = draw(tables)
        if fig is None:
            continue
        width, height = fig.get_size_inches()
        if width > MAX_FIGURE_INCHES:  # wider, it would shrink in the report's column until its labels cannot be read
            fig.set_size_inches(MAX_FIGURE_INCHES, height)
            fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        drawn[name] = path
    return drawn


def scope_counts(verdicts: list[Verdict], protocol_words: str = SCOPE_WORDS[PROTOCOL]) -> str:
    """'At the paper's protocol: 3 SUPPORTED, 1 INCONCLUSIVE; at reduced scale: ...; not run: 9.' (``protocol_words``: how the
    first level is said)."""
    parts = []
    for level in (PROTOCOL, REDUCED):
        decided = [v for v in verdicts if v.scope.level == level and v.verdict != NOT_RUN]
        counts = ", ".join(f"{sum(v.verdict == name for v in decided)} {name}" for name in VERDICTS if any(v.verdict == name for v in decided))
        parts.append(f"{protocol_words if level == PROTOCOL else SCOPE_WORDS[level]}: {counts or 'none'}")
    not_run = [v.claim.id for v in verdicts if v.verdict == NOT_RUN]
    partial = [f"{v.claim.id} ({v.claim.covers})" for v in verdicts if v.claim.covers and v.verdict != NOT_RUN]
    reach = f" Decided for one benchmark or stack only, not for the whole claim: {', '.join(partial)}." if partial else ""
    text = "; ".join(parts) + f"; not run: {len(not_run)}" + (f" ({', '.join(not_run)})" if not_run else "") + "." + reach
    return text[0].upper() + text[1:]


def summary_rows(verdicts: list[Verdict]) -> list[list[str]]:
    """One compact row per claim; the long texts are in the claim's section."""
    rows = []
    for v in verdicts:
        e = v.evidence
        if e is None:
            effect = ("decided through its parts: " + ", ".join(v.claim.parts) if v.claim.parts
                      else "below its minimum protocol" if v.scope.level == REDUCED else "no runs")
        else:
            effect = f"{number(e.effect)} [{number(e.ci[0])}, {number(e.ci[1])}] {e.effect_label.split(' (weakest')[0]}"
        rows.append([v.claim.id + (" (headline)" if v.claim.headline else ""), v.verdict, v.scope.label(), effect,
                     str(e.n) if e else "", number(v.deciding_p) if e and not e.measurement else ""])
    return rows


def decided_first(verdicts: list[Verdict]) -> list[Verdict]:
    """The decided claims (headline claims first, then catalogue order), then those not run."""
    return sorted(verdicts, key=lambda v: (v.verdict == NOT_RUN, not v.claim.headline))


def lead(verdicts: list[Verdict]) -> str:
    """The report's first line: the headline claims decided here with their verdicts, and which claims this result covers."""
    headline = [v for v in verdicts if v.claim.headline]
    told = [f"{v.claim.id}: {v.verdict}, {v.scope.label()}" for v in headline if v.verdict != NOT_RUN]
    decided = [v.claim.id for v in verdicts if v.verdict != NOT_RUN]
    first = (f"Headline claims decided here: {'; '.join(told)}" if told else "No headline claim is decided here") + \
        f" ({len(headline) - len(told)} of {len(headline)} headline claims and parts not run)"
    covers = f"this result decides {len(decided)} of {len(verdicts)} claims and parts ({', '.join(decided)})" if decided else "it decides no claim"
    if not headline:  # claims that name no headline: the coverage alone
        return f"{covers[0].upper()}{covers[1:]}."
    return f"{first}; {covers}."


def summary(w: Document, verdicts: list[Verdict]) -> None:
    """The decided claims as rows that link to their sections; those not run folded into one line of links."""
    w.heading("Summary")
    decided = [v for v in decided_first(verdicts) if v.verdict != NOT_RUN]
    rows = [[row[0], v.claim.statement, *row[1:]] for v, row in zip(decided, summary_rows(decided))]
    if rows:
        w.table(rows, ["claim", "statement", "verdict", "scope", "effect [95% bootstrap CI]", "seeds", "Holm p (deciding)"],
                [f"claim-{v.claim.key}" for v in decided])
    not_run = [v for v in verdicts if v.verdict == NOT_RUN]
    if not_run:
        w.links(f"Not run here ({len(not_run)}; each section says why): ", [(v.claim.id, f"claim-{v.claim.key}") for v in not_run])


def history(w: Document, verdict: Verdict) -> None:
    claim = verdict.claim
    entries = [f"{c.date} ({c.kind}{', protocol runs existed' if c.protocol_runs_existed else ', runs existed' if c.runs_existed else ''}): "
               f"{c.what}. Why: {c.why}." for c in claim.history]
    w.paragraph(f"Pre-registration log, version {claim.version}: {claim.preregistration()}.")
    w.bullets(entries)


def power_sentence(verdict: Verdict) -> str:
    power = verdict.power()
    if power is None:
        return "No published effect in this test's units: its power is not computed."
    n = len(verdict.evidence.diffs)
    return (f"With {n} seeds this test detects the published effect ({number(verdict.claim.published_effect)} above its threshold, our per-seed "
            f"spread) in {power:.0%} of simulated repetitions at p < {number(verdict.threshold)} (Holm's first threshold in family {verdict.claim.family}).")


def claim_section(w: Document, v: Verdict, figures: dict[str, Path], drawn_in: dict[str, str], captions: Mapping[str, str],
                  where_runs: str = "") -> None:
    """One claim's section; ``where_runs``: a sentence that says where its runs are, ``drawn_in``: {figure: the claim whose
    section drew it} (a figure is drawn once and referenced after)."""
    c = v.claim
    w.heading(f"{c.id}: {c.statement}", 3, anchor=f"claim-{c.key}")
    w.verdict(v.verdict, v.scope.label(), VERDICT_COLOURS[v.verdict])
    w.paragraph(f"Source: {c.source}. Published: {c.published}.")
    w.paragraph(f"Minimum protocol: {c.minimum.describe()}. Scope of this verdict: {v.scope.describe()}.")
    w.paragraph(f"Pre-declared hypothesis: {c.hypothesis}.")
    if v.evidence is None:
        w.paragraph(f"Not run: {v.reason}.")
    else:
        e = v.evidence
        w.paragraph(f"Test: {e.test}. {e.unit.capitalize()}: {e.n}. Ours: {e.ours}.")
        if e.measurement:
            w.paragraph(f"Measured: {effect_with_ci(v)}. {v.reason}.")
        else:
            w.paragraph(f"Effect: {effect_with_ci(v)}. One-sided p (support) {number(e.p_support)}, Holm-adjusted {number(v.p_support_adjusted)}; "
                        f"p (refute) {number(e.p_refute)}, Holm-adjusted {number(v.p_refute_adjusted)}. {v.reason}.")
            w.paragraph(power_sentence(v))
        if e.notes:
            w.bullets(e.notes)
        if e.table:
            keys = list(dict.fromkeys(k for row in e.table for k in row))
            w.table([[number(r[k]) if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys] for r in e.table], [column_words(k) for k in keys])
    if where_runs:
        w.paragraph(where_runs)
    history(w, v)
    if c.figure in figures:
        if c.figure in drawn_in:
            w.figure_reference(f"fig-{c.figure}", f"the figure in {drawn_in[c.figure]}'s section")
        else:
            w.figure(figures[c.figure], f"{captions.get(c.figure, c.figure)} ({c.id})", f"fig-{c.figure}")
            drawn_in[c.figure] = c.id


def opening(w: Document, title: str, verdicts: list[Verdict], figures: dict[str, Path], paragraphs: list[str],
            protocol_words: str = "at its minimum protocol", forest_caption: str = FOREST_CAPTION) -> None:
    """The document's first screen: title, the lead line, counts by scope, ``paragraphs`` (what was judged, over which
    runs), contents, the forest plot; ``protocol_words``: how a verdict at its minimum protocol is said in the counts."""
    w.heading(title, 1)
    w.paragraph(lead(verdicts), css="lead")
    w.paragraph(scope_counts(verdicts, protocol_words), css="counts")
    for paragraph in paragraphs:
        w.paragraph(paragraph)
    w.contents()
    if "forest" in figures:
        w.figure(figures["forest"], forest_caption, "fig-forest")


def write_verdicts_report(title: str, about: list[str], tables: RunTables, verdicts: list[Verdict], folder: Path,
                          where_runs: Callable[[Verdict], str] = lambda verdict: "",
                          after: Callable[[Document, RunTables], None] | None = None) -> Report:
    """report.md, report.html and figures/ (the forest plot) under ``folder``: the verdict document, with ``about``
    (paragraphs: what was judged, over which runs) under its title and ``after`` (sections of the caller's own, such as a
    paper's fidelity table) below the claims."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = draw_figures(tables, verdicts, folder / "figures")
    w = Document()
    generated = f"Generated {datetime.datetime.now().isoformat(timespec='seconds')}. A verdict speaks only to the runs it was decided on."
    opening(w, title, verdicts, figures, [*about, generated])
    summary(w, verdicts)
    w.heading("Results")
    drawn_in: dict[str, str] = {}
    for verdict in verdicts:
        claim_section(w, verdict, figures, drawn_in, {}, where_runs(verdict))
    if after is not None:
        after(w, tables)
    markdown, page = folder / "report.md", folder / "report.html"
    w.render(markdown, page, title)
    return Report(markdown, page, list(figures.values()))
