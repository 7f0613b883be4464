"""Pictures for posts: an upload is checked to be a real JPEG, PNG or WebP within the size and pixel
limits, turned upright, and re-encoded at a few widths with no metadata (no EXIF GPS, no camera serial,
no comments or XMP). Only those renditions are stored, in the public pictures storage; the upload is not kept.
"""

import secrets
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from events.models import Event
from publishing.models import Picture, Post

# Pillow format -> file extension and the encoder's options
FORMATS = {
    "JPEG": ("jpg", {"quality": 85, "progressive": True}),
    "PNG": ("png", {}),
    "WEBP": ("webp", {"quality": 82}),
}
EXTENSIONS = {extension for extension, _ in FORMATS.values()}


class PictureRefused(ValueError):
    """An upload that is not a picture we accept; the message says why, for the person who sent it."""


def pictures_storage():
    return storages["pictures"]


def _megabytes(size: int) -> str:
    return _("%(size)s MB") % {"size": number_format(size / (1024 * 1024), 1)}


def open_checked(upload) -> tuple[Image.Image, str]:
    """The upload decoded, and its format, once it is known to be a JPEG, PNG or WebP within the limits;
    the pixel count is checked from the header first, so a decompression bomb is never expanded."""
    if upload.size > settings.PICTURE_MAX_BYTES:
        raise PictureRefused(
            _("The picture is %(size)s; at most %(limit)s is accepted.")
            % {"size": _megabytes(upload.size), "limit": _megabytes(settings.PICTURE_MAX_BYTES)}
        )
    megapixels = settings.PICTURE_MAX_PIXELS // 1_000_000
    try:
        upload.seek(0)
        image = Image.open(upload, formats=list(FORMATS))
        width, height = image.size
        if width * height > settings.PICTURE_MAX_PIXELS:
            raise PictureRefused(
                _("The picture is %(width)d×%(height)d pixels; at most %(megapixels)d megapixels are accepted.")
                % {"width": width, "height": height, "megapixels": megapixels}
            )
        image.verify()
        # verify() leaves the image unusable: decode it again from the start.
        upload.seek(0)
        image = Image.open(upload, formats=list(FORMATS))
        image.load()
    except PictureRefused:
        raise
    except Image.DecompressionBombError:
        raise PictureRefused(
            _("The picture declares far more than %(megapixels)d megapixels; it is refused.")
            % {"megapixels": megapixels}
        ) from None
    except UnidentifiedImageError:
        raise PictureRefused(_("This file is not a JPEG, PNG or WebP picture.")) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise PictureRefused(_("This picture could not be read (%(error)s).") % {"error": error}) from None
    return image, image.format


def _upright(image: Image.Image, image_format: str) -> Image.Image:
    """Turned as its EXIF orientation says, in a mode its format can store, with no metadata left."""
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG":
        image = image.convert("L" if image.mode == "L" else "RGB")
    else:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    icc_profile = image.info.get("icc_profile")
    image.info = {"icc_profile": icc_profile} if icc_profile else {}
    return image


def rendition_widths(width: int) -> list[int]:
    """The configured widths below the picture's own, and its own (capped at the widest): never upscaled."""
    widest = max(settings.PICTURE_WIDTHS)
    return sorted({w for w in settings.PICTURE_WIDTHS if w < width} | {min(width, widest)})


def save_renditions(upload) -> list[dict]:
    """Each rendition encoded and stored; returns [{"name", "width", "height"}], narrowest first."""
    image, image_format = open_checked(upload)
    try:
        image = _upright(image, image_format)
    except (OSError, ValueError) as error:
        raise PictureRefused(_("This picture could not be read (%(error)s).") % {"error": error}) from None
    extension, options = FORMATS[image_format]
    storage = pictures_storage()
    token = secrets.token_hex(16)
    renditions = []
    for width in rendition_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
        encoded = BytesIO()
        resized.save(encoded, image_format, icc_profile=image.info.get("icc_profile"), **options)
        name = storage.save(f"{token}-{width}w.{extension}", ContentFile(encoded.getvalue()))
        renditions.append({"name": name, "width": width, "height": height})
    return renditions


def add_picture(upload, *, event: Event, alt_text: str, caption: str = "", credit: str = "", user=None, post=None):
    """A picture for the post, or (post None) one waiting for the event's next draft."""
    alt_text = alt_text.strip()
    if not alt_text:
        raise PictureRefused(_("Describe the picture in its alt text: readers who cannot see it need it."))
    renditions = save_renditions(upload)
    largest = renditions[-1]
    try:
        with transaction.atomic():
            if post is not None:
                _drop_picture_of(post)
            picture = Picture.objects.create(
                event=event,
                post=post,
                alt_text=alt_text[:300],
                caption=caption.strip()[:300],
                credit=credit.strip()[:120],
                width=largest["width"],
                height=largest["height"],
                renditions=renditions,
                uploaded_by=user if getattr(user, "pk", None) else None,
            )
            if post is not None:
                post.picture_changed(user)
    except BaseException:
        delete_files(renditions)  # nothing refers to them
        raise
    return picture


def delete_files(renditions: list[dict]) -> None:
    storage = pictures_storage()
    for rendition in renditions:
        storage.delete(rendition["name"])


def picture_deleted_receiver(sender, instance: Picture, **kwargs) -> None:
    """However a picture is deleted (removed, replaced, or with its post or event), its files go once
    that commits: no URL keeps serving what an editor took down. A rollback keeps both."""
    renditions = list(instance.renditions)
    transaction.on_commit(lambda: delete_files(renditions), robust=True)


def _drop_picture_of(post: Post) -> bool:
    """The post's picture deleted (its files with it: picture_deleted_receiver)."""
    deleted, _ = Picture.objects.filter(post=post).delete()
    return deleted > 0


def attach_waiting_picture(picture_id: int, post: Post, user) -> bool:
    """A picture sent from the studio given to this post (replacing its own); False if none is waiting."""
    with transaction.atomic():
        waiting = Picture.objects.waiting(post.event_id).select_for_update().filter(pk=picture_id).first()
        if waiting is None:
            return False
        _drop_picture_of(post)
        waiting.post = post
        waiting.save(update_fields=["post"])
        post.picture_changed(user)
    return True


def remove_picture(post: Post, user) -> bool:
    with transaction.atomic():
        removed = _drop_picture_of(post)
        if removed:
            post.picture_changed(user)
    return removed


def update_picture_text(post: Post, user, *, alt_text: str, caption: str, credit: str) -> bool:
    """The post's picture described anew; False when it has none or nothing changed."""
    alt_text = alt_text.strip()
    if not alt_text:
        raise PictureRefused(_("Describe the picture in its alt text: readers who cannot see it need it."))
    with transaction.atomic():
        changed = (
            Picture.objects.filter(post=post)
            .exclude(alt_text=alt_text[:300], caption=caption.strip()[:300], credit=credit.strip()[:120])
            .update(alt_text=alt_text[:300], caption=caption.strip()[:300], credit=credit.strip()[:120])
        )
        if changed:
            post.picture_changed(user)
    return bool(changed)
