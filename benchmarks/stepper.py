"""Click-to-redraw of the Stepper and the cost of rewinding a simulation.

    python3 benchmarks/stepper.py            # table on stdout
    python3 benchmarks/stepper.py --clicks 40

What is timed is the kernel side of one click: the button's callback from the click to
the last widget value set (message list, step list, status, tables, and the diagram when
there is one). The page then only swaps the changed values in. Each figure is the median
and the worst of ``--clicks`` clicks, in a notebook-sized cluster (3 acceptors, 2
proposers, 1 learner, 1 client), early (few steps taken) and late (~300 steps taken, so
Back replays 300 steps). With the picture (``diagram="picture"``) a new step draws a
matplotlib figure; in a kernel that drawing is deferred until the controls, list and
tables are back, here it is timed with the click.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from paxos_edu.sim import Simulation  # noqa: E402
from paxos_edu.stepper import Stepper  # noqa: E402


def _sim() -> Simulation:
    sim = Simulation(seed=1, manual=True, proposers=2, learners=1, clients=1)
    sim.submit(1, ["a", "b", "c"])
    return sim


def _walk(sim: Simulation, steps: int) -> None:
    """Take ``steps`` steps on ``sim``: oldest message first, time when nothing is left."""
    for _ in range(steps):
        if sim.in_flight:
            sim.deliver(sim.in_flight[0].id)
        else:
            sim.advance(0.05)


def _timed(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, max(times) * 1000


def _rewind_row(k: int) -> tuple[str, str, float, float]:
    sim = _sim()
    _walk(sim, k)

    def back_and_forth() -> None:
        sim.rewind(k - 1)  # a full replay of k - 1 steps
        sim.forward()

    med, worst = _timed(back_and_forth, 10)
    return (f"sim.rewind({k - 1}) after {k} steps (replay)", "-", med, worst)


def _stepper_rows(clicks: int, diagram: Any, label: str, when: str,
                  before: int) -> list[tuple[str, str, float, float]]:
    sim = _sim()
    _walk(sim, before)
    sim.submit(1, ["d", "e", "f"])  # something left to do late, too
    st = Stepper(sim, diagram=diagram)
    n = len(sim.history)
    rows = []
    actions = [("Deliver (new step)", st.deliver_selected), ("Back (replay)", st.back),
               ("Forward", st.forward)]
    for name, fn in actions:  # Back undoes the Delivers, Forward redoes them
        med, worst = _timed(fn, clicks)
        rows.append((f"{name}, {when} ({n} steps)", label, med, worst))

    def pick_step() -> None:  # there and back: two clicks
        st.steps.value = len(st.sim.timeline) // 2
        st.steps.value = len(st.sim.timeline)

    med, worst = _timed(pick_step, max(clicks // 2, 1))
    rows.append((f"step list click, {when}", label, med / 2, worst / 2))
    if when == "early":  # late, everything is delivered soon and Play stops
        med, worst = _timed(st.play_step, clicks)
        rows.append((f"Play: one step, {when}", label, med, worst))
    return rows


def stepper_rows(clicks: int, diagram: Any, label: str) -> list[tuple[str, str, float, float]]:
    return (_stepper_rows(clicks, diagram, label, "early", 3)
            + _stepper_rows(clicks, diagram, label, "late", 300))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args(argv)
    rows = [_rewind_row(k) for k in (100, 300, 1000)]
    rows += stepper_rows(args.clicks, False, "tables")
    rows += stepper_rows(max(args.clicks // 4, 3), True, "tables + picture")
    try:
        import paxos_edu.lamport  # noqa: F401
    except ImportError:
        print("(paxos_edu.lamport not importable: no Lamport-widget rows)")
    else:
        rows += stepper_rows(args.clicks, "lamport", "tables + Lamport widget")
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'shows':<24} {'median ms':>10} {'worst ms':>10}")
    for what, shows, med, worst in rows:
        print(f"{what:<{width}}  {shows:<24} {med:>10.1f} {worst:>10.1f}")


if __name__ == "__main__":
    main()
