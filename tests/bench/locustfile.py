"""The load generator of `make bench`: bookkeepers opening the inbox's first page, back to back.

Run by tests/bench/load.py in a process of its own (locust headless). Signed in with a session made
by the benchmark (BENCH_SESSION); the X-Forwarded-Proto header is what the TLS proxy in front of a
production server adds (the settings trust it with DEBUG off)."""

import os

from locust import HttpUser, constant, task

PATH = os.environ["BENCH_PATH"]
HEADERS = {"Cookie": f"sessionid={os.environ['BENCH_SESSION']}", "X-Forwarded-Proto": "https"}


class Bookkeeper(HttpUser):
    wait_time = constant(0)

    @task
    def inbox(self) -> None:
        with self.client.get(
            PATH, headers=HEADERS, name="inbox first page", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200 or b"Costs inbox" not in response.content:
                response.failure(f"{response.status_code}: not the inbox")
