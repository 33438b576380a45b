"""An interactive Lamport (space-time) diagram of Paxos messages, in the browser.

* :class:`LamportDiagram` -- a Jupyter widget (anywidget) over a simulation, a simulator
  result or a real run; in a manual simulation a click on a message in flight delivers or
  drops it in that very simulation.
* :func:`export_html` -- the same diagram as one self-contained HTML file (no network).
* :func:`diagram_data` -- the data both draw, as plain JSON-ready Python.

The browser side is one ES module (``lamport.js``) and one stylesheet (``lamport.css``),
shipped as package data.
"""

from .export import export_html, html_page
from .model import diagram_data
from .widget import LamportDiagram

__all__ = ["LamportDiagram", "diagram_data", "export_html", "html_page"]
