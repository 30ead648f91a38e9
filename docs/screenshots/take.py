"""Full-page screenshots of the Costs inbox and Business settings > Connections, at 1280 and 390 px,
signed in as the demo's Acme admin, against a running demo (`make run`).

    python docs/screenshots/take.py --base-url http://127.0.0.1:8000            # after-*.png
    python docs/screenshots/take.py --base-url http://127.0.0.1:8000 --prefix before

Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH), like the browser tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PAGES = {"inbox": "/a/{account}/costs/", "connections": "/a/{account}/settings/connections/"}
WIDTHS = (1280, 390)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--prefix", default="after", help="file names: <prefix>-<page>-<width>.png")
    parser.add_argument("--email", default="admin@acme.test")
    parser.add_argument("--password", default="demo-pass-2026")
    parser.add_argument("--account", default="acme")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    opts = parser.parse_args()
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        for width in WIDTHS:
            context = browser.new_context(base_url=opts.base_url, viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto("/login/")
            page.get_by_label("E-mail").fill(opts.email)
            page.get_by_label("Password").fill(opts.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            for name, path in PAGES.items():
                page.goto(path.format(account=opts.account))
                page.wait_for_load_state("networkidle")
                target = Path(opts.out) / f"{opts.prefix}-{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                wide = page.evaluate("() => document.documentElement.scrollWidth")
                print(f"{target.name}: page {wide} px wide in a {width} px window")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
