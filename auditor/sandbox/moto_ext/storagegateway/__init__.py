"""AWS Storage Gateway (volume gateways) for moto: gateways, cached/stored volumes and their tags.

moto has no Storage Gateway module. This package is shaped like one (`models`, `urls`,
`responses`) and is registered as `moto.storagegateway` by `auditor.sandbox.moto_ext.install()`
so that both `mock_aws()` and moto's server route `storagegateway.<region>.amazonaws.com` here.
"""

from auditor.sandbox.moto_ext.storagegateway.models import storagegateway_backends  # noqa: F401
