"""The Lamport diagram as one self-contained HTML file, to share a run or a counterexample.

The page holds everything inline: the stylesheet, the diagram's data (a JSON script
element) and the very ES module the widget uses, loaded from a ``blob:`` URL made in the
page. Its Content-Security-Policy forbids every fetch (``default-src 'none'``), so opening
the file never touches the network -- not even by mistake. Hover and the event scrubber
work as in the notebook; delivering or dropping needs a kernel and is off.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from .model import diagram_data

CSP = ("default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
"""No network at all: inline code, a blob: module, inline styles."""

_BOOT = """
const source = %s;
const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
const diagram = await import(url);
URL.revokeObjectURL(url);
const data = JSON.parse(document.getElementById("lamport-data").textContent);
// A stand-in for the widget model: data never changes and requests go nowhere.
const model = {get: (key) => (key === "data" ? data : ""), set() {}, save_changes() {},
               on() {}, off() {}, send() {}};
diagram.default.render({model, el: document.getElementById("lamport")});
document.body.dataset.ready = "1";
"""


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no ``</script>`` can appear)."""
    return (json.dumps(value, ensure_ascii=False, allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def html_page(source: Any, *, title: Optional[str] = None, in_flight: bool = True) -> str:
    """The HTML text of the offline diagram of ``source`` (see :func:`export_html`)."""
    data = dict(diagram_data(source, title=title, in_flight=in_flight), interactive=False)
    heading = data["title"]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(heading)}</title>\n"
        f"<style>\n{_asset('lamport.css')}\nbody {{ margin: 16px; background: #f8f9fa; }}\n"
        ".lamport-scroll { max-height: none; }\n</style>\n"
        "</head>\n<body>\n<div id=\"lamport\"></div>\n"
        f"<script type=\"application/json\" id=\"lamport-data\">{_script_json(data)}</script>\n"
        f"<script type=\"module\">{_BOOT % _script_json(_asset('lamport.js'))}</script>\n"
        "<noscript>This diagram needs JavaScript.</noscript>\n</body>\n</html>\n"
    )


def export_html(source: Any, path: str | Path, *, title: Optional[str] = None,
                in_flight: bool = True) -> Path:
    """Write the interactive Lamport diagram of ``source`` to one self-contained HTML file.

    Args:
        source: a ``Simulation``, a ``SimResult``, an explore outcome / counterexample, or
            a real ``Run`` (trace level ``messages``).
        path: the file to write (``.html``); its folder must exist.
        title: the heading (default: says what the source is).
        in_flight: draw the copies still in flight (the page can switch them on and off).

    Returns:
        The path written. Open it in any browser, without a network: hover shows each
        message's kind, round, instance and values; the slider scrubs event by event.
    """
    path = Path(path)
    path.write_text(html_page(source, title=title, in_flight=in_flight), encoding="utf-8")
    return path
