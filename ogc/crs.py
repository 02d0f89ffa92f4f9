"""The coordinate reference systems /ogc/ serves (OGC API – Features Part 2) and their axis order.

Geometry is stored as SRID 4326 with longitude first, which is CRS84 (the storage CRS /ogc/ names). CRS84 is
longitude/latitude; EPSG:4326 and EPSG:4490 (CGCS2000) are latitude/longitude by their EPSG definitions, so answers
and bounding boxes in those CRSs put the latitude first. CGCS2000 differs from WGS84 by centimetres; PostGIS
transforms between them (today an identity).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, lat_first=False)
WGS84 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, lat_first=True)
CGCS2000 = Crs("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, lat_first=True)

SUPPORTED = {crs.uri: crs for crs in (CRS84, WGS84, CGCS2000)}
STORAGE = CRS84  # stored as SRID 4326 with longitude first: no transformation, no axis swap


def content_crs_header(crs: Crs) -> str:
    return f"<{crs.uri}>"
