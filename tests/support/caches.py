"""What the readers' shared cache holds, read from its backend."""

from pathlib import Path

from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache

from readers import changes


def cache_entries() -> int:
    """How many entries the shared cache holds, read from the backend itself."""
    backend = changes.shared_cache
    if isinstance(backend, FileBasedCache):
        return sum(1 for _ in Path(backend._dir).glob(f"*{FileBasedCache.cache_suffix}"))
    assert isinstance(backend, RedisCache), type(backend)
    return backend._cache.get_client().dbsize()
