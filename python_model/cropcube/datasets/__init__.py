"""Training data: scenes read from rasters (or made synthetically), blocked splits, chips, augmentation."""

from cropcube.datasets.augment import AugmentConfig, augment_batch
from cropcube.datasets.chips import chip_batches, chip_weights
from cropcube.datasets.scene import SceneData, check_cube_values, load_scene
from cropcube.datasets.splits import SPLITS, BlockSplit, blocked_split, cross_validation_splits

__all__ = [
    "SPLITS",
    "AugmentConfig",
    "BlockSplit",
    "SceneData",
    "augment_batch",
    "blocked_split",
    "check_cube_values",
    "chip_batches",
    "chip_weights",
    "cross_validation_splits",
    "load_scene",
]
