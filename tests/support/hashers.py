"""The tests' password hasher: Django's own PBKDF2 at one iteration. At Django's default count, hashing
the fixtures' passwords cost most of a test's set-up. A hash names its algorithm and iteration count,
so the servers the tests start, on the default hashers, still check these passwords."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
