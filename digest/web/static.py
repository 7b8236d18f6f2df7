"""Static files' names in pages: hashed once collectstatic has run, plain before."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFiles(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage: collectstatic writes each file under a name with its content's
    hash, compressed beside it, so browsers may cache it for a year.

    Where nothing was collected (the tests, `make dev`, a checkout), a page still renders:
    a file missing from the manifest keeps its plain name, which the staticfiles finders
    serve in development, instead of the error Django's storage raises.
    """

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: no file in STATIC_ROOT to hash
            return name
