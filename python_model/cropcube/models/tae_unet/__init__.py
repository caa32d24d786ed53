"""The default model: per-pixel temporal attention (L-TAE-like) feeding a light 2-D U-Net."""

from cropcube.models.tae_unet.model import TaeUNet, TemporalAttentionEncoder

__all__ = ["TaeUNet", "TemporalAttentionEncoder"]
