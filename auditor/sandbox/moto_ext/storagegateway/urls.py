"""URL patterns of the Storage Gateway emulation (JSON protocol: every call is POST /)."""

from auditor.sandbox.moto_ext.storagegateway.responses import StorageGatewayResponse

url_bases = [r"https?://storagegateway\.(.+)\.amazonaws\.com"]

url_paths = {"{0}/$": StorageGatewayResponse.dispatch}
