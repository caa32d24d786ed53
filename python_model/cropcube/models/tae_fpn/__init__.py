"""Speed-first default: per-pixel temporal attention feeding a 3-level feature pyramid."""

from cropcube.models.tae_fpn.model import TaeFPN

__all__ = ["TaeFPN"]
