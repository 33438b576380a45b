"""The grader's verdicts: one :class:`Verdict` per scenario, a :class:`GradeReport` per run.

A report prints as a table (``str``), writes itself as JSON (``{"passed": bool,
"scenarios": [{"name", "passed", "detail", ...}]}``) and as a self-contained HTML page,
and loads back into pandas with :func:`load_grade`. A skipped scenario (kernel-level loss
without root, for example) has ``passed`` None and says why in ``detail``; an
informational one (``required`` False) never makes the report fail.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import pandas as pd

from .errors import UsageError


@dataclass
class Verdict:
    """How one scenario turned out.

    Attributes:
        name, description: the scenario.
        passed: True / False, or None when skipped.
        detail: the first violation found (failure), why it was skipped, or a summary.
        required: False for informational scenarios (they never fail the report).
        seconds: wall time of the scenario, start of the first process to clean-up.
        values_per_client, proposed: values fed to each client, and in total.
        learned: learner id -> values it printed.
        problems: every problem found, the first one is ``detail``.
        notes: what happened (kills, late starts, early end, slow starts).
    """

    name: str
    description: str
    passed: Optional[bool]
    detail: str
    required: bool = True
    seconds: float = 0.0
    values_per_client: int = 0
    proposed: int = 0
    learned: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``pass``, ``FAIL``, ``skipped``; informational ones are marked ``(info)``."""
        word = {True: "pass", False: "FAIL", None: "skipped"}[self.passed]
        return word if self.required else f"{word} (info)"


@dataclass(repr=False)
class GradeReport:
    """Every scenario's verdict for one implementation.

    Attributes:
        implementation: the graded folder.
        quick: whether the ``--quick`` sizes were used.
        network: ``netns`` (private namespaces) or ``loopback``, and why, in ``network_note``.
        seconds: wall time of the whole run.
        scenarios: the verdicts, in the order they ran.
    """

    implementation: str
    quick: bool
    network: str
    network_note: str = ""
    seconds: float = 0.0
    scenarios: list[Verdict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No required scenario failed (skipped ones do not count either way)."""
        return not any(v.passed is False and v.required for v in self.scenarios)

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.scenarios if v.passed is False and v.required]

    def verdict(self, name: str) -> Verdict:
        """The verdict of scenario ``name``."""
        for v in self.scenarios:
            if v.name == name:
                return v
        raise UsageError(f"no scenario {name!r} in this report")

    # ------------------------------------------------------------------ output

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "implementation": self.implementation,
            "quick": self.quick,
            "network": self.network,
            "network_note": self.network_note,
            "seconds": round(self.seconds, 3),
            "scenarios": [dict(asdict(v), learned={str(k): n for k, n in v.learned.items()},
                               seconds=round(v.seconds, 3), status=v.status)
                          for v in self.scenarios],
        }

    def write_json(self, path: Union[str, Path]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")

    def table(self, width: int = 120) -> str:
        """The verdicts as a fixed-width text table (what ``grade`` prints)."""
        learned = {}
        for v in self.scenarios:
            counts = "/".join(str(n) for _, n in sorted(v.learned.items())) or "0"
            learned[v.name] = f"{counts} of {v.proposed}" if v.passed is not None else "-"
        name_w = max([8] + [len(v.name) for v in self.scenarios])
        learn_w = max([7] + [len(x) for x in learned.values()])
        head = (f"{'scenario':<{name_w}}  {'verdict':<14} {'time':>6}  "
                f"{'learned':<{learn_w}}  detail")
        lines = [head, "-" * min(width, max(len(head), 80))]
        for v in self.scenarios:
            left = (f"{v.name:<{name_w}}  {v.status:<14} {v.seconds:5.1f}s  "
                    f"{learned[v.name]:<{learn_w}}  ")
            lines.append(left + _cut(v.detail, max(40, width - len(left))))
        n_pass = sum(v.passed is True for v in self.scenarios)
        n_skip = sum(v.passed is None for v in self.scenarios)
        lines.append(lines[1])
        lines.append(f"{'PASS' if self.passed else 'FAIL'}: {n_pass} of {len(self.scenarios)} "
                     f"scenarios passed, {len(self.failed)} required failed, {n_skip} skipped; "
                     f"{self.seconds:.1f} s ({'quick' if self.quick else 'full'} sizes, "
                     f"{self.network}{': ' + self.network_note if self.network_note else ''})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return self.table()

    def to_html(self) -> str:
        """A self-contained report page (no scripts, no external files)."""
        colour = {True: "#e6f4ea", False: "#fce8e6", None: "#f1f3f4"}
        rows = []
        for v in self.scenarios:
            learned = ", ".join(f"learner {k}: {n}" for k, n in sorted(v.learned.items()))
            more = "".join(f"<li>{html.escape(x)}</li>" for x in v.problems[1:] + v.notes)
            rows.append(
                f'<tr style="background:{colour[v.passed]}"><td><b>{html.escape(v.name)}</b>'
                f"<br><small>{html.escape(v.description)}</small></td>"
                f"<td><b>{html.escape(v.status)}</b></td><td class='n'>{v.seconds:.1f} s</td>"
                f"<td>{html.escape(learned or '-')} (of {v.proposed} proposed)</td>"
                f"<td>{html.escape(v.detail)}"
                + (f"<details><summary>more</summary><ul>{more}</ul></details>" if more else "")
                + "</td></tr>"
            )
        verdict = "PASS" if self.passed else "FAIL"
        title = f"paxos_edu grade: {verdict} — {self.implementation}"
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em;color:#202124}"
            "table{border-collapse:collapse}td,th{padding:4px 8px;border:1px solid #ddd;"
            "vertical-align:top;text-align:left}td.n{white-space:nowrap}"
            "td small{color:#5f6368}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>"
            f"<p>{'quick' if self.quick else 'full'} sizes; network: "
            f"{html.escape(self.network)} {html.escape(self.network_note)}; "
            f"{self.seconds:.1f} s in all.</p>"
            "<table><tr><th>scenario</th><th>verdict</th><th>time</th><th>learned</th>"
            "<th>detail</th></tr>" + "".join(rows) + "</table></body></html>\n"
        )

    def write_html(self, path: Union[str, Path]) -> None:
        Path(path).write_text(self.to_html(), encoding="utf-8")

    def _repr_html_(self) -> str:
        body = self.to_html()
        return body[body.index("<h1>"):body.index("</body>")]

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario (see :func:`load_grade`)."""
        return _frame(self.to_dict())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _frame(data: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for s in data["scenarios"]:
        learned = {int(k): int(n) for k, n in s.get("learned", {}).items()}
        rows.append({
            "implementation": data.get("implementation", ""),
            "scenario": s["name"],
            "status": s.get("status", ""),
            "passed": s["passed"],
            "required": s.get("required", True),
            "seconds": s.get("seconds", float("nan")),
            "proposed": s.get("proposed", 0),
            "learned_min": min(learned.values(), default=0),
            "learned_max": max(learned.values(), default=0),
            "detail": s.get("detail", ""),
        })
    frame = pd.DataFrame(rows, columns=["implementation", "scenario", "status", "passed",
                                        "required", "seconds", "proposed", "learned_min",
                                        "learned_max", "detail"])
    frame["passed"] = frame["passed"].astype("boolean")
    frame.attrs = {k: data.get(k) for k in ("passed", "implementation", "quick", "network",
                                             "network_note", "seconds")}
    return frame


def load_grade(source: Union[str, Path, GradeReport, dict[str, Any]]) -> pd.DataFrame:
    """A grade report as a DataFrame, one row per scenario.

    Args:
        source: a JSON file written by ``grade --json``, its parsed dict, or a
            :class:`GradeReport`.

    Returns:
        Columns ``implementation, scenario, status, passed`` (nullable boolean: NA when
        skipped), ``required, seconds, proposed, learned_min, learned_max, detail``; the
        report's own fields (``passed``, ``quick``, ``network``, ...) in ``.attrs``.
        Concatenate several with ``pd.concat`` to compare implementations.

    Raises:
        UsageError: the file is missing or is not a grade report.
    """
    if isinstance(source, GradeReport):
        return source.to_frame()
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read grade report {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise UsageError(f"{source}: not a grade report (no 'scenarios' list)")
    return _frame(data)


__all__ = ["GradeReport", "Verdict", "load_grade"]
