"""What an evidence upload has to survive: every file here is made by the test, good ones and bad ones."""

import hashlib
import io
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageCms

from evidence.derivatives import (
    HASH_BANDS,
    NEAR_DUPLICATE_THRESHOLD,
    PREVIEW_MAX_SIDE,
    THUMBNAIL_MAX_SIDE,
    hamming,
    hash_bands,
    is_near_duplicate,
    render_derivatives,
)
from evidence.exif import distance_km
from evidence.imaging import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageRejected,
    PhotoInfo,
    RejectionCode,
    inspect_upload,
    safe_display_name,
)
from tests.evidence.photos import encode, heic, jpeg, make_exif, png_bomb, real_looking_photo

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZHENGZHOU = {"latitude": (34, 45, 30.5), "longitude": (113, 37, 12.0)}  # 34.758472 N, 113.62 E


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    return real_looking_photo(7, (800, 600))


@pytest.fixture(scope="module")
def phone_jpeg(scene) -> bytes:
    return jpeg(scene, exif=make_exif(**ZHENGZHOU))


def inspect(data: bytes, name: str = "photo.jpg", **limits) -> PhotoInfo:
    limits.setdefault("max_bytes", DEFAULT_MAX_BYTES)
    limits.setdefault("max_pixels", DEFAULT_MAX_PIXELS)
    return inspect_upload(io.BytesIO(data), name=name, **limits)


def rejection(data: bytes, name: str = "photo.jpg", **limits) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        inspect(data, name, **limits)
    return caught.value


# --- accepted photos ---------------------------------------------------------------------------


def test_phone_jpeg_is_described_from_its_content_and_exif(phone_jpeg):
    info = inspect(phone_jpeg, name="现场照片.jpg")

    assert info.name == "现场照片.jpg"
    assert (info.format, info.mime_type) == ("JPEG", "image/jpeg")
    assert (info.width, info.height) == (800, 600)
    assert info.size == len(phone_jpeg)
    assert info.sha256 == hashlib.sha256(phone_jpeg).hexdigest()
    assert info.has_exif
    # No OffsetTimeOriginal: the phone's wall clock is Beijing time.
    assert info.taken_at == datetime(2025, 3, 14, 9, 26, 53, tzinfo=SHANGHAI)
    assert info.taken_at.utcoffset() == timedelta(hours=8)
    assert info.latitude == pytest.approx(34 + 45 / 60 + 30.5 / 3600)
    assert info.longitude == pytest.approx(113.62)


def test_exif_offset_wins_over_the_default_zone(scene):
    data = jpeg(scene, exif=make_exif(taken_at="2025:03:14 09:26:53", offset="+05:30"))

    taken_at = inspect(data).taken_at

    assert taken_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert taken_at == datetime(2025, 3, 14, 3, 56, 53, tzinfo=UTC)


def test_southern_and_western_references_give_negative_coordinates(scene):
    exif = make_exif(latitude=(33, 52, 4.0), latitude_ref="S", longitude=(151, 12, 36.0), longitude_ref="W")

    info = inspect(jpeg(scene, exif=exif))

    assert info.latitude == pytest.approx(-(33 + 52 / 60 + 4 / 3600))
    assert info.longitude == pytest.approx(-(151 + 12 / 60 + 36 / 3600))


@pytest.mark.parametrize(
    ("exif", "expected"),
    [
        pytest.param(make_exif(taken_at="0000:00:00 00:00:00"), (None, None, None), id="blank-date"),
        pytest.param(make_exif(taken_at="yesterday"), (None, None, None), id="garbage-date"),
        pytest.param(
            make_exif(taken_at=None, latitude=(0, 0, 0), longitude=(0, 0, 0)), (None, None, None), id="no-fix"
        ),
    ],
)
def test_unusable_exif_values_count_as_absent(scene, exif, expected):
    info = inspect(jpeg(scene, exif=exif))

    assert (info.taken_at, info.latitude, info.longitude) == expected
    assert info.has_exif


@pytest.mark.parametrize(
    ("taken_at", "offset"),
    [
        pytest.param("9999:12:31 23:59:59", "-12:00", id="year-10000-in-utc"),
        pytest.param("0001:01:01 00:00:00", "+14:00", id="year-0-in-utc"),
        pytest.param("0001:01:01 00:00:00", None, id="year-0-in-beijing-time"),
        pytest.param("9999:12:31 23:59:59", None, id="year-9999"),
        pytest.param("1970:01:01 08:00:00", None, id="clock-reset-to-1970"),
        pytest.param("2101:01:01 08:00:00", "+08:00", id="after-2100"),
    ],
)
def test_times_outside_the_plausible_years_count_as_absent(scene, taken_at, offset):
    """A reset or forged camera clock is not a date; one outside what the database driver can read
    back would break every later read of the report."""
    info = inspect(jpeg(scene, exif=make_exif(taken_at=taken_at, offset=offset, **ZHENGZHOU)))

    assert info.taken_at is None
    assert info.has_exif  # the EXIF is there, only its time is unusable
    assert info.latitude == pytest.approx(34 + 45 / 60 + 30.5 / 3600)


@pytest.mark.parametrize(
    ("taken_at", "offset", "utc"),
    [
        ("1990:01:01 08:00:00", None, datetime(1990, 1, 1, 0, 0, tzinfo=UTC)),
        ("2100:12:31 23:59:59", "-12:00", None),  # 2101 in UTC
        ("2100:12:31 23:59:59", "+08:00", datetime(2100, 12, 31, 15, 59, 59, tzinfo=UTC)),
    ],
)
def test_the_plausible_years_are_judged_in_utc(scene, taken_at, offset, utc):
    info = inspect(jpeg(scene, exif=make_exif(taken_at=taken_at, offset=offset)))

    assert info.taken_at == utc


def test_photo_without_exif(scene):
    info = inspect(jpeg(scene))

    assert (info.has_exif, info.taken_at, info.latitude, info.longitude) == (False, None, None, None)


def test_orientation_tag_swaps_the_reported_size(scene):
    info = inspect(jpeg(scene, exif=make_exif(orientation=6)))

    assert (info.width, info.height) == (600, 800)


@pytest.mark.parametrize(
    ("encoder", "expected_format", "mime_type"),
    [
        pytest.param(lambda im: encode(im, "PNG"), "PNG", "image/png", id="png"),
        pytest.param(lambda im: encode(im, "WEBP", quality=80), "WEBP", "image/webp", id="webp"),
        pytest.param(
            lambda im: encode(im, "MPO", save_all=True, append_images=[im.resize((400, 300))]),
            "JPEG",
            "image/jpeg",
            id="multi-picture-jpeg",
        ),
    ],
)
def test_other_allowed_formats(scene, encoder, expected_format, mime_type):
    info = inspect(encoder(scene), name="photo.jpg")  # the name says JPEG; the content decides

    assert (info.format, info.mime_type, info.width, info.height) == (expected_format, mime_type, 800, 600)


def test_heic_from_an_iphone_keeps_time_and_place(scene):
    data = heic(scene, exif=make_exif(**ZHENGZHOU))

    info = inspect(data, name="IMG_0001.HEIC")

    assert (info.format, info.mime_type, info.width, info.height) == ("HEIF", "image/heic", 800, 600)
    assert info.taken_at == datetime(2025, 3, 14, 9, 26, 53, tzinfo=SHANGHAI)
    assert info.latitude == pytest.approx(34.758472, abs=1e-6)


def test_heic_rotation_is_applied_once(scene):
    # libheif applies the rotation itself and pillow_heif resets the EXIF tag; turning again would tip it over.
    data = heic(scene, exif=make_exif(orientation=6))

    info = inspect(data, name="IMG_0002.HEIC")
    result = render_derivatives(io.BytesIO(data))

    assert (info.width, info.height) == (600, 800)
    assert result.preview_size == (600, 800)


def test_django_uploaded_file_is_accepted(phone_jpeg):
    upload = SimpleUploadedFile("photo.jpg", phone_jpeg, content_type="text/html")

    info = inspect_upload(
        upload, name=upload.name, max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS
    )

    assert info.mime_type == "image/jpeg"
    assert info.sha256 == hashlib.sha256(phone_jpeg).hexdigest()
    assert upload.tell() == 0  # ready to be stored


# --- rejected files ----------------------------------------------------------------------------


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupt_scan(data: bytes) -> bytes:
    return data[:2000] + bytes(range(256)) * 20 + data[2000 + 5120 :]


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>'
)
HTML_WITH_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n<html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("name", "build", "code"),
    [
        pytest.param("empty.jpg", lambda im: b"", RejectionCode.EMPTY, id="zero-bytes"),
        pytest.param(
            "notes.jpg",
            lambda im: b"meeting minutes, not a photo\n" * 50,
            RejectionCode.NOT_AN_IMAGE,
            id="text",
        ),
        pytest.param(
            "random.jpg", lambda im: random.Random(1).randbytes(4096), RejectionCode.NOT_AN_IMAGE, id="noise"
        ),
        pytest.param(
            "page.png", lambda im: HTML_WITH_PNG_SIGNATURE, RejectionCode.NOT_AN_IMAGE, id="html-png-header"
        ),
        pytest.param(
            "logo.svg", lambda im: SVG_WITH_SCRIPT, RejectionCode.UNSUPPORTED_FORMAT, id="svg-script"
        ),
        pytest.param(
            "logo.jpg", lambda im: SVG_WITH_SCRIPT, RejectionCode.UNSUPPORTED_FORMAT, id="svg-named-jpg"
        ),
        pytest.param("anim.gif", lambda im: encode(im, "GIF"), RejectionCode.UNSUPPORTED_FORMAT, id="gif"),
        pytest.param("scan.jpg", lambda im: encode(im, "TIFF"), RejectionCode.UNSUPPORTED_FORMAT, id="tiff"),
        pytest.param(
            "cut.jpg", lambda im: _truncated(jpeg(im)), RejectionCode.TRUNCATED, id="truncated-jpeg"
        ),
        pytest.param(
            "cut.jpg",
            lambda im: _truncated(jpeg(im, progressive=True)),
            RejectionCode.TRUNCATED,
            id="truncated-progressive",
        ),
        pytest.param(
            "cut.jpg", lambda im: jpeg(im)[:-2], RejectionCode.TRUNCATED, id="jpeg-without-end-marker"
        ),
        pytest.param(
            "cut.png", lambda im: _truncated(encode(im, "PNG")), RejectionCode.TRUNCATED, id="truncated-png"
        ),
        pytest.param(
            "cut.webp",
            lambda im: _truncated(encode(im, "WEBP")),
            RejectionCode.TRUNCATED,
            id="truncated-webp",
        ),
        pytest.param(
            "cut.heic", lambda im: _truncated(heic(im)), RejectionCode.TRUNCATED, id="truncated-heic"
        ),
        pytest.param(
            "bad.jpg", lambda im: _corrupt_scan(jpeg(im)), RejectionCode.CORRUPT, id="garbage-in-scan"
        ),
    ],
)
def test_bad_files_are_refused_with_a_reason_naming_the_file(scene, name, build, code):
    error = rejection(build(scene), name=name)

    assert error.code == code
    assert error.message.startswith(f"{name}: ")
    assert error.status_code == 400


def test_too_large_is_refused_before_decoding(phone_jpeg):
    error = rejection(phone_jpeg, name="photo.jpg", max_bytes=20 * 1024)

    assert error.code == RejectionCode.TOO_LARGE
    assert error.message == "photo.jpg: the file is larger than 0.0195 MB."
    assert error.status_code == 413


def test_too_large_uses_the_declared_upload_size_without_reading(phone_jpeg):
    upload = SimpleUploadedFile("photo.jpg", phone_jpeg)
    upload.size = 21 * 1024 * 1024

    with pytest.raises(ImageRejected) as caught:
        inspect_upload(upload, name="photo.jpg", max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS)

    assert caught.value.message == "photo.jpg: the file is larger than 20 MB."
    assert upload.tell() == 0


def test_path_in_the_file_name_is_not_shown():
    error = rejection(b"", name="../../etc/passwd.jpg")

    assert error.message == "passwd.jpg: the file is empty."


@pytest.fixture(scope="module")
def huge_png_bomb() -> bytes:
    return png_bomb(30000, 30000)  # 900 megapixels, ~110 KB


def test_decompression_bomb_is_refused_from_the_header(huge_png_bomb):
    assert len(huge_png_bomb) < 200_000

    error = rejection(huge_png_bomb, name="bomb.png")

    assert error.code == RejectionCode.TOO_MANY_PIXELS
    assert error.message.startswith("bomb.png: ")


def test_pixel_limit_below_pillows_own_guard():
    # 80 MP: under Pillow's process-wide limit (~89 MP warns, ~179 MP raises), over ours.
    data = png_bomb(10000, 8000)

    error = rejection(data, name="big.png", max_pixels=50_000_000)

    assert error.code == RejectionCode.TOO_MANY_PIXELS
    assert error.message == "big.png: the image is 10000 × 8000 pixels, more than 50 megapixels."


def test_webp_over_its_decoding_budget_is_refused_from_the_header():
    """libwebp needs about 17 bytes per pixel whatever we do: a 24 MP WebP (a few KB when flat) would
    cost over 400 MB to decode, so WebP stops at 300 MiB / 18 (17.5 MP), before decoding."""
    data = encode(Image.new("RGB", (6000, 4000), (90, 120, 60)), "WEBP", lossless=True)

    error = rejection(data, name="big.webp")

    assert error.code == RejectionCode.TOO_MANY_PIXELS
    assert error.message == (
        "big.webp: a WEBP photo may have at most 17.5 megapixels (this one is 6000 × 4000); send it as a JPEG."
    )


def test_pixel_limit_applies_to_ordinary_photos(phone_jpeg):
    error = rejection(phone_jpeg, max_pixels=400_000)

    assert error.code == RejectionCode.TOO_MANY_PIXELS


def test_rejection_is_an_application_error_for_the_api_handler():
    from common.exceptions import ApplicationError

    error = rejection(b"")

    assert isinstance(error, ApplicationError)
    assert str(error) == error.message


# --- display names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\worker\\Desktop\\现场.jpg", "现场.jpg"),
        ("/tmp/x/../photo.png", "photo.png"),
        ("bad\x00na\nme\x1b[31m.jpg", "badname[31m.jpg"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # right-to-left override would show "photoexe.jpg"
        ("  spaced   out .jpg ", "spaced out .jpg"),
        ("社区活动照片.heic", "社区活动照片.heic"),
    ],
)
def test_safe_display_name(raw, shown):
    assert safe_display_name(raw) == shown


@pytest.mark.parametrize("raw", ["", "..", ".", "../", "\x00\x01", None])
def test_safe_display_name_of_nothing(raw):
    assert safe_display_name(raw) == "unnamed photo"


def test_long_names_are_cut_to_100_characters_keeping_the_extension():
    shown = safe_display_name("活" * 300 + ".jpeg")

    assert len(shown) == 100
    assert shown.endswith("…" + ".jpeg")
    assert len(safe_display_name("x" * 300)) == 100


# --- derivatives -------------------------------------------------------------------------------


def _upright_marker() -> Image.Image:
    """Landscape 800x600 with a red top-left corner, so orientation mistakes are visible in pixels."""
    im = Image.new("RGB", (800, 600), (40, 90, 160))
    im.paste((220, 20, 20), (0, 0, 200, 150))
    return im


def _stored_for_orientation_6(upright: Image.Image) -> Image.Image:
    """What a phone held upright writes with Orientation=6: the pixels turned 90° anticlockwise."""
    return upright.transpose(Image.Transpose.ROTATE_90)


def _red(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return r > 180 and g < 80 and b < 80


def test_rotated_phone_photo_comes_out_upright_and_without_metadata():
    upright_portrait = _upright_marker().transpose(Image.Transpose.ROTATE_270)  # 600x800, red top-right
    stored = _stored_for_orientation_6(upright_portrait)  # 800x600 on disk
    exif = make_exif(orientation=6, **ZHENGZHOU)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>34,45.5N</exif:GPSLatitude></x:xmpmeta>'
    data = jpeg(stored, exif=exif, xmp=xmp, comment=b"GPS 34.758 113.62")
    assert inspect(data).latitude is not None  # the original does carry the position

    result = render_derivatives(io.BytesIO(data))

    assert result.preview_size == (600, 800)
    assert result.thumbnail_size == (240, 320)
    for blob, size in ((result.preview, result.preview_size), (result.thumbnail, result.thumbnail_size)):
        out = Image.open(io.BytesIO(blob))
        assert (out.format, out.mode, out.size) == ("JPEG", "RGB", size)
        assert out.info.get("progressive")
        assert not out.getexif()
        assert not out.getexif().get_ifd(0x8825)
        assert "exif" not in out.info
        assert "xmp" not in out.info
        assert "comment" not in out.info
        assert "icc_profile" not in out.info
        assert b"Exif\x00\x00" not in blob
        assert b"GPS" not in blob
        assert b"ns.adobe.com/xap" not in blob
        assert _red(out.convert("RGB").getpixel((out.width - 5, 5)))
        assert not _red(out.convert("RGB").getpixel((5, 5)))


def test_twelve_megapixel_photo_gets_both_sizes():
    data = jpeg(real_looking_photo(3, (4000, 3000)), exif=make_exif(**ZHENGZHOU))

    result = render_derivatives(io.BytesIO(data))

    assert result.preview_size == (PREVIEW_MAX_SIDE, 960)
    assert result.thumbnail_size == (THUMBNAIL_MAX_SIDE, 240)
    assert len(result.preview) < len(data) // 5


def test_small_photos_are_never_upscaled():
    small = real_looking_photo(4, (300, 200))

    result = render_derivatives(io.BytesIO(encode(small, "PNG")))

    assert result.preview_size == (300, 200)
    assert result.thumbnail_size == (300, 200)


def test_transparent_png_is_flattened_onto_white():
    im = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    im.paste((0, 128, 0, 255), (100, 100, 300, 200))

    result = render_derivatives(io.BytesIO(encode(im, "PNG")))

    out = Image.open(io.BytesIO(result.preview)).convert("RGB")
    assert min(out.getpixel((5, 5))) > 245
    assert out.getpixel((200, 150))[1] > 100


def test_cmyk_jpeg_and_icc_tagged_sources_become_plain_rgb(scene):
    cmyk = jpeg(scene.convert("CMYK"))
    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = jpeg(scene, icc_profile=srgb_icc)

    for data in (cmyk, tagged):
        out = Image.open(io.BytesIO(render_derivatives(io.BytesIO(data)).preview))
        assert out.mode == "RGB"
        assert "icc_profile" not in out.info


@pytest.mark.parametrize(
    "encoder",
    [
        pytest.param(lambda im: encode(im, "WEBP", quality=85), id="webp"),
        pytest.param(lambda im: heic(im), id="heic"),
    ],
)
def test_derivatives_from_other_formats(scene, encoder):
    result = render_derivatives(io.BytesIO(encoder(scene)))

    assert result.preview_size == (800, 600)
    assert Image.open(io.BytesIO(result.thumbnail)).size == (320, 240)


def test_derivatives_refuse_what_inspection_refuses(scene):
    with pytest.raises(ImageRejected) as caught:
        render_derivatives(io.BytesIO(_truncated(jpeg(scene))))

    assert caught.value.code == RejectionCode.TRUNCATED


def test_same_photo_same_hash_in_bigint_range(phone_jpeg):
    first = render_derivatives(io.BytesIO(phone_jpeg)).phash
    second = render_derivatives(io.BytesIO(phone_jpeg)).phash

    assert first == second
    assert -(2**63) <= first < 2**63


# --- hashing helpers ---------------------------------------------------------------------------


def test_hamming_treats_signed_values_as_64_bits():
    assert hamming(0, 0) == 0
    assert hamming(-1, 0) == 64
    assert hamming(-(2**63), 0) == 1
    assert hamming(0b1011, 0b0001) == 2


def test_threshold_and_bands_follow_the_pigeonhole_rule():
    assert HASH_BANDS == NEAR_DUPLICATE_THRESHOLD + 1
    assert 64 % HASH_BANDS == 0


def test_hash_bands_split_the_unsigned_value_most_significant_first():
    value = -0x0123456789ABCDEF  # any signed 64-bit value
    unsigned = value & (2**64 - 1)

    bands = hash_bands(value)
    width = 64 // HASH_BANDS

    assert len(bands) == HASH_BANDS
    assert all(0 <= band < 2**width for band in bands)
    assert sum(band << (64 - width * (index + 1)) for index, band in enumerate(bands)) == unsigned
    assert hash_bands(0x0001_0002_0003_0004, bands=4) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="divide 64"):
        hash_bands(value, bands=5)


def test_near_duplicates_always_share_a_band():
    rng = random.Random(20250314)
    for _ in range(2000):
        a = rng.getrandbits(64) - 2**63
        flips = rng.sample(range(64), rng.randint(0, NEAR_DUPLICATE_THRESHOLD))
        b = a
        for bit in flips:
            b ^= 1 << bit
        b = (b + 2**63) % 2**64 - 2**63  # back to signed

        assert is_near_duplicate(a, b)
        assert set(enumerate(hash_bands(a))) & set(enumerate(hash_bands(b)))


def test_distance_km():
    zhengzhou, beijing = (34.7466, 113.6254), (39.9042, 116.4074)

    assert distance_km(*zhengzhou, *zhengzhou) == 0
    assert distance_km(*zhengzhou, *beijing) == pytest.approx(621, abs=5)
    assert distance_km(0, 0, 0, 180) == pytest.approx(20015, abs=1)
    # 0.001° of latitude is about 111 m anywhere.
    assert distance_km(34.0, 113.0, 34.001, 113.0) * 1000 == pytest.approx(111.2, abs=0.5)
