"""Amazon Data Lifecycle Manager for moto: lifecycle policies, read the way the auditor reads them.

moto has no DLM module. This package is shaped like one (`models`, `urls`, `responses`) and is
registered as `moto.dlm` by `auditor.sandbox.moto_ext.install()`, so that both `mock_aws()` and
moto's server route `dlm.<region>.amazonaws.com` here.
"""

from auditor.sandbox.moto_ext.dlm.models import dlm_backends  # noqa: F401
