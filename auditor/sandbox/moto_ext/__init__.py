"""Everything the sandbox adds to or changes in moto, installed in one place by `install()`.

Nothing edits moto's files: handlers are added to moto's response classes, URL patterns to its URL
maps, state to its backends (so moto's reset clears it), and the Storage Gateway package is
registered as the module `moto.storagegateway`.
"""

from __future__ import annotations

import os
import re
import sys
import threading

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Register the sandbox's additions to moto (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.backend_index as backend_index

        from auditor.sandbox.moto_ext import (
            backup,
            fsx,
            protection,
            rds_engines,
            recycle_bin,
            restores,
            services,
        )
        from auditor.sandbox.moto_ext import storagegateway as sgw_pkg
        from auditor.sandbox.moto_ext.storagegateway import models as sgw_models
        from auditor.sandbox.moto_ext.storagegateway import responses as sgw_responses
        from auditor.sandbox.moto_ext.storagegateway import urls as sgw_urls

        sys.modules.setdefault("moto.storagegateway", sgw_pkg)
        sys.modules.setdefault("moto.storagegateway.models", sgw_models)
        sys.modules.setdefault("moto.storagegateway.urls", sgw_urls)
        sys.modules.setdefault("moto.storagegateway.responses", sgw_responses)
        if not any(name == "storagegateway" for name, _ in backend_index.backend_url_patterns):
            backend_index.backend_url_patterns.append(
                ("storagegateway", re.compile(r"https?://storagegateway\.(.+)\.amazonaws\.com"))
            )
        backup.install()
        restores.install()
        protection.install()
        services.install()
        recycle_bin.install()
        fsx.install()
        rds_engines.install()
        _installed = True
