"""The reference network of the 2018 proof of concept, rebuilt from its published description."""

from cropcube.models.reference_segnet.model import ReferenceSegNet

__all__ = ["ReferenceSegNet"]
