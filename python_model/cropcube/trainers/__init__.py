"""Training: configs (YAML/TOML), losses, checkpoints with resume, and the training loop."""

from cropcube.trainers.checkpoint import load_checkpoint, save_checkpoint
from cropcube.trainers.config import TrainConfig, config_from_dict, load_config
from cropcube.trainers.loop import TrainResult, build_inference_module, region_metrics, train

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_inference_module",
    "config_from_dict",
    "load_checkpoint",
    "load_config",
    "region_metrics",
    "save_checkpoint",
    "train",
]
