"""manage.py import_layer LAYER FILE — a registry layer from a GIS file or a spreadsheet (dry run unless --commit).

See grids/gisio/README.md for formats, CRS, the mapping file and what is refused.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from grids.gisio.importers import DEFAULT_BATCH, ImportFailure, ImportOptions, LayerImport
from grids.gisio.mapping import LAYERS, MappingError, parse_map_options

MAPPING_KEYS = {"fields", "crs", "encoding", "source_layer", "layer"}


def read_mapping_file(path: str) -> dict:
    """A JSON or YAML mapping file: {"fields": {field: column}, "crs": …, "encoding": …, "source_layer": …}.

    A file holding only {field: column} pairs is read as the fields.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"cannot read the mapping file: {error}") from error
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ValueError as error:  # json.JSONDecodeError and yaml.YAMLError are ValueErrors or carry a message
        raise CommandError(f"{file.name} is not valid {file.suffix.lstrip('.').upper() or 'JSON'}: {error}") from error
    except Exception as error:
        raise CommandError(f"{file.name} cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise CommandError(f"{file.name} must hold a mapping of field names to columns")
    if not set(data) & MAPPING_KEYS:
        data = {"fields": data}
    unknown = set(data) - MAPPING_KEYS
    if unknown:
        raise CommandError(
            f"{file.name}: unknown keys {', '.join(sorted(unknown))}; use {', '.join(sorted(MAPPING_KEYS))}"
        )
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise CommandError(f"{file.name}: `fields` must map field names to column names")
    data["fields"] = {str(k): str(v) for k, v in fields.items()}
    return data


class Command(BaseCommand):
    help = (
        "Import a registry layer from GeoPackage, Shapefile (or a .zip of one), GeoJSON, CSV or xlsx. "
        "A dry run that prints what would change, unless --commit. Rows are matched by code (households by "
        "building code + unit/floor/room, persons by ID number). Exits with status 1 when rows are refused "
        "(the commit then writes nothing unless --skip-refused)."
    )
    # A data import needs no system checks; they load the whole URL configuration (~0.4 s before any row).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("layer", choices=list(LAYERS))
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true", help="write (in one transaction); default: dry run")
        parser.add_argument(
            "--map",
            action="append",
            metavar="FIELD=COLUMN",
            help="take FIELD from COLUMN (repeat); for CSV/xlsx also geometry=WKT_COLUMN, lon=COLUMN, lat=COLUMN",
        )
        parser.add_argument("--mapping", metavar="FILE", help="a JSON or YAML mapping file (see grids/gisio/README.md)")
        parser.add_argument(
            "--crs", help="the file's CRS: EPSG:4326, EPSG:4490, EPSG:4543 (or other CGCS2000 zones), gcj02"
        )
        parser.add_argument("--encoding", help="text encoding of a Shapefile's .dbf or a CSV (e.g. GBK, UTF-8)")
        parser.add_argument("--source-layer", help="layer of a GeoPackage, sheet of a workbook, file in a .zip")
        parser.add_argument("--skip-refused", action="store_true", help="commit the good rows even if some are refused")
        parser.add_argument("--no-repair", action="store_true", help="refuse invalid geometries instead of repairing")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--show", type=int, default=20, help="how many refused/changed rows to list")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, layer, file, **options):
        config = read_mapping_file(options["mapping"]) if options["mapping"] else {"fields": {}}
        if config.get("layer") and config["layer"] != layer:
            raise CommandError(f"the mapping file is for {config['layer']}, not {layer}")
        try:
            fields = {**config["fields"], **parse_map_options(options["map"])}
        except MappingError as error:
            raise CommandError(str(error)) from error
        import_options = ImportOptions(
            mapping=fields,
            source_layer=options["source_layer"] or config.get("source_layer"),
            encoding=options["encoding"] or config.get("encoding"),
            crs=options["crs"] or config.get("crs"),
            commit=options["commit"],
            skip_refused=options["skip_refused"],
            repair=not options["no_repair"],
            batch_size=max(1, options["batch_size"]),
        )
        try:
            job = LayerImport(layer, file, import_options)
            stream = getattr(self.stderr, "_out", sys.stderr)
            with tqdm(
                total=job.count, unit=" rows", desc=layer, file=stream, disable=options["no_progress"], leave=False
            ) as bar:
                report = job.run(on_progress=bar.update)
        except ImportFailure as error:
            raise CommandError(str(error)) from error
        self.stdout.write("\n".join(report.lines(show=options["show"])))
        if report.blocked:
            raise CommandError(f"{report.refused} row(s) refused; see the list above")
