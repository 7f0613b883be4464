"""The ASGI application Daphne serves: Django for HTTP; the readers', studio and queue sockets
behind the origin check."""

import os

from django.core.asgi import get_asgi_application

from liveblog_site import datadir

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
datadir.exit_unless_prepared()
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from liveblog_site.i18n import SocketLanguageMiddleware  # noqa: E402
from liveblog_site.routing import reader_routes, staff_routes  # noqa: E402
from server.gc_tuning import tune_gc  # noqa: E402
from server.limits import limit_every_socket  # noqa: E402
from server.shutdown import fix_daphne_shutdown, stop_gracefully_on_sigterm  # noqa: E402
from server.twisted_logs import forward_twisted_logs  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Readers are anonymous and many: their sockets skip the session and user lookup.
        "websocket": AllowedHostsOriginValidator(
            URLRouter(
                [*reader_routes, re_path(r"", AuthMiddlewareStack(SocketLanguageMiddleware(URLRouter(staff_routes))))]
            )
        ),
    }
)


forward_twisted_logs()
fix_daphne_shutdown()
stop_gracefully_on_sigterm()
limit_every_socket(max(settings.STUDIO_MAX_MESSAGE_BYTES, settings.READER_MAX_MESSAGE_BYTES))
tune_gc()  # last: freezes what is loaded by now
