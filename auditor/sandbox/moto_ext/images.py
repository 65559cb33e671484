"""EC2 AMIs as AWS describes them: the EBS snapshots a seeded AMI really has, and paging.

moto gives every AMI one auto-created 15 GiB snapshot as its only block device. An AMI made from an
instance has one EBS snapshot per EBS volume of the instance ("Create an Amazon EBS-backed AMI",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/creating-an-ami-ebs.html), each listed in its
BlockDeviceMappings ("BlockDeviceMapping", EC2 API Reference): the seeder sets those mappings on
the AMI (`_sandbox_mappings`). DescribeImages pages with MaxResults (5..1000) and NextToken
("DescribeImages", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html);
moto answers everything at once.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult

from auditor.sandbox.moto_ext.paging import page


def _bad_token(message: str) -> Exception:
    from moto.ec2.exceptions import InvalidNextToken

    return InvalidNextToken(message)


def describe_images(self: Any) -> ActionResult:
    """DescribeImages with AWS's paging over moto's filtering."""
    self.error_on_dryrun()
    owners = self._get_param("Owners", [])
    images = self.ec2_backend.describe_images(
        ami_ids=self._get_param("ImageIds", []),
        filters=self._filters_from_querystring(),
        exec_users=self._get_param("ExecutableUsers", []),
        owners=owners,
    )
    chunk, token = page(
        sorted(images, key=lambda image: image.id),
        self._get_param("NextToken"),
        self._get_param("MaxResults"),
        default=1000,
        maximum=1000,
        scope="|".join(owners),
        bad_token=_bad_token,
    )
    body: dict[str, Any] = {"Images": chunk}
    if token:
        body["NextToken"] = token
    return ActionResult(body)


def install() -> None:
    """Patch moto's AMIs and DescribeImages (idempotent)."""
    from moto.ec2.models.amis import Ami
    from moto.ec2.responses.amis import AmisResponse

    if "_auditor_images" in Ami.__dict__:  # its base class carries services.py's own marker
        return
    original = Ami.block_device_mappings

    def block_device_mappings(self: Any) -> list[dict[str, Any]]:
        seeded = getattr(self, "_sandbox_mappings", None)
        return seeded if seeded is not None else original.fget(self)  # type: ignore[attr-defined]

    Ami.block_device_mappings = property(block_device_mappings)  # type: ignore[assignment,method-assign]
    AmisResponse.describe_images = describe_images  # type: ignore[method-assign]
    Ami._auditor_images = True  # type: ignore[attr-defined]
