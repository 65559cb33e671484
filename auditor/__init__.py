"""auditor: policy-as-code backup compliance and metering auditor for AWS."""

__version__ = "0.1.0"
