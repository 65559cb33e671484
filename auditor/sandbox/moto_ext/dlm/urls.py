"""URL patterns of the DLM emulation (REST-JSON: /policies and /policies/{policyId})."""

from auditor.sandbox.moto_ext.dlm.responses import DLMResponse

url_bases = [r"https?://dlm\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/policies/?$": DLMResponse.dispatch_policies,
    "{0}/policies/(?P<policy_id>[^/]+)/?$": DLMResponse.dispatch_policies,
}
