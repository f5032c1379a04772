"""One document written twice: Markdown (with figures beside it) and self-contained HTML (figures embedded).

The report (``papers.ultimate_optimizer.report``) calls these methods section by section; each
renders its piece in both formats, so the two never drift apart.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
p,li,figcaption{overflow-wrap:break-word}
table{border-collapse:collapse;font-size:0.85em;margin:1em 0;display:block;overflow-x:auto}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;overflow-wrap:normal;word-break:normal}
th{background:#f2f2f2}img{max-width:100%;height:auto}figure{margin:1em 0}figcaption{font-size:0.85em;color:#555}.counts{font-size:1.1em}.nb{white-space:nowrap}
.lead{font-size:1.15em;font-weight:bold}.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:bold}
nav ul{columns:2}
@media print{body{max-width:none;margin:0;font-size:10pt}table{display:table;font-size:8pt}a{color:inherit;text-decoration:none}
figure,tr{break-inside:avoid}h2,h3{break-after:avoid}nav{break-after:page}}"""


def link_text(text: str, anchor: str) -> tuple[str, str]:
    """A link to ``#anchor`` as Markdown and as HTML."""
    return f"[{text}](#{anchor})", f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a>'


def cell_html(text: str) -> str:
    """A table cell's text as HTML: a word with a hyphen ('1e-4', 'sgd(alpha=1e-5)') kept on one line, as browsers
    would otherwise break it after the hyphen in a narrow column."""
    return " ".join(f'<span class="nb">{html.escape(word)}</span>' if "-" in word else html.escape(word) for word in str(text).split(" "))


def table_text(rows: list[list[str]], header: list[str], anchors: list[str | None] | None = None) -> tuple[str, str]:
    """The same table as Markdown and as HTML; ``anchors``: per row, where its first cell links to (None: no link)."""
    anchors = anchors or [None] * len(rows)
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    body = []
    for row, anchor in zip(rows, anchors):
        first_md, first_html = link_text(str(row[0]), anchor) if anchor else (str(row[0]), cell_html(row[0]))
        md.append("| " + " | ".join([first_md] + [str(c).replace("|", "/") for c in row[1:]]) + " |")
        body.append(f"<tr><td>{first_html}</td>" + "".join(f"<td>{cell_html(c)}</td>" for c in row[1:]) + "</tr>")
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return "\n".join(md), f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def slug(text: str) -> str:
    """An anchor for a section heading: lower case, words joined by '-'."""
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


class Document:
    """Collects the report once and renders both formats."""

    def __init__(self):
        self.md: list[str] = []
        self.html: list[str] = []
        self.sections: list[tuple[str, str]] = []  # (heading, anchor) of every section, for the contents
        self.contents_at: int | None = None

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        """A heading; a section (level 2) gets an anchor of its own and a line in the contents."""
        anchor = anchor or (slug(text) if level == 2 else None)
        if level == 2:
            self.sections.append((text, anchor))
        self.md.append(f"\n{'#' * level} {text}\n" if not anchor else f'\n<a id="{anchor}"></a>\n\n{"#" * level} {text}\n')
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.html.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def contents(self) -> None:
        """The list of sections, filled in at ``render`` once every section is known."""
        self.contents_at = len(self.md)
        self.md.append("")
        self.html.append("")

    def links(self, lead: str, targets: list[tuple[str, str]]) -> None:
        """A line of links: ``lead`` then each (text, anchor)."""
        pairs = [link_text(text, anchor) for text, anchor in targets]
        self.md.append(lead + ", ".join(md for md, _ in pairs) + "\n")
        self.html.append(f"<p>{html.escape(lead)}" + ", ".join(markup for _, markup in pairs) + "</p>")

    def paragraph(self, text: str, css: str | None = None) -> None:
        self.md.append(text + "\n")
        self.html.append(f'<p class="{css}">{html.escape(text)}</p>' if css else f"<p>{html.escape(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self.md.append("\n".join(f"- {item}" for item in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")

    def table(self, rows: list[list[str]], header: list[str], anchors: list[str | None] | None = None) -> None:
        md, markup = table_text(rows, header, anchors)
        self.md.append(md + "\n")
        self.html.append(markup)

    def verdict(self, verdict: str, scope: str, colour: str) -> None:
        """The verdict and its scope as a badge (the first thing under a claim's heading)."""
        self.md.append(f"**Verdict: {verdict}** (scope: {scope})\n")
        self.html.append(f'<p class="verdict"><span class="badge" style="background:{colour}">{verdict}</span> scope: {html.escape(scope)}</p>')

    def figure(self, path: Path, caption: str, anchor: str) -> None:
        """Embed a figure (once); ``anchor`` lets later sections link to it."""
        self.md.append(f'<a id="{anchor}"></a>\n\n![{caption}](figures/{path.name})\n')
        data = base64.b64encode(path.read_bytes()).decode()
        self.html.append(f'<figure id="{html.escape(anchor)}"><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def figure_reference(self, anchor: str, where: str) -> None:
        """A pointer to a figure drawn in an earlier section."""
        self.md.append(f"Figure: see [{where}](#{anchor}).\n")
        self.html.append(f'<p>Figure: see <a href="#{html.escape(anchor)}">{html.escape(where)}</a>.</p>')

    def render(self, markdown: Path, page: Path, title: str) -> None:
        if self.contents_at is not None:
            pairs = [link_text(text, anchor) for text, anchor in self.sections]
            self.md[self.contents_at] = "Contents: " + " · ".join(md for md, _ in pairs) + "\n"
            self.html[self.contents_at] = '<nav id="contents"><b>Contents</b><ul>' + "".join(f"<li>{markup}</li>" for _, markup in pairs) + "</ul></nav>"
        markdown.write_text("\n".join(self.md))
        page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
                        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{''.join(self.html)}</body></html>")
