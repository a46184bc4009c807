"""What one call of a student's function from a test costs under split grading, in one run: over
the crossing harness's own channel (the default) and as a cell (how every request went before).

A student's kernel (an ordinary IPython kernel, ipc transport) is given ex04's ``violations``
from the exercise's source solution and its ``measures`` table, as a submission would; this
process plays the test interpreter (``grading.test_interpreter``), takes both names as data,
and calls ``violations(plan, measures)`` for 60 random plans, as ex04's hidden test does. Also
reported: the function alone, called in this process, which is what stock nbgrader pays.

    .venv/bin/python benchmarks/crossing_calls.py [--calls 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

from course import data  # noqa: E402
from course import r2p as reference_r2p  # noqa: E402
from grading import crossing  # noqa: E402
from grading import test_interpreter as ti  # noqa: E402

SOURCE = REPO / "course" / "exercises" / "source" / "ex04_r2p" / "ex04_r2p.md"


def solution() -> str:
    """ex04's ``violations``, as the source's solution writes it."""
    text = SOURCE.read_text(encoding="utf-8")
    body = text[text.index("def violations(plan, measures):"):]
    body = body[:body.index("```")]
    return "\n".join(line for line in body.splitlines() if "### " not in line) + "\n"


def plans(count: int) -> list[pd.DataFrame]:
    """Random plans, drawn as the hidden test draws them."""
    toolbox = reference_r2p.check_measures(data.load("r2p_measures"))
    rng, out = random.Random(4), []
    for _ in range(count):
        rows = []
        for phase in reference_r2p.PHASES:
            offered = sorted(m for m in toolbox.index if phase in toolbox.at[m, "phases"])
            rows += [(phase, m) for m in rng.sample(offered, rng.randint(0, 5))]
        out.append(pd.DataFrame(rows, columns=["phase", "measure_id"]))
    return out


def student_kernel(folder: Path) -> KernelManager:
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "kernel"))
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    # The submission's cells, then the harness, installed as the grader installs it.
    kc.execute("import pandas as pd\nfrom course import data\n"
               "measures = data.load('r2p_measures').drop(columns=['pillar'])\n" + solution(),
               reply=True, timeout=60)
    kc.shell_channel.send(crossing.install_request(kc.session))
    kc.get_shell_msg(timeout=60)
    kc.stop_channels()
    return km


def per_call_ms(fn, plans_, measures, rounds: int) -> float:
    """The median over ``rounds`` of the mean time of one call, in ms."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for plan in plans_:
            fn(plan, measures)
        times.append((time.perf_counter() - start) / len(plans_) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    trials = plans(args.calls)
    with tempfile.TemporaryDirectory(prefix="upstream-crossing-") as folder:
        km = student_kernel(Path(folder))
        try:
            info = {k: (v.decode() if isinstance(v, bytes) else v)
                    for k, v in km.get_connection_info().items()}
            ti.attach(info, km.provisioner.pid, 30.0, installed=True)
            link = ti._LINK
            if link.channel is None:
                raise SystemExit("the student's kernel opened no channel")
            namespace: dict = {}
            ti.get_ipython = lambda: type("Shell", (), {"user_ns": namespace})
            ti.prepare(["violations", "measures"])
            violations, measures = namespace["violations"], namespace["measures"]
            channel = per_call_ms(violations, trials, measures, args.rounds)
            link.channel, saved = None, link.channel  # every request as a cell, as before
            as_cell = per_call_ms(violations, trials, measures, args.rounds)
            link.channel = saved
            local: dict = {"pd": pd}
            exec(solution(), local)  # noqa: S102 - the course's own solution
            alone = per_call_ms(local["violations"], trials, data.load("r2p_measures").drop(
                columns=["pillar"]), args.rounds)
            link.close()
        finally:
            km.shutdown_kernel(now=True)
    print(json.dumps({
        "calls": args.calls, "rounds": args.rounds,
        "ms_per_call_over_channel": round(channel, 2),
        "ms_per_call_as_cell": round(as_cell, 2),
        "ms_per_call_function_alone": round(alone, 2),
        "channel_speedup": round(as_cell / channel, 2),
        "overhead_ms_channel_vs_cell": [round(channel - alone, 2), round(as_cell - alone, 2)],
    }, indent=1))


if __name__ == "__main__":
    main()
