"""Import and export of registry layers as GIS files (GeoPackage, Shapefile, GeoJSON, CSV, xlsx).

readers    open a file and yield its rows in batches (pyogrio for GIS formats, csv and openpyxl for tables)
crs        which coordinate system a file is in and how its geometries reach WGS84
geometry   repair and shape checks (polygon, multipolygon) before anything is stored
mapping    the fields of each layer, the column names recognised for them and the conversion of values
staging    a temporary table filled through COPY
importers  the import: stage, refuse, compare, upsert in one transaction
report     what an import did or would do
exporters  layers (and cases) as files, built from SQL, personal data masked

See README.md in this folder for the commands and the mapping file.
"""
