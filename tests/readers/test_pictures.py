"""Pictures in posts (issue 15 point 1), through the Django test client: what is accepted and what is
refused, what is stripped, where the renditions are served from, and what readers' formats carry."""

import contextlib
import json
import struct
import zlib
from io import BytesIO
from xml.etree import ElementTree

import pytest
from django.db import transaction
from django.test import Client
from PIL import Image

from publishing.drafting import draft_batch
from publishing.models import Batch, Picture, Post
from publishing.pictures import PictureRefused, add_picture
from tests.support import factories
from tests.support.pictures import SERIAL, jpeg, upload
from tests.support.processes import settings_in_child

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
BODY_SERIAL_NUMBER = 0xA431
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def pictures_storage(settings, tmp_path):
    """This test's own pictures storage and audio archive, side by side as in the embedded default."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "pictures": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media" / "pictures", "base_url": "/media/pictures/"},
        },
    }
    return tmp_path / "media"


def exif_with_gps_and_serial(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "CameraMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.9)})
    exif.get_ifd(EXIF_IFD)[BODY_SERIAL_NUMBER] = SERIAL
    return exif


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares width × height pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def rendition_bytes(client: Client, picture: Picture, index: int = -1) -> bytes:
    response = client.get(picture.url(picture.renditions[index]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_renditions_at_the_configured_widths_never_upscaled(event):
    wide = add_picture(upload(jpeg(2400, 1200)), event=event, alt_text="A wide stage")
    assert [(r["width"], r["height"]) for r in wide.renditions] == [(480, 240), (960, 480), (1600, 800)]
    assert (wide.width, wide.height) == (1600, 800)
    narrow = add_picture(upload(jpeg(700, 350)), event=event, alt_text="A small stage")
    assert [(r["width"], r["height"]) for r in narrow.renditions] == [(480, 240), (700, 350)]
    assert narrow.srcset.endswith("700w") and narrow.srcset.count("w,") == 1


def test_a_jpeg_with_exif_gps_comes_back_without_it_and_upright(event, client):
    # Orientation 6: the camera was turned, so the stored 1200×800 shows as 800×1200.
    sent = jpeg(1200, 800, exif=exif_with_gps_and_serial(orientation=6))
    assert Image.open(BytesIO(sent)).getexif().get_ifd(GPS_IFD)  # the test's own upload does carry GPS
    assert SERIAL.encode() in sent

    picture = add_picture(upload(sent), event=event, alt_text="The speaker")

    assert (picture.width, picture.height) == (800, 1200)
    for index in range(len(picture.renditions)):
        stored = rendition_bytes(client, picture, index)
        image = Image.open(BytesIO(stored))
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(GPS_IFD)
        assert SERIAL.encode() not in stored
        assert b"CameraMaker" not in stored
        assert "comment" not in image.info and "exif" not in image.info
    upright = Image.open(BytesIO(rendition_bytes(client, picture))).convert("RGB")
    # The blue mark was top-left before the quarter turn clockwise: now it is top-right.
    assert upright.getpixel((upright.width - 5, 5))[2] > 150
    assert upright.getpixel((5, 5))[0] > 150


def test_a_decompression_bomb_is_refused_before_it_is_decoded(event):
    bomb = png_declaring(50_000, 50_000)
    assert len(bomb) < 200
    with pytest.raises(PictureRefused, match="megapixels"):
        add_picture(upload(bomb, "bomb.png", "image/png"), event=event, alt_text="Nothing")
    assert not Picture.objects.exists()


def test_a_picture_over_the_pixel_limit_is_refused_with_its_size(event, settings):
    settings.PICTURE_MAX_PIXELS = 1_000_000
    with pytest.raises(PictureRefused, match=r"^The picture is 2000×1000 pixels; at most 1 megapixels are accepted\.$"):
        add_picture(upload(png_declaring(2000, 1000), "big.png", "image/png"), event=event, alt_text="Big")


def test_a_non_image_a_gif_and_a_file_over_the_size_limit_are_refused(event, settings):
    with pytest.raises(PictureRefused, match="not a JPEG, PNG or WebP"):
        add_picture(upload(b"%PDF-1.7 not a picture", "x.jpg"), event=event, alt_text="x")
    gif = BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(PictureRefused, match="not a JPEG, PNG or WebP"):
        add_picture(upload(gif.getvalue(), "x.gif", "image/gif"), event=event, alt_text="x")
    with pytest.raises(PictureRefused, match="could not be read"):
        add_picture(upload(jpeg()[:600]), event=event, alt_text="Truncated")
    settings.PICTURE_MAX_BYTES = 1024
    with pytest.raises(PictureRefused, match="is accepted"):
        add_picture(upload(jpeg()), event=event, alt_text="Too big")
    with pytest.raises(PictureRefused, match="alt text"):
        add_picture(upload(jpeg(100, 100)), event=event, alt_text="   ")
    assert not Picture.objects.exists()


def test_png_and_webp_keep_their_format(event, client):
    for image_format, name in (("PNG", "p.png"), ("WEBP", "w.webp")):
        data = BytesIO()
        Image.new("RGBA", (600, 300), (0, 128, 0, 128)).save(data, image_format)
        picture = add_picture(upload(data.getvalue(), name, "image/" + image_format.lower()), event=event, alt_text="x")
        response = client.get(picture.src)
        assert response["Content-Type"] == "image/" + image_format.lower()
        assert Image.open(BytesIO(b"".join(response.streaming_content))).format == image_format


def test_journalist_upload_from_the_studio_lands_in_the_queue_with_the_next_draft(
    event, journalist, other_journalist, editor
):
    url = f"/studio/{event.slug}/pictures/"
    form = {"alt_text": "The panel on stage", "caption": "Opening panel", "credit": "Jo"}

    # CSRF-protected: a form without the token is refused.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(journalist)
    assert strict.post(url, {**form, "picture": upload(jpeg())}).status_code == 403
    # Only the event's journalists.
    outsider = Client()
    outsider.force_login(other_journalist)
    assert outsider.post(url, {**form, "picture": upload(jpeg())}).status_code == 403
    assert Client().post(url, {**form, "picture": upload(jpeg())}).status_code == 302  # to the login page

    studio = Client()
    studio.force_login(journalist)
    refused = studio.post(url, {**form, "picture": upload(png_declaring(50_000, 50_000), "b.png", "image/png")})
    assert refused.status_code == 400 and "megapixels" in refused.json()["error"]
    no_alt = studio.post(url, {"alt_text": "", "picture": upload(jpeg())})
    assert no_alt.status_code == 400 and "alt text" in no_alt.json()["error"]
    sent = studio.post(url, {**form, "picture": upload(jpeg())})
    assert sent.status_code == 201, sent.content
    picture = Picture.objects.get(pk=sent.json()["id"])
    assert picture.post is None and picture.uploaded_by == journalist

    editors = Client()
    editors.force_login(editor)
    queue = editors.get(f"/admin/publishing/post/queue/{event.pk}/").content.decode()
    assert f'id="waiting-picture-{picture.pk}"' in queue and "The panel on stage" in queue

    session = factories.stream_session(event, journalist)
    factories.segment(session, "The panel opens the conference.")
    batch = Batch.objects.claim_segments(event.pk)
    draft_batch(batch.pk)
    post = Post.objects.get(batch=batch)
    picture.refresh_from_db()
    assert picture.post == post
    queue = editors.get(f"/admin/publishing/post/queue/{event.pk}/").content.decode()
    assert f'id="waiting-picture-{picture.pk}"' not in queue
    assert picture.thumbnail in queue and 'alt="The panel on stage"' in queue


def test_editor_adds_replaces_and_removes_a_picture_from_the_queue(
    event, editor, client, pictures_storage, django_capture_on_commit_callbacks
):
    post = factories.published_post(event, "On stage now.")
    client.force_login(editor)
    queue = f"/admin/publishing/post/queue/{event.pk}/?show=all"
    missing_alt = client.post(queue, {"op": "picture", "post": post.pk, "picture": upload(jpeg())}, follow=True)
    assert "alt text" in missing_alt.content.decode()
    assert not Picture.objects.exists()

    bomb = client.post(
        queue,
        {"op": "picture", "post": post.pk, "alt_text": "x", "picture": upload(png_declaring(50_000, 50_000), "b.png")},
        follow=True,
    )
    assert "megapixels" in bomb.content.decode()

    seq = post.change_seq
    client.post(queue, {"op": "picture", "post": post.pk, "alt_text": "The stage", "picture": upload(jpeg())})
    post.refresh_from_db()
    assert post.picture.alt_text == "The stage" and post.change_seq > seq and post.revision == 2
    first = [pictures_storage / "pictures" / rendition["name"] for rendition in post.picture.renditions]
    assert all(path.exists() for path in first)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(queue, {"op": "picture", "post": post.pk, "alt_text": "Closer", "picture": upload(jpeg(900, 900))})
    post.refresh_from_db()
    assert post.picture.alt_text == "Closer" and post.revision == 3
    assert not any(path.exists() for path in first)  # the replaced picture's files are gone
    with django_capture_on_commit_callbacks(execute=True):
        client.post(queue, {"op": "remove_picture", "post": post.pk})
    assert not Picture.objects.filter(post=post).exists()
    assert not list((pictures_storage / "pictures").iterdir())


def test_editor_adds_a_picture_on_the_post_change_form(event, editor, client):
    post = Post.objects.create(event=event, body="A draft.")
    client.force_login(editor)
    url = f"/admin/publishing/post/{post.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="picture_upload"' in page and 'name="picture_alt_text"' in page
    form = {"headline": "", "body": "A draft.", "key_event": "", "publish_at": "", "based_on_revision": post.revision}
    inline = {"actions-TOTAL_FORMS": "0", "actions-INITIAL_FORMS": "0"}
    refused = client.post(url, {**form, **inline, "picture_upload": upload(jpeg()), "picture_alt_text": ""})
    assert refused.status_code == 200 and "alt text" in refused.content.decode()
    saved = client.post(
        url, {**form, **inline, "picture_upload": upload(jpeg()), "picture_alt_text": "A crowd", "picture_credit": "Ed"}
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Picture.objects.get(post=post).credit == "Ed"


def test_readers_formats_carry_the_picture(event, client):
    post = factories.published_post(event, "Applause.", headline="The stage")
    add_picture(upload(jpeg(2000, 1000)), event=event, post=post, alt_text="A full hall", caption="Day one")
    picture = Picture.objects.get(post=post)

    page = client.get(f"/events/{event.slug}/").content.decode()
    assert f'srcset="{picture.srcset}"' in page
    assert 'width="1600" height="800"' in page and 'alt="A full hall"' in page
    assert 'loading="lazy"' in page and 'decoding="async"' in page and "sizes=" in page
    assert "<figcaption>Day one" in page

    permalink = client.get(post.get_absolute_url()).content.decode()
    assert f'<meta property="og:image" content="http://testserver{picture.src}">' in permalink
    assert '<meta property="og:image:alt" content="A full hall">' in permalink

    jsonld = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    update = json.loads(jsonld)["liveBlogUpdate"][0]
    assert update["image"]["url"] == f"http://testserver{picture.src}" and update["image"]["width"] == 1600

    api = client.get(f"/api/events/{event.slug}.json").json()["posts"][0]["image"]
    assert api["url"] == f"http://testserver{picture.src}"
    assert (api["width"], api["height"], api["alt"]) == (1600, 800, "A full hall")

    feed = ElementTree.fromstring(client.get(f"/events/{event.slug}/feed.atom").content)  # noqa: S314 (our own feed)
    links = feed.findall(".//{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link[@rel='enclosure']")
    assert [(link.get("href"), link.get("type")) for link in links] == [
        (f"http://testserver{picture.src}", "image/jpeg")
    ]

    changes = client.get(f"/events/{event.slug}/posts.json?after=0").json()
    assert f'srcset="{picture.srcset}"' in changes["posts"][0]["html"]


def test_pictures_are_served_and_nothing_under_the_audio_prefix_is(event, client, pictures_storage):
    picture = add_picture(upload(jpeg(500, 250)), event=event, alt_text="x")
    served = client.get(picture.src)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert "public" in served["Cache-Control"]

    audio = pictures_storage / "audio" / "sessions" / "1"
    audio.mkdir(parents=True)
    (audio / "0000000000.flac").write_bytes(b"fLaC private audio")
    secret = pictures_storage / "pictures" / ("a" * 32 + "-480w.jpg.flac")
    secret.write_bytes(b"not a rendition")
    for path in (
        "/media/audio/sessions/1/0000000000.flac",
        "/media/pictures/../audio/sessions/1/0000000000.flac",
        "/media/pictures/%2e%2e/audio/sessions/1/0000000000.flac",
        "/media/pictures/..%2faudio%2fsessions%2f1%2f0000000000.flac",
        "/media/pictures/%2e%2e%2faudio%2fsessions%2f1%2f0000000000.flac",
        "/media/pictures/..%5caudio%5csessions%5c1%5c0000000000.flac",
        "/media/pictures//etc/passwd",
        "/media/pictures/" + "a" * 32 + "-480w.jpg.flac",
        "/media/pictures/" + "a" * 32 + "-480w.jpg%00.flac",
        "/media/pictures/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"private audio" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_img_src_follows_the_pictures_origin_and_a_bad_pictures_url_stops_the_start():
    served_elsewhere = settings_in_child(
        {"PICTURES_URL": "https://pictures.example.net/live/"}, "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']"
    )
    assert served_elsewhere.returncode == 0, served_elsewhere.stderr
    assert "'self'" in served_elsewhere.stdout and "'https://pictures.example.net'" in served_elsewhere.stdout
    local = settings_in_child({}, "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'], s.STORAGES['pictures']")
    assert "[\"'self'\"]" in local.stdout and "pictures" in local.stdout and "/media/pictures/" in local.stdout
    bad = settings_in_child({"PICTURES_URL": "ftp://pictures.example.net/"}, "s.PICTURES_URL")
    assert bad.returncode != 0 and "PICTURES_URL must be a path or an http(s) URL" in bad.stderr


class _Undone(Exception):
    pass


def test_deleting_a_post_or_its_event_takes_its_pictures_files_down(
    event, admin_user, client, pictures_storage, django_capture_on_commit_callbacks
):
    """Files of a deleted picture are gone and its address answers 404, however the row went: a draft
    deleted in the admin, or an event deleted with its posts and a picture still waiting for a draft."""
    post = Post.objects.create(event=event, body="A draft with a picture.")
    post_id = post.pk
    on_post = add_picture(upload(jpeg()), event=event, alt_text="The stage", post=post)
    waiting = add_picture(upload(jpeg(600, 600)), event=event, alt_text="The hall")
    files = {
        picture.pk: [pictures_storage / "pictures" / rendition["name"] for rendition in picture.renditions]
        for picture in (on_post, waiting)
    }
    assert all(path.exists() for paths in files.values() for path in paths)

    with django_capture_on_commit_callbacks() as callbacks, contextlib.suppress(_Undone), transaction.atomic():
        post.delete()
        raise _Undone
    assert not callbacks and all(path.exists() for path in files[on_post.pk]), "a rollback keeps the files"

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.post(f"/admin/publishing/post/{post_id}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not Post.objects.filter(pk=post_id).exists()
    assert not any(path.exists() for path in files[on_post.pk])
    assert client.get(on_post.src).status_code == 404
    assert all(path.exists() for path in files[waiting.pk]), "another picture is not touched"

    with django_capture_on_commit_callbacks(execute=True):
        event.delete()
    assert not Picture.objects.exists()
    assert not list((pictures_storage / "pictures").iterdir())
