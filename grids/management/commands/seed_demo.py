"""manage.py seed_demo --scale small|district|city [--seed N] [--if-empty | --replace]"""

from django.core.management.base import BaseCommand, CommandError

from grids.models import Building, Community, District, Grid, Street, Unit

SCALE_HELP = {
    "small": "西区 with its six streets, two communities each: ~25 grids, ~2k buildings, ~7k households, "
    "~18k people, a few seconds (for tests)",
    "district": "西区 (510403) in full: 6 streets, 36 communities, ~160 grids, ~10k buildings, ~55k households, "
    "~150k people, well under two minutes",
    "city": "all five districts of 攀枝花 from fixtures/panzhihua_districts.geojson with their GB/T 2260 codes "
    "(510402 东区, 510403 西区, 510411 仁和区, 510421 米易县, 510422 盐边县): 西区 as at district scale, the others "
    "generated on their real outlines (towns joined by roads, villages around them); about ten times district "
    "scale (~500 communities, ~1.5k grids, ~555k households, ~1.53M people; more buildings than ten times, "
    "since rural households live in houses of their own), streamed one community at a time with flat memory; "
    "several minutes",
}


def registry_is_empty() -> bool:
    return not any(model.objects.exists() for model in (District, Street, Community, Grid, Building, Unit))


class Command(BaseCommand):
    help = (
        "Load the demo registry: 西区 of 攀枝花 from its real outline, with streets, communities, grids, "
        "buildings, households, people (fake but well-formed ID numbers, stored encrypted), units and the demo "
        "accounts (password settings.DEMO_PASSWORD), then the steps in settings.DEMO_SEED_STEPS, all in one "
        "transaction. Deterministic: the same --seed gives the same content (except ciphertexts and password "
        "hashes, which are salted on purpose). Scales: "
        + "; ".join(f"{name}: {text}" for name, text in SCALE_HELP.items())
        + ". --replace first deletes the registry and whatever cannot exist without it (cases, their events, "
        "patrols, staff records tied to units or regions; region-specific routing rules), keeping the rest."
    )

    # `make run` calls this with --if-empty on every start: answer at once (migrate has run the checks).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALE_HELP), default="district")
        parser.add_argument("--seed", type=int, default=None, help="random seed (default 20260101)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--if-empty", action="store_true", help="do nothing (at once) when the registry holds anything"
        )
        group.add_argument("--replace", action="store_true", help="delete the registry first (see above)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")

    def handle(self, *args, scale, seed, if_empty, replace, no_progress, verbosity, **options):
        if if_empty and District.objects.exists():
            self.stdout.write("演示数据已存在，跳过。The demo registry is already there; nothing to do.")
            return
        empty = registry_is_empty()
        if if_empty and not empty:
            self.stdout.write("数据库中已有网格或单位数据，跳过。The registry is not empty; nothing to do.")
            return
        if not empty and not replace:
            raise CommandError(
                "数据库中已有区划、网格或单位数据；如要重建演示数据请加 --replace（将清空这些数据）。"
                "The registry is not empty: run with --replace to delete it and load the demo again, "
                "or --if-empty to leave it as it is."
            )
        # Heavy imports (numpy, shapely) only when there is work to do.
        from grids.demo import loader

        seed = loader.DEFAULT_SEED if seed is None else seed
        self.stdout.write(
            f"生成演示数据 loading demo: scale={scale}, seed={seed}" + (" (replacing)" if replace else "")
        )
        summary = loader.load(
            scale=scale,
            seed=seed,
            stdout=self.stdout,
            progress=not no_progress and verbosity > 0,
            replace=replace,
        )
        self.stdout.write(self.style.SUCCESS("演示数据已载入 demo loaded:"))
        self.stdout.write("\n".join(summary.lines()))
