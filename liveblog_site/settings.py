"""Settings for liveblog, all read from the environment (see .env.example).

Nothing set: the embedded default (SQLite, filesystem Celery broker, in-process channel layer,
offline speech recognizer and drafter). REDIS_URL and DATABASE_URL: the scale-out topology.
"""

import json
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from liveblog_site.datadir import BASE_DIR, VAPID_KEY_FILE_NAME, data_dir, read_secret_key
from liveblog_site.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

# Named here, made by `python -m liveblog_site.datadir` (see liveblog_site.datadir): importing the
# settings creates no folder and writes no file.
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if not DEBUG and (len(key) < 50 or key.startswith("django-insecure")):
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters")
        return key
    # Nothing set: the installation's own random key, kept beside the data, never a constant.
    return read_secret_key(DATA_DIR)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.syndication",
    "channels",
    "events",
    "transcription",
    "publishing",
    "readers",
    "newsroom",
    "axes",
]

# Readers' pages (readers.middleware.reader_page) are answered before the session, CSRF, auth and
# messages middleware they do not use; the middleware above them still applies.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "liveblog_site.security.ContentSecurityPolicyMiddleware",
    "readers.middleware.ReaderPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "liveblog_site.i18n.LanguageMiddleware",  # the person's language, then the cookie's, then the browser's
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "liveblog_site.urls"
ASGI_APPLICATION = "liveblog_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "liveblog_site.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", "", schemes=("postgres", "postgresql", "sqlite"))
SQLITE_PATH = Path(env_str("SQLITE_PATH") or DATA_DIR / "liveblog.sqlite3")
if DATABASE_URL.startswith("sqlite:"):
    # The same file database as the default, with its locking settings, at the URL's path.
    SQLITE_PATH = Path(dj_database_url.parse(DATABASE_URL)["NAME"])
if DATABASE_URL and not DATABASE_URL.startswith("sqlite:"):
    # A pool per process (psycopg_pool, through Django): under Daphne each request has a thread of its own, so
    # connections kept per thread would pile up, and a new one per request makes PostgreSQL fork a backend each
    # time (a newsroom going live at once). Long-lived threads (the relay's writer, the readers' Hub) keep theirs.
    # CONN_HEALTH_CHECKS: the pool checks a connection before handing it out, so one the server dropped
    # (a restart) is replaced, never given to a request.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=0),
        "max_size": env_int("DATABASE_POOL_MAX", 20, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN
            # so two processes never deadlock upgrading a read lock; the timeout waits for it.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
            # Kept per thread: a socket's database call does not pay for a new connection each time.
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, broker, cache ----------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # One process's sockets share this layer; other processes' changes reach them through the
    # database cursor (readers.live polls it), so no server is needed.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The default 1 s poll lets a 0.5 s beat outrun a worker; 0.1 s keeps the queue short.
        "polling_interval": 0.1,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
BATCH_TICK_SECONDS = env_float("BATCH_TICK_SECONDS", 5.0, minimum=0.2)

# --- Speech (Deepgram or offline) -----------------------------------------------------------
DEEPGRAM_API_KEY = env_str("DEEPGRAM_API_KEY")
DEEPGRAM_URL = env_url("DEEPGRAM_URL", "wss://api.deepgram.com/v1/listen", schemes=("ws", "wss"))
DEEPGRAM_MODEL = env_str("DEEPGRAM_MODEL", "nova-3")
SPEECH_BACKEND = env_str("SPEECH_BACKEND") or (
    "transcription.speech.deepgram.DeepgramBackend"
    if DEEPGRAM_API_KEY
    else "transcription.speech.offline.OfflineBackend"
)
STUDIO_MAX_FRAME_BYTES = env_int("STUDIO_MAX_FRAME_BYTES", 64 * 1024, minimum=3200)
# A studio message over this is refused by the WebSocket layer (1009) before it is read. The room
# above the frame limit lets a frame only slightly too large get the studio's explained error (4004).
STUDIO_MAX_MESSAGE_BYTES = STUDIO_MAX_FRAME_BYTES + 4096
STUDIO_OFFLINE_BUFFER_SECONDS = env_int("STUDIO_OFFLINE_BUFFER_SECONDS", 60, minimum=1)
# Most stream time a resuming client may claim was lost in flight beyond what the server holds.
STUDIO_RESUME_MAX_GAP_SECONDS = env_int("STUDIO_RESUME_MAX_GAP_SECONDS", 300, minimum=10)
# Stream time of finals a relay holds while the database is away; past it the stream stops (4504).
STUDIO_STORE_BACKLOG_SECONDS = env_int("STUDIO_STORE_BACKLOG_SECONDS", 300, minimum=120)
# On SQLite, finals are inserted on the event loop's thread when the write lock is free (transcription/store/loop.py).
STUDIO_STORE_ON_LOOP = env_bool("STUDIO_STORE_ON_LOOP", True)

# --- Drafting (Mavera or offline) -----------------------------------------------------------
MAVERA_API_KEY = env_str("MAVERA_API_KEY")
DRAFTER = env_str("DRAFTER") or (
    "publishing.drafters.mavera.MaveraDrafter" if MAVERA_API_KEY else "publishing.drafters.offline.OfflineDrafter"
)
MAVERA_BASE_URL = env_url("MAVERA_BASE_URL", "https://app.mavera.io/api/v1", schemes=("http", "https"))
MAVERA_ENDPOINT = env_choice("MAVERA_ENDPOINT", "generations", ("generations", "responses"))
MAVERA_APP_ID = env_str("MAVERA_APP_ID")
MAVERA_INPUT_FIELD = env_str("MAVERA_INPUT_FIELD", "transcript")
MAVERA_PERSONA_ID = env_str("MAVERA_PERSONA_ID")
MAVERA_TIMEOUT_SECONDS = env_float("MAVERA_TIMEOUT_SECONDS", 45.0, minimum=1.0)
MAVERA_MAX_ATTEMPTS = env_int("MAVERA_MAX_ATTEMPTS", 5, minimum=1)
MAVERA_BACKOFF_SECONDS = env_float("MAVERA_BACKOFF_SECONDS", 1.0, minimum=0.01)
# Transcript characters per call; longer batches are summarised in steps.
MAVERA_CHUNK_CHARS = env_int("MAVERA_CHUNK_CHARS", 12000, minimum=500)
# A drafting claim lapses after this, so a killed worker's batch is drafted again.
DRAFTING_LEASE_SECONDS = env_float("DRAFTING_LEASE_SECONDS", 300.0, minimum=1.0)
# The most one Mavera call may bill (the top of its documented range): a batch reserves this per call
# against its event's credit cap before drafting.
MAVERA_MAX_CREDITS_PER_CALL = env_int(
    "MAVERA_MAX_CREDITS_PER_CALL", 30 if MAVERA_ENDPOINT == "generations" else 5, minimum=1
)
# A generated draft shorter or longer than this waits for an editor, even on an auto-publishing event.
HOLD_DRAFTS_UNDER_WORDS = env_int("HOLD_DRAFTS_UNDER_WORDS", 40, minimum=0)
HOLD_DRAFTS_OVER_WORDS = env_int("HOLD_DRAFTS_OVER_WORDS", 200, minimum=1)
# A quote holding a word recognised with less confidence than this (per speech provider) waits for an editor.
UNSURE_WORD_CONFIDENCE = {
    "deepgram": env_float("UNSURE_WORD_BELOW_DEEPGRAM", 0.6, minimum=0.0),
    "offline": env_float("UNSURE_WORD_BELOW_OFFLINE", 0.10, minimum=0.0),
}
# A live event's new segments wait for the next batch until they hold this many words (final flushes do not wait).
BATCH_MIN_WORDS = env_int("BATCH_MIN_WORDS", 40, minimum=0)
# Failed batches, failed streams and drafting paused by the credit cap are posted here as JSON (Slack-compatible).
ALERT_WEBHOOK_URL = env_url("ALERT_WEBHOOK_URL", "", schemes=("http", "https"))
ALERT_WEBHOOK_TIMEOUT_SECONDS = env_float("ALERT_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=1.0)
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 6, minimum=1)
ALERT_BACKOFF_SECONDS = env_float("ALERT_BACKOFF_SECONDS", 5.0, minimum=0.01)

# --- Public site ----------------------------------------------------------------------------
PUBLISHER_NAME = env_str("PUBLISHER_NAME", "Liveblog Newsroom")
PUBLISHER_LOGO_URL = env_str("PUBLISHER_LOGO_URL", "/static/liveblog/logo.png")
SITE_URL = env_str("SITE_URL", "")
# A reader sends one hello of a few dozen bytes: anything over this is refused (1009) before it is
# read, and a reader socket that has sent no hello this long after opening is closed (4408).
READER_MAX_MESSAGE_BYTES = env_int("READER_MAX_MESSAGE_BYTES", 512, minimum=256)
READER_HELLO_TIMEOUT_SECONDS = env_float("READER_HELLO_TIMEOUT_SECONDS", 10.0, minimum=1.0)
# Most changes one cursor answer (posts.json, a socket push) carries; the client asks again for the rest.
READER_CHANGES_PAGE = env_int("READER_CHANGES_PAGE", 100, minimum=20, maximum=1000)

# --- Alerts for readers (readers.webpush, readers.alerts): Web Push with VAPID ------------------------------
# The application server's key pair (P-256): VAPID_PRIVATE_KEY as the base64url private number (or a PEM); unset,
# the pair `python -m liveblog_site.datadir` generated into the data folder. VAPID_PUBLIC_KEY, when set, must match.
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY")
VAPID_KEY_FILE = DATA_DIR / VAPID_KEY_FILE_NAME
# Whom push services may contact about our pushes, mailto: or https: (default: an https SITE_URL, else a mailto:).
VAPID_SUBJECT = env_str("VAPID_SUBJECT")
# Push services a subscription may point at (host or parent domain): every browser's own, so the worker never
# posts to an address a stranger chose. "*" allows any host (never an IP address unless listed).
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    [
        "fcm.googleapis.com",
        "android.googleapis.com",
        "push.services.mozilla.com",
        "push.apple.com",
        "notify.windows.com",
    ],
)
# Plain-http endpoints only where the site itself runs without HTTPS (a developer's machine, the tests' emulator).
PUSH_ENDPOINT_HTTPS_ONLY = env_bool("PUSH_ENDPOINT_HTTPS_ONLY", env_bool("HTTPS", not DEBUG))
PUSH_MAX_SUBSCRIPTIONS_PER_EVENT = env_int("PUSH_MAX_SUBSCRIPTIONS_PER_EVENT", 100_000, minimum=1)
PUSH_SUBSCRIBE_PER_MINUTE = env_int("PUSH_SUBSCRIBE_PER_MINUTE", 30, minimum=1)
# Subscribers per batch (one task; a worker sends a batch's pushes concurrently, PUSH_CONCURRENCY at a time).
PUSH_BATCH_SIZE = env_int("PUSH_BATCH_SIZE", 1000, minimum=10, maximum=20_000)
PUSH_CONCURRENCY = env_int("PUSH_CONCURRENCY", 64, minimum=1, maximum=1000)
# Tasks sending one alert at once, each taking the alert's next unsent batch when done with one (0: a task per
# batch). The embedded broker hands a worker its next message up to 2 s after its last: there, one per process.
PUSH_SENDERS = env_int("PUSH_SENDERS", 0 if REDIS_URL else 2, minimum=0, maximum=1000)
PUSH_TIMEOUT_SECONDS = env_float("PUSH_TIMEOUT_SECONDS", 10.0, minimum=0.5)
# How long a push service keeps an alert for a browser that is offline (RFC 8030 TTL).
PUSH_TTL_SECONDS = env_int("PUSH_TTL_SECONDS", 6 * 3600, minimum=0, maximum=28 * 24 * 3600)
PUSH_MAX_ATTEMPTS = env_int("PUSH_MAX_ATTEMPTS", 5, minimum=1)
PUSH_BACKOFF_SECONDS = env_float("PUSH_BACKOFF_SECONDS", 2.0, minimum=0.01)
# A batch claimed by a worker that died is sent again after this.
PUSH_LEASE_SECONDS = env_float("PUSH_LEASE_SECONDS", 120.0, minimum=1.0)

# On SIGTERM a web process stops taking sockets, finishes each stream (its finals stored), closes every
# socket with 1012 and exits within this many seconds: the load balancer's drain timeout (server/shutdown.py).
SHUTDOWN_GRACE_SECONDS = env_float("SHUTDOWN_GRACE_SECONDS", 10.0, minimum=1.0)

# --- Server fast paths (server/) ---------------------------------------------------------------
# Each is on unless FASTPATH_<NAME>=false; off, or on versions of Daphne/Twisted/autobahn it was not
# checked against, the servers' public API serves instead.
FASTPATHS = {
    name: env_bool(f"FASTPATH_{name.upper()}", True)
    for name in (
        "prepared_frames",
        "direct_write",
        "heartbeat",
        "daphne_shutdown_fix",
        "gc_tuning",
        "quiet_reads",
        "client_send",
        "lean_sockets",
        "detached_sockets",
    )
}

# --- Audio archive --------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "/media/"
AUDIO_ARCHIVE_CHUNK_SECONDS = env_float("AUDIO_ARCHIVE_CHUNK_SECONDS", 5.0, minimum=0.5)
AUDIO_ARCHIVE_MAX_PENDING_CHUNKS = env_int("AUDIO_ARCHIVE_MAX_PENDING_CHUNKS", 120, minimum=1)
# The web process archives WAV; every this many seconds a worker compresses it to FLAC.
AUDIO_COMPRESS_SECONDS = env_float("AUDIO_COMPRESS_SECONDS", 60.0, minimum=5.0)

# --- Pictures in posts (publishing.pictures) ---------------------------------------------------
# Public, unlike the audio archive beside them: a storage of their own, served under PICTURES_URL
# (by Daphne through readers.views.picture_file when it is this site's /media/pictures/).
PICTURES_URL = env_str("PICTURES_URL") or "/media/pictures/"


def _public_origins(name: str, url: str) -> list[str]:
    """The CSP must allow a public storage's origin when another server serves it (a CDN, an object store)."""
    if not url.endswith("/") or not url.startswith(("/", "https://", "http://")):
        raise ImproperlyConfigured(f"{name} must be a path or an http(s) URL ending in /, not {url!r}")
    if url.startswith("/"):
        return []
    scheme, _, host = url.partition("://")
    return [f"{scheme}://{host.split('/', 1)[0]}"]


PICTURES_STORAGE_BACKEND = env_str("PICTURES_STORAGE_BACKEND") or "django.core.files.storage.FileSystemStorage"
PICTURE_MAX_BYTES = env_int("PICTURE_MAX_MEGABYTES", 15, minimum=1, maximum=100) * 1024 * 1024
PICTURE_MAX_PIXELS = env_int("PICTURE_MAX_MEGAPIXELS", 40, minimum=1, maximum=150) * 1_000_000
PICTURE_WIDTHS = (480, 960, 1600)

# --- Quote clips (publishing.clips) -----------------------------------------------------------
# Public copies of checked quotes' audio, for events that let readers hear quotes: a storage of
# their own beside the private archive, served under CLIPS_URL (by Daphne through
# readers.views.clip_file when it is this site's /media/clips/).
CLIPS_URL = env_str("CLIPS_URL") or "/media/clips/"
CLIPS_STORAGE_BACKEND = env_str("CLIPS_STORAGE_BACKEND") or "django.core.files.storage.FileSystemStorage"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "pictures": {
        "BACKEND": PICTURES_STORAGE_BACKEND,
        "OPTIONS": {"location": MEDIA_ROOT / "pictures", "base_url": PICTURES_URL}
        if PICTURES_STORAGE_BACKEND == "django.core.files.storage.FileSystemStorage"
        else {},
    },
    "clips": {
        "BACKEND": CLIPS_STORAGE_BACKEND,
        "OPTIONS": {"location": MEDIA_ROOT / "clips", "base_url": CLIPS_URL}
        if CLIPS_STORAGE_BACKEND == "django.core.files.storage.FileSystemStorage"
        else {},
    },
}

# --- Embeds (publishing.embeds) --------------------------------------------------------------
# A video or social post an editor pastes: its oEmbed is fetched once by the server, from these providers
# only, within these limits; its thumbnail is re-encoded into the pictures storage. Per provider: its name for
# readers, its oEmbed endpoint (and any fixed query `params`), the addresses it takes (regular expressions, each
# matched whole), `frame_origins` (where its player may be framed from: the CSP's frame-src on pages that show
# it), `thumbnail_origins` ("https://*.host" allows subdomains) and how its player's address is built: the src of
# the iframe in its oEmbed html ("iframe"), a template over the address's named groups ("address"), or over the
# groups of `pattern` matched against an attribute of its oEmbed html ("html").
EMBED_TIMEOUT_SECONDS = env_float("EMBED_TIMEOUT_SECONDS", 5.0, minimum=0.1)
EMBED_MAX_RESPONSE_BYTES = env_int("EMBED_MAX_RESPONSE_KILOBYTES", 256, minimum=4, maximum=4096) * 1024
EMBED_THUMBNAIL_MAX_BYTES = env_int("EMBED_THUMBNAIL_MAX_KILOBYTES", 2048, minimum=16, maximum=16384) * 1024
EMBED_THUMBNAIL_WIDTH = 640
EMBEDS_PER_POST = env_int("EMBEDS_PER_POST", 4, minimum=1, maximum=20)
_query = r"(?:\?[\w=&%.+~-]*)?"
EMBED_PROVIDERS: dict[str, dict] = {
    "youtube": {
        "name": "YouTube",
        "endpoint": "https://www.youtube.com/oembed",
        "urls": [
            r"https://(?:www\.|m\.)?youtube\.com/watch\?(?:[\w=&%.+~-]*&)?v=(?P<id>[\w-]{11})(?:&[\w=&%.+~-]*)?",
            r"https://(?:www\.)?youtube\.com/(?:shorts|live)/(?P<id>[\w-]{11})" + _query,
            r"https://youtu\.be/(?P<id>[\w-]{11})" + _query,
        ],
        "frame_origins": ["https://www.youtube.com", "https://www.youtube-nocookie.com"],
        "thumbnail_origins": ["https://i.ytimg.com"],
        "player": {"from": "iframe"},
    },
    "vimeo": {
        "name": "Vimeo",
        "endpoint": "https://vimeo.com/api/oembed.json",
        "urls": [r"https://(?:www\.)?vimeo\.com/(?:channels/[\w-]+/)?(?P<id>[0-9]{1,12})(?:/[0-9a-f]{1,20})?" + _query],
        "frame_origins": ["https://player.vimeo.com"],
        "thumbnail_origins": ["https://i.vimeocdn.com"],
        "player": {"from": "iframe"},
    },
    "x": {
        "name": "X",
        "endpoint": "https://publish.twitter.com/oembed",
        "params": {"omit_script": "true", "dnt": "true"},
        "urls": [
            r"https://(?:www\.|mobile\.)?(?:twitter|x)\.com/(?P<user>\w{1,15})/status/(?P<id>[0-9]{1,20})" + _query
        ],
        "frame_origins": ["https://platform.twitter.com"],
        "player": {"from": "address", "src": "https://platform.twitter.com/embed/Tweet.html?id={id}&dnt=true"},
        "frame_height": 640,
    },
    "bluesky": {
        "name": "Bluesky",
        "endpoint": "https://embed.bsky.app/oembed",
        "urls": [r"https://bsky\.app/profile/(?P<actor>[\w.:-]{1,253})/post/(?P<rkey>[a-z0-9]{1,20})"],
        "frame_origins": ["https://embed.bsky.app"],
        "player": {
            "from": "html",
            "attribute": "data-bluesky-uri",
            "pattern": r"at://(?P<did>did:(?:plc|web):[\w.:%-]{1,200})/app\.bsky\.feed\.post/(?P<rkey>[a-z0-9]{1,20})",
            "src": "https://embed.bsky.app/embed/{did}/app.bsky.feed.post/{rkey}",
        },
        "frame_height": 560,
    },
    "soundcloud": {
        "name": "SoundCloud",
        "endpoint": "https://soundcloud.com/oembed",
        "params": {"format": "json"},
        "urls": [r"https://(?:www\.)?soundcloud\.com/[\w-]{1,100}/(?:sets/)?[\w-]{1,200}" + _query],
        "frame_origins": ["https://w.soundcloud.com"],
        "thumbnail_origins": ["https://*.sndcdn.com"],
        "player": {"from": "iframe"},
    },
}
# Mastodon is many servers: each instance named here is a provider of its own.
for _host in env_list("EMBED_MASTODON_INSTANCES", ["mastodon.social", "mastodon.online", "journa.host"]):
    EMBED_PROVIDERS[f"mastodon-{_host}"] = {
        "name": "Mastodon",
        "endpoint": f"https://{_host}/api/oembed",
        "urls": [rf"https://{re.escape(_host)}/@(?P<user>\w{{1,30}})/(?P<id>[0-9]{{1,20}})"],
        "frame_origins": [f"https://{_host}"],
        "player": {"from": "address", "src": f"https://{_host}/@{{user}}/{{id}}/embed"},
        "frame_height": 560,
    }
# Instagram's oEmbed (Meta's Graph API) needs an app's access token: without one, Instagram is not offered.
if _meta_token := env_str("EMBED_META_ACCESS_TOKEN"):
    EMBED_PROVIDERS["instagram"] = {
        "name": "Instagram",
        "endpoint": "https://graph.facebook.com/v22.0/instagram_oembed",
        "params": {"access_token": _meta_token},
        "urls": [r"https://(?:www\.)?instagram\.com/(?:p|reel)/(?P<code>[\w-]{5,40})/?" + _query],
        "frame_origins": ["https://www.instagram.com"],
        "thumbnail_origins": ["https://*.cdninstagram.com", "https://*.fbcdn.net"],
        "player": {"from": "address", "src": "https://www.instagram.com/p/{code}/embed/"},
        "frame_height": 720,
    }


def _extra_embed_providers() -> dict[str, dict | None]:
    raw = env_str("EMBED_EXTRA_PROVIDERS")
    if not raw:
        return {}
    try:
        extra = json.loads(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"EMBED_EXTRA_PROVIDERS must be a JSON object ({error})") from None
    if not isinstance(extra, dict):
        raise ImproperlyConfigured("EMBED_EXTRA_PROVIDERS must be a JSON object of provider name to provider")
    return extra


# More providers, or null to switch one of the above off (publishing.embed_providers checks each at start).
for _key, _provider in _extra_embed_providers().items():
    if _provider is None:
        EMBED_PROVIDERS.pop(_key, None)
    else:
        EMBED_PROVIDERS[_key] = _provider

# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
# Login guessing: after LOGIN_FAILURE_LIMIT wrong passwords for one account from one address, that
# pair is refused for LOGIN_LOCKOUT_MINUTES (each further try starts the wait again); other
# addresses and other accounts are unaffected. Attempts are kept in the database (axes).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "liveblog_site.security.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Unlocking is an operator's job (manage.py axes_reset_username <name>), not an admin page.
AXES_ENABLE_ADMIN = False
AXES_CLIENT_IP_CALLABLE = "liveblog_site.security.client_ip"
# The log names the account and address under attack (passwords are never logged).
AXES_SENSITIVE_PARAMETERS: list[str] = []
LOGIN_REDIRECT_URL = "/"
# The newsroom's pages in each person's language (liveblog_site.i18n); readers' pages in the event's.
LANGUAGES = [("en-us", "English"), ("de", "Deutsch")]
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "en-us", tuple(code for code, _name in LANGUAGES))
# Translations: locale/<language>/LC_MESSAGES (django.po, djangojs.po and their compiled .mo); an operator's
# own folders (EXTRA_LOCALE_PATHS) come first, to change the wording without changing the code.
LOCALE_PATHS = [*env_list("EXTRA_LOCALE_PATHS", []), BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# Each app's scripts and styles are in <app>/static/<app>/; the project's static/ holds only what is
# the whole site's (the publisher's logo, PUBLISHER_LOGO_URL).
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

# --- Security: secure unless DEBUG or HTTPS=false says otherwise ----------------------------
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
# Both bind every subdomain (and, preloaded, every browser) to HTTPS for years: the operator's call.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Left off on purpose unless the operator sets them (above), so the deploy check's advice is moot.
SILENCED_SYSTEM_CHECKS: list[str] = ["security.W005", "security.W021"]
# Scripts, styles and sockets from our own origin only; no inline script or style. Framing is
# refused except where a view allows it (xframe_options_exempt: the embed page), see
# liveblog_site.security.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, *_public_origins("PICTURES_URL", PICTURES_URL)],
        "connect-src": [SELF],
        "media-src": [SELF, *_public_origins("CLIPS_URL", CLIPS_URL)],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"routine_at_debug": {"()": "liveblog_site.logs.RoutineAtDebug"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        **{
            app: {"level": LOG_LEVEL}
            for app in ("events", "transcription", "publishing", "readers", "newsroom", "liveblog_site", "server")
        },
        # Each task received, succeeded, dropped as stale or sent by beat: DEBUG, as the apps log at INFO what a
        # task did. On the loggers those lines come from, as a logger's filters see only its own records.
        **{
            name: {"filters": ["routine_at_debug"]}
            for name in ("celery.worker.strategy", "celery.worker.request", "celery.app.trace", "celery.beat")
        },
    },
}

# --- Following a livestream (transcription.follow, `manage.py follow_streams`) --------------------
# Addresses on private, loopback or link-local networks are refused unless this is true (tests, a newsroom's own
# encoder on its network): otherwise a follow could reach inside the newsroom's network.
STREAM_FOLLOW_ALLOW_PRIVATE = env_bool("STREAM_FOLLOW_ALLOW_PRIVATE", False)
STREAM_FOLLOW_STALL_SECONDS = env_float("STREAM_FOLLOW_STALL_SECONDS", 20.0, minimum=1.0)
STREAM_FOLLOW_MAX_ATTEMPTS = env_int("STREAM_FOLLOW_MAX_ATTEMPTS", 10, minimum=1)
STREAM_FOLLOW_BACKOFF_SECONDS = env_float("STREAM_FOLLOW_BACKOFF_SECONDS", 1.0, minimum=0.01)
STREAM_FOLLOW_CLAIM_SECONDS = env_float("STREAM_FOLLOW_CLAIM_SECONDS", 30.0, minimum=2.0)
STREAM_FOLLOW_POLL_SECONDS = env_float("STREAM_FOLLOW_POLL_SECONDS", 1.0, minimum=0.1)
STREAM_FOLLOW_MAX_STREAMS = env_int("STREAM_FOLLOW_MAX_STREAMS", 10, minimum=1)
