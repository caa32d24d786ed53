"""The model bundle: ONE TorchScript file carrying the network, its normalisation and all metadata.

The same file is loaded by the Python path (:func:`load_bundle`) and by the C++ kernel
(``torch::jit::load`` with the extra file :data:`METADATA_FILE`).
"""

from cropcube.bundle.io import Bundle, load_bundle, save_bundle
from cropcube.bundle.metadata import FORMAT_NAME, FORMAT_VERSION, METADATA_FILE, BundleMetadata
from cropcube.bundle.module import InferenceModule, cloud_masking, halo_for

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "Bundle",
    "BundleMetadata",
    "InferenceModule",
    "cloud_masking",
    "halo_for",
    "load_bundle",
    "save_bundle",
]
