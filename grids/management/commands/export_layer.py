"""manage.py export_layer LAYER --format gpkg|geojson|csv|xlsx -o FILE [--street CODE …] — personal data masked."""

from django.core.management.base import BaseCommand, CommandError

from grids.gisio.exporters import FORMATS, ExportError, available_layers, export_layer

FILTERS = ("district", "street", "community", "grid", "type", "state", "category", "level", "since", "until")


class Command(BaseCommand):
    help = (
        "Export a layer to GeoPackage, GeoJSON, CSV or xlsx, optionally filtered by region. ID numbers and "
        "phones are exported masked only."
    )

    def add_arguments(self, parser):
        parser.add_argument("layer", choices=[*available_layers(), "cases"])
        parser.add_argument("--format", "-f", choices=FORMATS, help="default: from the output file's suffix")
        parser.add_argument("--output", "-o", required=True, help="file to write")
        parser.add_argument("--district", help="district code")
        parser.add_argument("--street", help="street code")
        parser.add_argument("--community", help="community code")
        parser.add_argument("--grid", help="grid code")
        parser.add_argument("--type", help="units: unit type (community, street_office, police_station …)")
        parser.add_argument("--state", help="cases: state")
        parser.add_argument("--category", help="cases: category code")
        parser.add_argument("--level", help="cases: level 1–4")
        parser.add_argument("--since", help="cases: reported on or after this date (YYYY-MM-DD)")
        parser.add_argument("--until", help="cases: reported before this date (YYYY-MM-DD)")

    def handle(self, *args, layer, output, **options):
        fmt = options["format"] or output.rsplit(".", 1)[-1].lower()
        if fmt not in FORMATS:
            raise CommandError(f"cannot tell the format from {output!r}; pass --format {'|'.join(FORMATS)}")
        filters = {name: options[name] for name in FILTERS if options.get(name)}
        try:
            result = export_layer(layer=layer, fmt=fmt, path=output, filters=filters)
        except ExportError as error:
            raise CommandError(str(error)) from error
        for warning in result.warnings:
            self.stderr.write(warning)
        counts = ", ".join(f"{count} {name}" for name, count in result.counts.items())
        self.stdout.write(f"Wrote {counts} to {output} ({fmt}).")
