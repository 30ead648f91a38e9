"""The run: migrate, build or reuse the dataset, measure, write docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django_scopes import scopes_disabled

from . import dataset, lists, load
from .measure import PER_PAGE, Browser, Figure, explain, floor, item_queries, page_figures, write_figures

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "benchmarks.md"
# The pages whose queries are explained, besides the first page.
PLANNED = ("Costs inbox, filtered to Bill.com", "Costs inbox, filtered to Bill.com, sorted by total")
COMMAND = "make bench BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_perf"


def main() -> None:
    started = time.monotonic()
    load_before = os.getloadavg()
    vendor = connection.vendor
    size = dataset.SIZES[
        os.environ.get("BENCH_SIZE") or ("production" if vendor == "postgresql" else "small")
    ]
    repeat = max(15, int(os.environ.get("BENCH_REPEAT", "15")))
    with_load = os.environ.get("BENCH_LOAD", "1" if vendor == "postgresql" else "0") == "1"
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    step = time.monotonic()
    with scopes_disabled():
        world = dataset.ensure(size)
    print(f"Dataset {size.name}: ready in {time.monotonic() - step:.0f} s")

    with scopes_disabled():
        browser = Browser(world.partner)
        figures = page_figures(world, browser, repeat)
        for f in figures:
            print(f"{f.label:<66} p50 {f.p50:8.1f} ms  p95 {f.p95:8.1f} ms  {f.queries} queries")
        writes = write_figures(world, browser, repeat)
        for f in writes:
            print(f"{f.label:<66} p50 {f.p50:8.1f} ms  p95 {f.p95:8.1f} ms  {f.queries} statements")
        bottom = floor(world, repeat)
        print(f"{bottom.label:<66} p50 {bottom.p50:8.1f} ms")
        plans = [
            (figure.label, sql, explain(sql))
            for figure in figures
            if figure.label.startswith("Costs inbox, first page") or figure.label in PLANNED
            for sql in item_queries(figure)
        ]
        loads = []
        if with_load:
            loads = load.run(
                path=_first_page(world),
                session_key=browser.session_key,
                users=[8, 32],
                seconds=seconds,
            )
            for lf in loads:
                print(
                    f"Load, {lf.users} users: {lf.rps:.1f} req/s, p50 {lf.p50} ms, p99 {lf.p99} ms, "
                    f"{lf.failures} errors"
                )
    load_after = os.getloadavg()
    existing = OUT.read_text() if OUT.exists() else ""
    section = _section(
        baseline=_baseline(existing, vendor),
        vendor=vendor,
        size=size,
        repeat=repeat,
        figures=figures,
        writes=writes,
        bottom=bottom,
        plans=plans,
        loads=loads,
        load_avg=(load_before, load_after),
        minutes=(time.monotonic() - started) / 60,
    )
    text = _merge(existing, vendor, section)
    # The lists' item page and type-ahead searches (issue 9): their own section (tests/bench/lists.py).
    with scopes_disabled():
        rows = lists.measure(browser.client, world.big)
    name, lists_section = lists.section(vendor, rows, _machine())
    OUT.write_text(_merge(text, name, lists_section))
    print(f"Wrote {OUT} in {(time.monotonic() - started) / 60:.1f} min")


def _first_page(world) -> str:
    from .measure import inbox_url

    return inbox_url(world)


# --- docs/benchmarks.md -------------------------------------------------------------------------

HEADER = """# Benchmarks

Written by `make bench` (tests/bench/). With `BENCH_DATABASE_URL=postgres://…` (a database of its
own: the benchmark refuses one holding other accounts) it builds the production-size dataset of issue
13 once, by COPY, in about a minute, and reuses it on later runs; then it measures every figure below
and runs the load test: about 10 minutes end to end. Without BENCH_DATABASE_URL it runs a small
dataset on SQLite, without the load test. `BENCH_SIZE` (tiny, small, production), `BENCH_REPEAT`
(at least 15) and `BENCH_LOAD` (1/0) change that. Each run rewrites its own database's section; the
section "…, before issue 13" keeps today's figures (before the changes) and feeds the "before" column.

How: every page is a request through the whole Django stack (middleware, tenancy, view, templates)
with Django's test client, signed in as the practice admin, with the production settings (DEBUG off,
sandbox off): median and p95 over the stated number of runs after one warm-up; the query count is
taken on one more run. The inbox is asked for 50 rows a page (`per_page=50`); a deep page is reached
as a user reaches it, by the "Next" link's cursor. Writes are put back, untimed, after each run. The
floor is the first page's 50 rows with their effective integration by one hand-written query through
psycopg. Speed is measured here only: the tests never time anything (tests/test_bench_smoke.py runs
the dataset builder and a measurement at tiny size so that this cannot rot).

Read the load average line of each run: the figures below were taken on a 2-core machine that other
processes were using at the same time, so they are slower and noisier than on a quiet machine.
"""


BEFORE = "before issue 13"


def _baseline(existing: str, vendor: str) -> dict[str, str]:
    """p50 by figure from the section "<vendor>, before issue 13" (today's figures, kept by hand)."""
    marker = f"\n## {vendor}, {BEFORE}"
    if marker not in existing:
        return {}
    chunk = existing.split(marker, 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in chunk.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1] and cells[1][0].isdigit():
            found.setdefault(cells[0], cells[1].split(" ")[0])
    return found


def _merge(existing: str, vendor: str, section: str) -> str:
    """Replace this database's section, keep the others (including baselines kept by hand)."""
    sections = {}
    for chunk in existing.split("\n## ")[1:]:
        name = chunk.split("\n", 1)[0].strip()
        sections[name] = "## " + chunk.rstrip() + "\n"
    sections[vendor] = section
    return HEADER + "\n" + "\n".join(sections[k] for k in sorted(sections))


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(
            int(line.split()[1]) // (1024 * 1024)
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except OSError:
        mem = 0
    server = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = f", PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        server = f", SQLite {sqlite3.sqlite_version}"
    return f"{cpu}, {os.cpu_count()} cores, {mem} GB RAM, Python {platform.python_version()}{server}"


def _commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (" (with uncommitted changes)" if dirty.strip() else "")


def _loads(values) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def _row(f: Figure, baseline: dict[str, str], floor_p50: float | None = None) -> str:
    ratio = f" ({f.p50 / floor_p50:.1f}× floor)" if floor_p50 else ""
    before = baseline.get(f.label, "—")
    return f"| {f.label} | {f.p50:.1f}{ratio} | {f.p95:.1f} | {f.queries} | {before} | {f.target} |"


def _section(
    *, baseline, vendor, size, repeat, figures, writes, bottom, plans, loads, load_avg, minutes
) -> str:
    command = COMMAND if vendor == "postgresql" else "make bench"
    if size.name != ("production" if vendor == "postgresql" else "small"):
        command = f"BENCH_SIZE={size.name} {command}"
    first = figures[0]
    lines = [
        f"## {vendor}",
        "",
        f"- When: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {_commit()}; "
        f"`{command}`; the run took {minutes:.1f} min.",
        f"- Machine: {_machine()}. Load average (1/5/15 min) at the start "
        f"{_loads(load_avg[0])}, at the end {_loads(load_avg[1])}: "
        "above zero means other processes shared the cores.",
        f"- Data ({size.name}): {size.accounts:,} Business accounts, all clients of one practice; "
        f"{size.with_items:,} of them hold {size.items:,} items. The big one: {size.big_items:,} items, "
        f"Xero and Bill.com connected, {size.suppliers:,} suppliers of which {size.rules:,} have a rule, "
        "3% of cost items set on the item, expense claims to Bill.com by default, supplier popularity "
        "skewed (the top 1% of suppliers have about a fifth of the items).",
        "",
        f"### Pages (median and p95 of {repeat} runs, ms)",
        "",
        "| figure | p50 | p95 | queries | p50 before issue 13 | target |",
        "| --- | --- | --- | --- | --- | --- |",
        _row(first, baseline, bottom.p50),
        *(_row(f, baseline) for f in figures[1:]),
        "",
        "### The floor",
        "",
        f"The costs inbox's first {PER_PAGE} rows with their effective integration, "
        "by one hand-written SQL query through the driver (psycopg on PostgreSQL) on a connection of "
        f"its own: p50 {bottom.p50:.2f} ms, p95 {bottom.p95:.2f} ms. The page takes "
        f"**{first.p50 / bottom.p50:.1f}×** the floor.",
        "",
        f"### Writes (median and p95 of {repeat} runs, ms; each put back, untimed, between runs)",
        "",
        "| figure | p50 | p95 | statements | p50 before issue 13 | target |",
        "| --- | --- | --- | --- | --- | --- |",
        *(_row(f, baseline) for f in writes),
        "",
    ]
    if loads:
        lines += [
            f"### Load: gunicorn, {load.WORKERS} workers × {load.THREADS} threads, production settings; "
            "locust headless in another process, each user requesting the inbox's first page back to back",
            "",
            "| users | seconds | requests | requests/s | p50 ms | p99 ms | errors |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *(
                f"| {lf.users} | {lf.seconds} | {lf.requests:,} | {lf.rps:.1f} | {lf.p50:.0f} | "
                f"{lf.p99:.0f} | {lf.failures} |"
                for lf in loads
            ),
            "",
            "Target at 32 users: ≥ 150 requests/s, p99 ≤ 250 ms, 0 errors.",
            "",
        ]
    lines += [
        "Publishing throughput: not measured yet; it gets its own section once the publishing issue "
        "has landed.",
        "",
        "### Plans",
        "",
    ]
    for label, sql, plan in plans:
        lines += [f"{label}:", "", "```sql", sql, "```", "", "```", plan, "```", ""]
    return "\n".join(lines)
