"""Checking and cleaning uploaded photos.

A photo is accepted only if it decodes as JPEG, PNG or WebP within the size limits. The stored copy is
re-encoded from the pixels, turned upright by its EXIF orientation, so no metadata is kept in the file: no EXIF
(camera serial, owner, GPS), no JPEG comment (COM), XMP or ICC profile, no PNG text. The capture time and GPS
position are read first and kept as data, to compare with the report.

The thumbnail is not made here: `make_thumbnail` runs on the task queue's worker after the photo is stored
(mobileapi.services.make_thumbnail).
"""

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = (320, 320)
TOO_LARGE = f"照片超过 {MAX_BYTES // 1024 // 1024} MB。The photo is larger than {MAX_BYTES // 1024 // 1024} MB."
_EXIF_OFFSET = re.compile(r"^([+-])(0\d|1[0-4]):([0-5]\d)$")
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


class PhotoRejected(ValueError):
    """The upload is not a photo this system accepts; the message says why."""


@dataclass(frozen=True)
class CleanPhoto:
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int
    image: bytes
    taken_at: datetime | None
    gps: tuple[float, float] | None  # (lon, lat) in WGS84, as the camera wrote it


def _rational(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _gps_of(exif: Image.Exif) -> tuple[float, float] | None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        lat_dms, lon_dms = gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLongitude]
    except KeyError:
        return None
    lat = sum(_rational(v) / 60**i for i, v in enumerate(lat_dms))
    lon = sum(_rational(v) / 60**i for i, v in enumerate(lon_dms))
    if gps.get(ExifTags.GPS.GPSLatitudeRef, "N") == "S":
        lat = -lat
    if gps.get(ExifTags.GPS.GPSLongitudeRef, "E") == "W":
        lon = -lon
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def _taken_at(exif: Image.Exif) -> datetime | None:
    """The camera's time: with its offset when the camera wrote one (EXIF 2.31 OffsetTimeOriginal, e.g. "+08:00"),
    else naive (the camera's local clock)."""
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if ifd.get(ExifTags.Base.DateTimeOriginal):
        text, offset = ifd[ExifTags.Base.DateTimeOriginal], ifd.get(ExifTags.Base.OffsetTimeOriginal)
    else:
        text, offset = exif.get(ExifTags.Base.DateTime), ifd.get(ExifTags.Base.OffsetTime)
    if not text:
        return None
    try:
        moment = datetime.strptime(str(text).strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    found = _EXIF_OFFSET.match(str(offset or "").strip())
    if found:
        sign, hours, minutes = found.groups()
        size = timedelta(hours=int(hours), minutes=int(minutes))
        moment = moment.replace(tzinfo=timezone(-size if sign == "-" else size))
    return moment


def clean_photo(data: bytes) -> CleanPhoto:
    if not data:
        raise PhotoRejected("文件为空。The file is empty.")
    if len(data) > MAX_BYTES:
        raise PhotoRejected(TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise PhotoRejected("只接受 JPEG、PNG、WebP 照片。Only JPEG, PNG and WebP are accepted.")
        if image.width * image.height > MAX_PIXELS:
            raise PhotoRejected("照片像素过多。The photo has too many pixels.")
        image.load()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoRejected(
            f"文件不是可解码的照片。The file does not decode as a photo ({error.__class__.__name__})."
        ) from None

    content_type, extension = FORMATS[image.format]
    exif = image.getexif()
    taken_at, gps = _taken_at(exif), _gps_of(exif)
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "RGBA", "L"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    # Pillow writes back what it read into `info` (a JPEG's COM text, ICC and XMP blocks, PNG text): only the
    # pixels, already turned upright, go into the stored copy.
    upright.info = {}

    cleaned = io.BytesIO()
    save_format = image.format
    if save_format == "JPEG" and upright.mode == "RGBA":
        upright = upright.convert("RGB")
    upright.save(cleaned, format=save_format, **({"quality": 90} if save_format in ("JPEG", "WEBP") else {}))

    return CleanPhoto(
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
        extension=extension,
        width=upright.width,
        height=upright.height,
        image=cleaned.getvalue(),
        taken_at=taken_at,
        gps=gps,
    )


def make_thumbnail(image: bytes) -> bytes:
    """A JPEG of at most THUMBNAIL_SIZE of a stored (already cleaned and upright) photo."""
    with Image.open(io.BytesIO(image)) as stored:
        stored.thumbnail(THUMBNAIL_SIZE)
        thumbnail = io.BytesIO()
        stored.convert("RGB").save(thumbnail, format="JPEG", quality=80)
    return thumbnail.getvalue()
