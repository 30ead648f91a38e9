"""Load: gunicorn with the production settings and 2 workers, and locust in another process."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS, THREADS = 2, 4  # 2 workers as the issue asks; threads as the Dockerfile's server


@dataclass
class LoadFigure:
    users: int
    seconds: int
    requests: int
    rps: float
    p50: float
    p99: float
    failures: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*, path: str, session_key: str, users: list[int], seconds: int) -> list[LoadFigure]:
    port = _free_port()
    env = dict(os.environ)
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "dext_connect.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_until_up(port, path, session_key)
        return [
            _locust(port=port, path=path, session_key=session_key, users=n, seconds=seconds) for n in users
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(port: int, path: str, session_key: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Cookie": f"sessionid={session_key}", "X-Forwarded-Proto": "https"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    for _ in range(10):  # warm both workers
        urllib.request.urlopen(request, timeout=30).read()


def _locust(*, port: int, path: str, session_key: str, users: int, seconds: int) -> LoadFigure:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "load")
        result = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                prefix,
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={**os.environ, "BENCH_PATH": path, "BENCH_SESSION": session_key},
            check=False,
            capture_output=True,
            text=True,
        )
        if not Path(f"{prefix}_stats.csv").exists():
            raise RuntimeError(f"locust did not run:\n{result.stderr[-3000:]}")
        with open(f"{prefix}_stats.csv", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return LoadFigure(
        users=users,
        seconds=seconds,
        requests=int(row["Request Count"]),
        rps=float(row["Requests/s"]),
        p50=float(row["50%"]),
        p99=float(row["99%"]),
        failures=int(row["Failure Count"]),
    )
