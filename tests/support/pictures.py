"""Pictures as a camera or a browser sends them."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

SERIAL = "SERIAL-4242-XYZ"  # in every JPEG's comment, which a stored picture must not keep


def jpeg(width: int = 1200, height: int = 800, *, exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, width // 2, height // 4))  # a mark in the top-left corner
    out = BytesIO()
    image.save(out, "JPEG", exif=exif or Image.Exif(), comment=b"camera comment " + SERIAL.encode())
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
