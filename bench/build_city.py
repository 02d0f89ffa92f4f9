"""City scale for the bench, as its own process (so that its wall time and peak memory are its own):

    .venv/bin/python -m bench.build_city [--replace]

What `manage.py seed_demo --scale city` loads — the registry of all five districts, units, demo accounts — and
the steps of settings.DEMO_SEED_STEPS that write no cases. Steps under `cases.` (the demo cases,
cases.demo.seed_cases) are left out: the bench writes its own million cases in SQL (bench/synthetic_cases.py)
and does not depend on them. `bench.run --full-seed` runs `manage.py seed_demo --scale city` as it is instead.
Uses DATABASE_URL (bench/run.py sets it to the bench database).
"""

import argparse
import os
import sys
import warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--replace", action="store_true", help="delete the registry first (as seed_demo --replace)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridmgmt.settings")
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.conf import settings

    from grids.demo import loader
    from grids.management.commands.seed_demo import registry_is_empty

    if not args.replace and not registry_is_empty():
        print("the registry is not empty: run with --replace", file=sys.stderr)
        return 1
    steps = [step for step in settings.DEMO_SEED_STEPS if not step.startswith("cases.")]
    skipped = [step for step in settings.DEMO_SEED_STEPS if step not in steps]
    seed = loader.DEFAULT_SEED if args.seed is None else args.seed
    print(f"loading demo: scale=city, seed={seed}; steps {steps}" + (f"; left out {skipped}" if skipped else ""))
    summary = loader.load(scale="city", seed=seed, stdout=sys.stdout, progress=False, replace=args.replace, steps=steps)
    print("\n".join(summary.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
