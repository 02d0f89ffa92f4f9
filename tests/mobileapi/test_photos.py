"""Photos are checked by decoding, kept once per content, stripped of EXIF, with camera GPS and time kept as data."""

import io

import pytest
from PIL import ExifTags, Image, ImageCms

from mobileapi import photos
from mobileapi.models import Photo
from mobileapi.services import store_photo
from tests.factories import UserFactory


def dms(value: float):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 3)
    return (float(degrees), float(minutes), seconds)


def camera_jpeg(lon=101.6123, lat=26.5871, when="2026:11:02 09:15:00", size=(800, 600), offset=None) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.BodySerialNumber] = "SERIAL-123456"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = when
    if offset:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(lon)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_camera_position_and_time_are_read_and_the_stored_copy_has_no_exif():
    cleaned = photos.clean_photo(camera_jpeg())
    assert cleaned.gps == pytest.approx((101.6123, 26.5871), abs=1e-5)
    assert cleaned.taken_at.isoformat() == "2026-11-02T09:15:00"
    stored = Image.open(io.BytesIO(cleaned.image))
    assert dict(stored.getexif()) == {}
    assert b"SERIAL-123456" not in cleaned.image
    assert Image.open(io.BytesIO(photos.make_thumbnail(cleaned.image))).size == (320, 240)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "offset, stored",
    [
        (None, "2026-11-02T09:15:00.000+08:00"),  # a camera clock without its offset keeps local time
        ("+08:00", "2026-11-02T09:15:00.000+08:00"),
        ("-05:00", "2026-11-02T22:15:00.000+08:00"),  # a phone still on New York time
    ],
)
def test_the_capture_time_is_read_with_the_offset_the_camera_wrote(offset, stored):
    from gridmgmt.times import rfc3339

    photo, _ = store_photo(data=camera_jpeg(offset=offset), uploader=UserFactory())
    photo.refresh_from_db()
    assert rfc3339(photo.taken_at) == stored


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40), "white").save(buffer, format=fmt)
    cleaned = photos.clean_photo(buffer.getvalue())
    assert (cleaned.width, cleaned.height) == (50, 40) and cleaned.gps is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\x00" * 100,
        b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10,
        b"%PDF-1.4 pretending",
        camera_jpeg()[:2000],  # cut short in transfer
    ],
)
def test_fakes_and_broken_files_are_rejected(data):
    with pytest.raises(photos.PhotoRejected):
        photos.clean_photo(data)


def test_gif_is_rejected_even_though_it_decodes():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(photos.PhotoRejected, match="JPEG"):
        photos.clean_photo(buffer.getvalue())


def test_oversize_is_rejected_before_decoding():
    with pytest.raises(photos.PhotoRejected, match="10 MB"):
        photos.clean_photo(b"\xff" * (photos.MAX_BYTES + 1))


@pytest.mark.django_db
def test_the_same_photo_is_stored_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = UserFactory()
    data = camera_jpeg()
    first, created = store_photo(data=data, uploader=user)
    again, created_again = store_photo(data=data, uploader=user)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk and Photo.objects.count() == 1
    assert first.gps.x == pytest.approx(101.6123, abs=1e-5)
    with first.image.open("rb") as stored:
        assert b"SERIAL-123456" not in stored.read()


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to its image data (0xFE comment, 0xE1 EXIF/XMP, 0xE2 ICC …)."""
    markers, position = [], 2
    while position < len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return markers


def test_comment_xmp_and_icc_do_not_survive_the_re_encoding():
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">OWNER-ZHANG-SAN-13912345678</x:xmpmeta>'
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", comment=b"OWNER-ZHANG-SAN 510403199001011234", icc_profile=icc, xmp=xmp)
    original = buffer.getvalue()
    assert {0xFE, 0xE1, 0xE2} <= set(jpeg_segments(original))

    cleaned = photos.clean_photo(original).image
    assert not {0xFE, 0xE1, 0xE2} & set(jpeg_segments(cleaned))
    for secret in (b"OWNER-ZHANG-SAN", b"510403199001011234", b"13912345678", icc[:64]):
        assert secret not in cleaned
    stored = Image.open(io.BytesIO(cleaned))
    assert "comment" not in stored.info and "icc_profile" not in stored.info and "xmp" not in stored.info


def test_png_text_and_icc_do_not_survive_the_re_encoding():
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "OWNER-ZHANG-SAN")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, format="PNG", pnginfo=text, icc_profile=icc)
    cleaned = photos.clean_photo(buffer.getvalue()).image
    assert b"OWNER-ZHANG-SAN" not in cleaned and b"iCCP" not in cleaned and b"tEXt" not in cleaned


def test_orientation_is_applied_to_the_pixels_before_the_metadata_goes():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: show rotated 90° clockwise
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), "red").save(buffer, format="JPEG", exif=exif, comment=b"turned")
    cleaned = photos.clean_photo(buffer.getvalue())
    assert (cleaned.width, cleaned.height) == (40, 80)
    assert b"turned" not in cleaned.image and 0xE1 not in jpeg_segments(cleaned.image)
