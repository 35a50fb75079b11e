"""Microsimulation benchmark: prints one JSON object.

Keys (issue "Household income microsimulation"):

``hh_years_per_s_12600``
    Household-years per second of the full model (shocks, illness, interventions, dibao,
    exits) on plan_2015's 12,600 registered households under ``uniform_1230``.
``hh_years_per_s_1000000``
    The same on 1,000,000 registered households (the national household model scaled down,
    float32 tables as in the national scenario), five replications;
    ``hh_years_per_s_1000000_float64`` the same with float64 tables.
``kernel_hh_years_per_s_1000000``, ``kernel_ratio_to_reference``
    The year steps alone (the kernel over tables prepared once: no registry table to arrays, no
    plan compiling), as the reference times only its year loop; median of three pairs.
``reference_hh_years_per_s``
    A naive four-part reference in plain NumPy, one process: growth, lognormal shocks (PCG64),
    dibao transfers and the exit test, vectorised over 1,000,000 households × 7 years.
``ratio_to_reference``
    ``hh_years_per_s_1000000`` / ``reference_hh_years_per_s``, each pair measured back to back;
    the median of three pairs (the machine is shared, so only same-run ratios are comparable).
``mc_1000_plan_2015_s``
    Seconds for 1,000 replications of plan_2015's registered households under ``uniform_1230``.
``national_s``, ``national_peak_rss_mb``
    With ``--national``: seconds and peak resident memory (MB, this process and its workers)
    for the national scenario (29.48 M households × 7 years, one replication), registry
    generated chunk by chunk inside the workers; ``null`` without ``--national``.
``kernel_threads``
    Threads of the kernel (``--workers``; national runs use that many processes instead).
``numpy_add_gb_s``
    NumPy ``a + b`` on 10 M float64 in this run (GB/s moved: 3 × 80 MB per add), to normalise
    for the machine.

Registry generation is not timed except in the national run (where it is part of the job).
Usage: ``python benchmarks/bench_microsim.py [--national] [--workers N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time

import numpy as np
import psutil

from fupinsim.microsim import load_catalogue, reference_plan, simulate
from fupinsim.microsim.engine import prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.national import simulate_national
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import build_population
from fupinsim.microsim.simulate import DEFAULT_CHUNK
from fupinsim.registry import generate_registry
from fupinsim.scenario import load_scenario


def numpy_add_gb_s() -> float:
    a = np.ones(10_000_000)
    b = np.ones(10_000_000)
    out = np.empty_like(a)
    np.add(a, b, out=out)
    best = np.inf
    for _ in range(10):
        start = time.perf_counter()
        np.add(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 3 * a.nbytes / best / 1e9


def reference_rate(n: int = 1_000_000, n_years: int = 7, seed: int = 1) -> float:
    """Household-years per second of the naive NumPy reference (see module docstring)."""
    gen = np.random.default_rng(seed)
    base = gen.lognormal(9.0, 0.6, n)  # market income, yuan per household
    members = gen.integers(1, 7, n).astype(float)
    enrolled = gen.random(n) < 0.2
    line, standard, sigma = 2855.0, 3000.0, 0.25
    start = time.perf_counter()
    remaining = np.ones(n, dtype=bool)
    streak = np.zeros(n, dtype=np.int64)
    exited = 0
    for t in range(n_years):
        income = base * 1.07**t  # growth
        income *= np.exp(sigma * gen.standard_normal(n) - 0.5 * sigma**2)  # shocks
        pc = income / members
        dibao = np.where(enrolled & (pc < standard), (standard - pc) * members, 0.0)  # transfers
        pc = (income + dibao) / members
        streak = np.where(pc >= line, streak + 1, 0)  # exit
        exits = remaining & (streak >= 1)
        remaining &= ~exits
        exited += int(exits.sum())
    return n * n_years / (time.perf_counter() - start)


def kernel_rate(scenario, households, plan, replications: int, workers: int) -> float:  # type: ignore[no-untyped-def]
    """Household-years per second of the kernel alone, on tables prepared once."""
    population = build_population(households, None)
    catalogue = load_catalogue(scenario)
    compiled = compile_plan(population, plan, catalogue, scenario)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    prepared = prepare_population(population, scenario)
    arrays = prepare_plan(compiled, population, scenario, dtype)
    start = time.perf_counter()
    for first in range(0, population.n, DEFAULT_CHUNK):
        stop = min(first + DEFAULT_CHUNK, population.n)
        run_prepared(prepared, arrays, range(replications), first, stop, threads=workers)
    seconds = time.perf_counter() - start
    return population.n * len(scenario.years) * replications / seconds


def _registered(scenario_path: str):  # type: ignore[no-untyped-def]
    scenario = load_scenario(scenario_path)
    registry = generate_registry(scenario)
    households = registry.households
    registered = households[households["is_registered"].to_numpy(dtype=bool)]
    plan = reference_plan("uniform_1230", households, scenario)
    return scenario, registered, plan


def rate(scenario, households, plan, replications: int, workers: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = simulate(
        households,
        plan,
        scenario,
        replications=replications,
        workers=workers,
        household_paths=False,
    )
    seconds = time.perf_counter() - start
    return result.meta["household_years"] / seconds, seconds


class PeakRss:
    """Peak resident memory of this process and its children (MB), sampled every 0.1 s.

    (``getrusage`` counts only children that have ended; pool workers are still alive.)
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        self.peak = max(self.peak, total / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--national", action="store_true", help="also run national_2014")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    out: dict[str, object] = {"numpy_add_gb_s": round(numpy_add_gb_s(), 2)}
    scenario, registered, plan = _registered("scenarios/plan_2015.yaml")
    rate(scenario, registered, plan, 50, args.workers)  # warm-up (spawned workers, caches)
    hh_rate, _ = rate(scenario, registered, plan, 200, args.workers)
    out["hh_years_per_s_12600"] = round(hh_rate)
    _, mc_seconds = rate(scenario, registered, plan, 1000, args.workers)
    out["mc_1000_plan_2015_s"] = round(mc_seconds, 2)

    national = load_scenario("scenarios/national_2014.yaml")
    scale = 1_000_000 / national.registry.n_registered_households
    million = national.model_copy(
        update={
            "registry": national.registry.model_copy(
                update={
                    "n_registered_households": 1_000_000,
                    "n_registered_people": round(national.registry.n_registered_people * scale),
                }
            )
        }
    )
    big = generate_registry(million)
    big_plan = reference_plan("uniform_1230", big.households, million)
    rate(million, big.households, big_plan, 1, args.workers)  # warm-up
    pairs = []
    for _ in range(3):
        reference = reference_rate()
        big_rate, _ = rate(million, big.households, big_plan, 5, args.workers)
        pairs.append((big_rate / reference, big_rate, reference))
    ratio, big_rate, reference = sorted(pairs)[1]  # the median pair
    out["hh_years_per_s_1000000"] = round(big_rate)
    out["reference_hh_years_per_s"] = round(reference)
    out["ratio_to_reference"] = round(ratio, 3)
    out["ratios_to_reference"] = [round(p[0], 3) for p in pairs]
    kernel_pairs = []
    for _ in range(3):
        reference = reference_rate()
        kernel = kernel_rate(million, big.households, big_plan, 5, args.workers)
        kernel_pairs.append((kernel / reference, kernel))
    kernel_ratio, kernel = sorted(kernel_pairs)[1]
    out["kernel_hh_years_per_s_1000000"] = round(kernel)
    out["kernel_ratio_to_reference"] = round(kernel_ratio, 3)
    as_float64 = million.model_copy(
        update={"microsim": million.microsim.model_copy(update={"float32": False})}
    )
    out["hh_years_per_s_1000000_float64"] = round(
        rate(as_float64, big.households, big_plan, 5, args.workers)[0]
    )
    del big, big_plan

    out["national_s"] = None
    out["national_peak_rss_mb"] = None
    if args.national:
        with PeakRss() as rss:
            start = time.perf_counter()
            simulate_national(national, "uniform_1230", workers=args.workers)
            out["national_s"] = round(time.perf_counter() - start, 1)
        out["national_peak_rss_mb"] = round(rss.peak)
    out["kernel_threads"] = args.workers
    out["replications_rate"] = 200
    print(json.dumps(out))


if __name__ == "__main__":
    main()
