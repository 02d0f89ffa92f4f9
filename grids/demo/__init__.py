"""The demo registry behind `manage.py seed_demo`.

plans       what each scale loads; 西区 street seeds, community names and settled valleys by hand
geometry    exact partitions (Voronoi, straight cuts) of lon/lat polygons, k-means, the metric frame
geography   streets, communities, police precincts; building blocks per community; grids by bisection
buildings   the kinds of block (works estate, towers, old town, self-built, village, public, industrial)
people      households and people: names, ages, sexes, GB 11643 ID numbers, phones, care tags
names       word lists (surnames with frequencies, given-name characters, roads, county codes)
units       command centre, departments, street offices, community committees, police stations
accounts    the demo accounts
loader      writing it all in one transaction: ORM for regions and units, COPY for the rest
"""
