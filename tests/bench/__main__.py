"""`make bench` (python -m tests.bench): the environment of a production server, then the run.

PostgreSQL from BENCH_DATABASE_URL (production size by default), else SQLite in var/bench.sqlite3
(small size). BENCH_SIZE (tiny, small, production), BENCH_REPEAT (runs per figure, at least 15)
and BENCH_LOAD (1/0: the gunicorn + locust load test; on by default on PostgreSQL) change that.
BENCH=publishing runs the publishing section alone (tests/bench/publishing.py).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

if os.environ.get("BENCH") == "publishing":
    # The publishing section alone (tests/bench/publishing.py): a database and settings of its own.
    from tests.bench.publishing import environment

    os.environ.update(environment())
    import django

    django.setup()
    from tests.bench.publishing import ensure_database, main

    ensure_database(os.environ["DATABASE_URL"])
    main()
    sys.exit(0)

os.environ["DATABASE_URL"] = (
    os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
)
# The production settings (DEBUG off, no sandbox), with keys of the benchmark's own.
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "dext_connect.settings",
        "DEBUG": "false",
        "SANDBOX_ENABLED": "false",
        "SENT_MAIL_OPEN": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-any-real-server-0123456789abcdef",
        "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktbm90LWZvci1wcm9kdWN0aW8=",
        "ALLOWED_HOSTS": "testserver,127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402

django.setup()

from tests.bench.run import main  # noqa: E402

main()
