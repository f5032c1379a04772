"""One document written twice: Markdown (with figures beside it) and self-contained HTML (figures embedded).

The report (``analysis.report``) calls these methods section by section; each
renders its piece in both formats, so the two never drift apart.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222;overflow-wrap:anywhere}
table{border-collapse:collapse;font-size:0.85em;margin:1em 0;display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f2f2f2}img{max-width:100%}figcaption{font-size:0.85em;color:#555}.counts{font-size:1.1em}"""


def table_text(rows: list[list[str]], header: list[str]) -> tuple[str, str]:
    """The same table as Markdown and as HTML."""
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return "\n".join(md), f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


class Document:
    """Collects the report once and renders both formats."""

    def __init__(self):
        self.md: list[str] = []
        self.html: list[str] = []

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        self.md.append(f"\n{'#' * level} {text}\n")
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.html.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str | None = None) -> None:
        self.md.append(text + "\n")
        self.html.append(f'<p class="{css}">{html.escape(text)}</p>' if css else f"<p>{html.escape(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self.md.append("\n".join(f"- {item}" for item in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")

    def table(self, rows: list[list[str]], header: list[str]) -> None:
        md, markup = table_text(rows, header)
        self.md.append(md + "\n")
        self.html.append(markup)

    def verdict(self, verdict: str, scope: str, colour: str) -> None:
        self.md.append(f"**Verdict: {verdict}** (scope: {scope})\n")
        self.html.append(f'<p class="verdict" style="color:{colour}"><b>Verdict: {verdict}</b> (scope: {html.escape(scope)})</p>')

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
        markdown.write_text("\n".join(self.md))
        page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
                        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{''.join(self.html)}</body></html>")
