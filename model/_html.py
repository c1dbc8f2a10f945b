"""A self-contained HTML page (images inlined as data URIs): opens offline, one file."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from pathlib import Path

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{margin:0;flex:1 1 460px}
.warn{background:#fee;border:1px solid #c00;padding:.5em;display:none}
td.text{max-width:640px;font-size:.9em}
"""
# Marks the page with how many images decoded, and shows a banner if any did not.
_CHECK = """
window.addEventListener('load',function(){var i=document.images,ok=0;
for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)ok++;}
document.body.setAttribute('data-images',ok+'/'+i.length);
if(ok<i.length){document.getElementById('warn').style.display='block';}});
"""


def img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
    )


def figures(items: Iterable[tuple[Path, str]]) -> str:
    return '<div class="figs">' + "".join(img(p, a) for p, a in items) + "</div>"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], text_col: int = -1) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            cls = ' class="text"' if i == text_col else ""
            shown = f"{v:.4f}" if isinstance(v, float) else str(v)
            cells.append(f"<td{cls}>{html.escape(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """``sections`` are ``(heading, inner HTML)`` pairs, already escaped by the helpers."""
    parts = [f"<h2>{html.escape(h)}</h2>{body}" for h, body in sections]
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{_CHECK}</script></head><body><h1>{html.escape(title)}</h1>"
        f"<p id=warn class=warn>Some images of this report failed to load.</p>"
        f"{''.join(parts)}</body></html>"
    )
