"""Speed-first default: per-pixel temporal attention feeding a 5-level feature pyramid."""

from cropcube.models.tae_fpn.model import TaeFPN

__all__ = ["TaeFPN"]
