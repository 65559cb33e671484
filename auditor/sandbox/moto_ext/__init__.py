"""Everything the sandbox adds to or changes in moto, installed in one place by `install()`.

Nothing edits moto's files: handlers are added to moto's response classes, URL patterns to its URL
maps, state to its backends (so moto's reset clears it), and the Storage Gateway package is
registered as the module `moto.storagegateway` (and the DLM package as `moto.dlm`).
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
            images,
            protection,
            rds_engines,
            recycle_bin,
            restores,
            s3,
            services,
        )
        from auditor.sandbox.moto_ext import dlm as dlm_pkg
        from auditor.sandbox.moto_ext import storagegateway as sgw_pkg
        from auditor.sandbox.moto_ext.dlm import models as dlm_models
        from auditor.sandbox.moto_ext.dlm import responses as dlm_responses
        from auditor.sandbox.moto_ext.dlm import urls as dlm_urls
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
        sys.modules.setdefault("moto.dlm", dlm_pkg)
        sys.modules.setdefault("moto.dlm.models", dlm_models)
        sys.modules.setdefault("moto.dlm.urls", dlm_urls)
        sys.modules.setdefault("moto.dlm.responses", dlm_responses)
        if not any(name == "dlm" for name, _ in backend_index.backend_url_patterns):
            backend_index.backend_url_patterns.append(
                ("dlm", re.compile(r"https?://dlm\.(.+)\.amazonaws\.com"))
            )
        backup.install()
        restores.install()
        protection.install()
        services.install()
        recycle_bin.install()
        fsx.install()
        rds_engines.install()
        s3.install()
        images.install()
        _installed = True
