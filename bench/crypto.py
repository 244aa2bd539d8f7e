"""What encryption at rest costs the nightly check: reading every link back.

The nightly check loads each link it visits; with encryption every url is a Fernet token to
decrypt. This loads LINKS links from a SQLite file twice in the same run:

- baseline: the stored column read as it is (no decryption), as before encryption;
- takedown: the same rows through the model, each url decrypted.

It prints both, the cost per link, and, for scale, the share of the nightly benchmark's
last measured time for 100,000 links (307 s) that the decryption of 100,000 links takes.

    .venv/bin/python bench/crypto.py [--links 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Text, insert, select, type_coerce

from takedown.config import get_settings
from takedown.safety.crypto import generate_key
from takedown.store.columns import utcnow
from takedown.store.db import get_engine, migrate, session_scope
from takedown.store.encryption import keyring
from takedown.store.models import Case, Item

NIGHTLY_100K_SECONDS = 307.0  # bench/nightly.py, SQLite, README


def fill(links: int) -> None:
    now = utcnow()
    case_id = uuid.uuid4().hex
    keys = keyring()
    with get_engine().begin() as connection:
        connection.execute(
            insert(Case),
            [{"id": case_id, "reference": "TD-2026-BENCH0", "victim_name": "Bench Victim",
              "victim_email": "victim@bench.example", "language": "en", "created_at": now}],
        )  # fmt: skip
        for start in range(0, links, 5000):
            rows = []
            for n in range(start, min(start + 5000, links)):
                url = f"https://host{n % 1000}.example/p/{n}"
                rows.append(
                    {
                        "id": uuid.uuid4().hex,
                        "case_id": case_id,
                        "position": n + 1,
                        "url": url,
                        "url_hash": keys.link_hash(url),
                        "host": f"host{n % 1000}.example",
                        "status": "unknown",
                        "created_at": now,
                    }
                )
            connection.execute(insert(Item), rows)


def timed_read(decrypt: bool) -> tuple[float, int]:
    column = Item.url if decrypt else type_coerce(Item.url, Text)
    started = time.perf_counter()
    with session_scope() as session:
        urls = session.scalars(select(column)).all()
    return time.perf_counter() - started, len(urls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="takedown-bench-crypto-") as tmp:
        os.environ["TAKEDOWN_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.db'}"
        os.environ["TAKEDOWN_SECRET_KEY"] = generate_key()
        get_settings.cache_clear()
        migrate()
        fill(args.links)
        timed_read(decrypt=False)  # warm the file cache for both
        baseline, count = min(timed_read(decrypt=False) for _ in range(3))
        takedown, _ = min(timed_read(decrypt=True) for _ in range(3))
        get_engine().dispose()
    per_link = (takedown - baseline) / count * 1e6
    print(f"links read:                 {count:,}")
    print(f"baseline (tokens, no decryption): {baseline:.3f} s")
    print(f"takedown (urls decrypted):        {takedown:.3f} s")
    print(f"decryption per link:              {per_link:.1f} µs")
    share = per_link * 100_000 / 1e6 / NIGHTLY_100K_SECONDS
    print(f"for 100,000 links: {per_link * 0.1:.2f} s, {share:.2%} of the nightly run's 307 s")


if __name__ == "__main__":
    main()
