"""Synthetic Sentinel-2 scenes of the Noordoostpolder with BRP-like truth.

The embedded default's data, the demo's data and the tests' data::

    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    scene = generate_scene(SceneConfig(seed=0, height=512, width=512))
    paths = write_scene(scene, "out/")
"""

from cropcube.synthetic.calendar import CropCalendar, load_crop_calendar
from cropcube.synthetic.scene import ParcelRecord, Scene, SceneConfig, generate_scene
from cropcube.synthetic.writer import scene_summary, write_scene

__all__ = [
    "CropCalendar",
    "ParcelRecord",
    "Scene",
    "SceneConfig",
    "generate_scene",
    "load_crop_calendar",
    "scene_summary",
    "write_scene",
]
