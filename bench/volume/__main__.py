"""Make the volume tenants: `python -m bench.volume [--scale 1.0] [--reuse]`.

Uses DATABASE_URL / REDIS_URL when set, else SQLite and the bundled Redis under
var/bench-volume/. Prints what each tenant holds.
"""

from __future__ import annotations

import argparse
import time

from bench.volume.environment import database_label, redis_running, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=1.0, help="every count times this (0.05: a quick run)")
    parser.add_argument("--reuse", action="store_true", help="keep a tenant that already holds the volume")
    parser.add_argument("--seed", type=int, default=17)
    arguments = parser.parse_args()
    setup_django()
    from bench.volume.build import ensure_volumes, shape_of

    with redis_running():
        started = time.monotonic()
        print(f"volume at scale {arguments.scale} on {database_label()}")
        volumes = ensure_volumes(scale=arguments.scale, reuse=arguments.reuse, seed=arguments.seed)
        print(f"ready in {time.monotonic() - started:.0f} s")
        for volume in volumes:
            print(f"{volume.tenant.slug}: {shape_of(volume.tenant)}")


if __name__ == "__main__":
    main()
