"""How ``fupinsim simulate`` and ``fupinsim run`` grow with the national registry's size.

Runs the command a user runs (the ``fupinsim`` entry point, under ``/usr/bin/time -v``) on the
national scenario cut to each size (people in proportion, everything else as
``scenarios/national_2014.yaml``) and prints one JSON object: per command and size, wall
seconds, CPU seconds (user + system, all processes: the workers are children), the peak
resident memory of the largest single process (``peak_gb``, from ``time -v``) and the peak
of the whole process tree, parent and workers together (``peak_tree_gb``, sampled every
0.2 s with psutil).

    .venv/bin/python benchmarks/bench_national.py --sizes 100000 1000000 --commands simulate

``--commands run card`` also times ``fupinsim card <id> --scenario <scenario>`` (three times)
on each size's finished run: a card should cost the same at every size (issue 18: under 2 s
at national size).

The machine's load inflates wall seconds; CPU seconds are less sensitive to it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
NATIONAL_HOUSEHOLDS = 29_480_000
NATIONAL_PEOPLE = 89_620_000


def _scenario(folder: Path, households: int) -> Path:
    for name in ("plan_2015", "national_2014"):
        shutil.copy(ROOT / "scenarios" / f"{name}.yaml", folder / f"{name}.yaml")
    if households == NATIONAL_HOUSEHOLDS:
        return folder / "national_2014.yaml"
    people = round(households * NATIONAL_PEOPLE / NATIONAL_HOUSEHOLDS)
    path = folder / f"national_{households}.yaml"
    path.write_text(
        f"id: national_{households}\nextends: national_2014\n"
        f"title: National scale test cut to {households:,} households\n"
        "description: bench_national.py\n"
        f"registry:\n  n_registered_households: {households}\n"
        f"  n_registered_people: {people}\n",
        encoding="utf-8",
    )
    return path


def _measure(command: list[str]) -> dict[str, float]:
    """Wall and CPU seconds and peak memory of one command (``/usr/bin/time -v``)."""
    process = subprocess.Popen(
        ["/usr/bin/time", "-v", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree_peak = [0]

    def sample() -> None:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                members = [root, *root.children(recursive=True)]
                rss = sum(m.memory_info().rss for m in members)
            except psutil.Error:
                continue
            tree_peak[0] = max(tree_peak[0], rss)
            threading.Event().wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    done = subprocess.CompletedProcess(command, process.returncode, "", stderr)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    text = done.stderr

    def field(label: str) -> str:
        found = re.search(rf"{re.escape(label)}: (.+)", text)
        assert found, label
        return found.group(1).strip()

    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    peak_gb = int(field("Maximum resident set size (kbytes)")) / 1024**2
    return {
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_gb": round(peak_gb, 2),
        "peak_tree_gb": round(tree_peak[0] / 1024**3, 2),
    }


def _card(fupinsim: str, run: Path) -> dict[str, float]:
    """``fupinsim card`` of the run's first registered household, three times: the fastest and
    slowest wall seconds and the largest peak."""
    import pyarrow.dataset as ds  # noqa: PLC0415 - only for --commands card

    registered = ds.dataset(str(run / "tables" / "households.parquet")).head(
        1, columns=["household_id"], filter=ds.field("is_registered")
    )
    household = str(registered.column("household_id")[0].as_py())
    call = [fupinsim, "-q", "card", household, "--scenario", run.name]
    call += ["--outputs", str(run.parent), "--out", str(run.parent / "cards")]
    runs = [_measure(call) for _ in range(3)]
    return {
        "seconds": min(r["seconds"] for r in runs),
        "seconds_max": max(r["seconds"] for r in runs),
        "peak_gb": max(r["peak_gb"] for r in runs),
    }


def main() -> None:
    """Measure each command at each size; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000, 3_000_000])
    parser.add_argument("--commands", nargs="+", default=["simulate", "run"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    fupinsim = str(Path(sys.executable).with_name("fupinsim"))
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            scenario = str(_scenario(folder, size))
            for command in [c for c in args.commands if c != "card"]:
                out = str(folder / f"{command}_{size}")
                if command == "run" and "card" in args.commands:
                    out = str(folder / f"outputs_{size}" / Path(scenario).stem)
                extra = ["--plan", "uniform_1230"] if command == "simulate" else []
                call = [fupinsim, "-q", command, scenario, *extra, "--replications", "1"]
                call += ["--workers", str(args.workers), "--out", out]
                results.setdefault(command, {})[str(size)] = _measure(call)
                if command == "run" and "card" in args.commands:
                    results.setdefault("card", {})[str(size)] = _card(fupinsim, Path(out))
                shutil.rmtree(out, ignore_errors=True)
                print(command, size, results[command][str(size)], file=sys.stderr, flush=True)
    headline = _headline(results.get("simulate", {}))
    print(
        json.dumps(
            {"benchmark": "national", "workers": args.workers, **headline, **results}, indent=2
        )
    )


def _headline(simulate: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """``national_s`` and ``national_peak_rss_mb`` (issue 11): ``fupinsim simulate`` of the
    full national registry (29,480,000 households; null unless that size was measured), wall
    seconds and the peak of the process tree (parent and workers) in MB."""
    full = simulate.get(str(NATIONAL_HOUSEHOLDS))
    if full is None:
        return {"national_s": None, "national_peak_rss_mb": None}
    return {
        "national_s": full["seconds"],
        "national_peak_rss_mb": round(full["peak_tree_gb"] * 1024),
    }


if __name__ == "__main__":
    main()
