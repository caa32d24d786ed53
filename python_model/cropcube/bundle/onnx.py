"""ONNX export of a bundle: the same network, weights and normalisation, for other runtimes.

ONNX Runtime, OpenVINO and openEO's ONNX UDFs run the exported file with nothing of cropcube
installed. The ONNX model has the bundle's contract: input ``x`` float32 ``(B, T*C, H, W)`` raw
digital numbers (date-major), output ``logits`` float32 ``(B, K, H, W)`` (channel k = class k + 1);
normalisation, date masking and padding to the downsampling factor are inside the graph, as in the
TorchScript. B, H and W are dynamic (any H, W >= 1). Bundles whose module takes the dates
(``forward(x, doy)``) get a second input ``doy`` float32 ``(B, T)`` and a dynamic T.

The bundle's metadata travels in the ONNX ``metadata_props``: the full JSON under ``cropcube`` and,
for readers that want one fact without parsing it, ``classes``, ``bands``, ``dates``, ``dn_scale``,
``nodata``, ``halo``, ``downsampling_factor``, ``source_content_hash`` and ``input_contract``.

The graph is traced from an eager copy of the network (rebuilt from the metadata's architecture name
and options, then loaded with the TorchScript module's own weights and checked against it), because
TorchScript modules cannot be traced by ``torch.export``. Needs the ``export`` extra (onnx,
onnxscript); with onnxruntime installed the written file is also checked against the TorchScript.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cropcube.bundle.io import Bundle, load_bundle
from cropcube.bundle.metadata import BundleMetadata
from cropcube.errors import CropcubeError, InputError

METADATA_KEY = "cropcube"
"""``metadata_props`` key of the full bundle metadata JSON."""
OPSET = 18
_PARITY_ATOL = 1e-3  # logits; float32 kernels of different runtimes differ by ~1e-5 here


@dataclass
class OnnxExport:
    """What :func:`export_onnx` wrote.

    Attributes:
        path: the ONNX file.
        inputs: input names in call order (``["x"]`` or ``["x", "doy"]``).
        max_abs_diff: largest |logit| difference ONNX Runtime vs TorchScript on the check inputs,
            None when onnxruntime is not installed (the check was not run).
        argmax_agreement: share of pixels with the same arg-max class (None when not checked).
    """

    path: Path
    inputs: list[str]
    max_abs_diff: float | None
    argmax_agreement: float | None

    def summary(self) -> str:
        """One line for a report."""
        check = (
            "not checked (install onnxruntime to check it)"
            if self.max_abs_diff is None or self.argmax_agreement is None
            else f"checked with ONNX Runtime: max |logit diff| {self.max_abs_diff:.1e}, "
            f"arg-max agreement {100 * self.argmax_agreement:.2f} %"
        )
        return f"onnx: {self.path} (inputs {', '.join(self.inputs)}; {check})"


def takes_dates(module: nn.Module | torch.jit.ScriptModule) -> bool:
    """Whether the module's forward takes the dates (``forward(x, doy)``, bundle contract v2)."""
    if isinstance(module, torch.jit.ScriptModule):
        return len(module.forward.schema.arguments) > 2  # type: ignore[attr-defined]  # self, x[, doy]
    return "doy" in inspect.signature(module.forward).parameters


def bundle_takes_dates(bundle: Bundle) -> bool:
    """Whether the ONNX model gets a ``doy`` input: a format-2 bundle (fixed-calendar ones need none)."""
    return bundle.metadata.calendar is not None and takes_dates(bundle.module)


def eager_copy(bundle: Bundle) -> nn.Module:
    """The bundle's network as an eager module, with the TorchScript module's weights.

    Raises:
        InputError: the metadata's architecture cannot be rebuilt, or its weights do not fit.
    """
    try:  # training side, imported on demand (trainers/job.py from bundle contract v2 on)
        from cropcube.trainers.job import build_inference_module
    except ImportError:
        from cropcube.trainers.loop import build_inference_module

    meta = bundle.metadata
    options = dict(meta.training.get("model_options", {}))
    calendar = getattr(meta, "calendar", None)  # contract v2: the calendars the bundle accepts
    extra: dict[str, Any] = {} if calendar is None else {"calendar": calendar}
    try:
        module = build_inference_module(
            meta.model_name, options, meta.spec, meta.normalisation, meta.classes.num_classes, **extra
        )
    except InputError as exc:
        raise InputError(str(bundle.path), f"cannot rebuild its network for export: {exc}") from None
    scripted = bundle.module.state_dict()
    own = module.state_dict()
    missing = sorted(set(own) - set(scripted))
    if missing:
        raise InputError(str(bundle.path), f"weights missing for {meta.model_name}: {missing[:5]}")
    try:
        # Non-persistent buffers (constants rebuilt by the constructor) are in the TorchScript
        # state dict but not in the eager one: load the keys the eager module has.
        module.load_state_dict({k: scripted[k] for k in own}, strict=True)
    except RuntimeError as exc:
        raise InputError(str(bundle.path), f"weights do not fit {meta.model_name}: {exc}") from None
    module.eval()
    for m in module.modules():
        # Row chunking bounds memory in eager/TorchScript inference; a traced graph needs one pass.
        if isinstance(getattr(m, "chunk", None), int):
            m.chunk = 2**62
    return module


def onnx_metadata(meta: BundleMetadata) -> dict[str, str]:
    """The ``metadata_props`` of an exported model (see the module docstring)."""
    spec = meta.spec
    contract = (
        "x: float32 (B, T*C, H, W) raw DN, date-major -> logits: float32 (B, K, H, W), channel k = class k+1"
    )
    return {
        METADATA_KEY: meta.to_json(),
        "classes": json.dumps(meta.classes.to_records(), ensure_ascii=False),
        "bands": json.dumps(list(spec.bands)),
        "dates": json.dumps([d.isoformat() for d in spec.dates]),
        "dn_scale": repr(float(spec.dn_scale)),
        "nodata": repr(float(spec.nodata)),
        "halo": str(meta.halo),
        "downsampling_factor": str(meta.downsampling_factor),
        "source_content_hash": meta.content_hash,
        "input_contract": contract,
    }


def read_onnx_metadata(path: str | Path) -> BundleMetadata:
    """The bundle metadata stored in an exported ONNX file.

    Raises:
        InputError: not an ONNX file, or one without cropcube metadata.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, OSError, ...
        raise InputError(str(path), f"not an ONNX model ({type(exc).__name__})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in props:
        raise InputError(str(path), "ONNX model without cropcube metadata")
    return BundleMetadata.from_json(props[METADATA_KEY], where=str(path))


def _default_doy(bundle_module: Any, meta: BundleMetadata) -> np.ndarray:
    """Day of the season year of the bundle's default dates (the module's own buffer under contract v2)."""
    doy = getattr(bundle_module, "default_doy", None)
    if isinstance(doy, torch.Tensor):
        return doy.detach().cpu().numpy().astype(np.float32)
    return np.asarray(meta.spec.day_of_year(), np.float32)


def _example_inputs(meta: BundleMetadata, dates: bool, doy: np.ndarray) -> tuple[torch.Tensor, ...]:
    # B = 2 keeps the batch axis symbolic (torch.export specialises sizes 0 and 1); H and W are
    # not multiples of the downsampling factor, so the padding path is the one traced (it also
    # pads by 0 for inputs that need none: one graph for every size).
    d = meta.downsampling_factor
    h, w = 4 * d + 3 if d > 1 else 13, 5 * d + 5 if d > 1 else 17
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(1, 6000, (2, meta.spec.n_channels, h, w), generator=gen).float()
    if not dates:
        return (x,)
    return (x, torch.from_numpy(doy).expand(2, -1).contiguous())


def _dynamic_shapes(module: Any, meta: BundleMetadata, dates: bool) -> dict[str, Any]:
    batch, h, w = torch.export.Dim("B"), torch.export.Dim("H"), torch.export.Dim("W")
    if not dates:
        return {"x": {0: batch, 2: h, 3: w}}
    lo, hi = int(getattr(module, "min_dates", 1)), int(getattr(module, "max_dates", 366))
    if lo == hi:  # a fixed-calendar bundle: T is static
        return {"x": {0: batch, 2: h, 3: w}, "doy": {0: batch}}
    t = torch.export.Dim("T", min=lo, max=hi)
    return {"x": {0: batch, 1: meta.spec.n_bands * t, 2: h, 3: w}, "doy": {0: batch, 1: t}}


def _check_inputs(meta: BundleMetadata, dates: bool, doy: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(1)
    k = meta.spec.n_channels
    cases: list[tuple[np.ndarray, ...]] = []
    for shape in ((1, k, 1, 1), (1, k, 37, 45), (2, k, 2 * meta.downsampling_factor, 70)):
        x = rng.integers(1, 6000, shape).astype(np.float32)
        x[:, :, : shape[2] // 2, : shape[3] // 3] = meta.spec.nodata  # some nodata pixels
        if dates:
            cases.append((x, np.ascontiguousarray(np.broadcast_to(doy, (shape[0], doy.size)))))
        else:
            cases.append((x,))
    return cases


def check_onnx(path: str | Path, bundle: Bundle) -> tuple[float, float] | None:
    """Max |logit| difference and arg-max agreement, ONNX Runtime vs the TorchScript module.

    Returns None when onnxruntime is not installed.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    worst, same, total = 0.0, 0, 0
    doy = _default_doy(bundle.module, bundle.metadata)
    for arrays in _check_inputs(bundle.metadata, bundle_takes_dates(bundle), doy):
        got = session.run(None, dict(zip(names, arrays, strict=True)))[0]
        with torch.inference_mode():
            want = bundle.module(*[torch.from_numpy(a) for a in arrays]).float().numpy()
        if got.shape != want.shape:
            raise CropcubeError(f"{path}: ONNX output {got.shape} differs from the bundle's {want.shape}")
        worst = max(worst, float(np.abs(got - want).max()))
        same += int((got.argmax(1) == want.argmax(1)).sum())
        total += want.shape[0] * want.shape[2] * want.shape[3]
    return worst, same / total


def export_onnx(bundle_path: str | Path, out_path: str | Path, opset: int = OPSET) -> OnnxExport:
    """Write a bundle as an ONNX model with its metadata (atomically: nothing half-written).

    Args:
        bundle_path: the TorchScript bundle (``.pt``).
        out_path: the ONNX file to write (``.onnx``).
        opset: ONNX opset version.

    Raises:
        InputError: the bundle cannot be loaded or rebuilt.
        CropcubeError: the exported graph disagrees with the bundle (checked with onnxruntime).
    """
    try:
        import onnx
    except ImportError:
        raise InputError(
            "--onnx", "needs the onnx and onnxscript packages: pip install 'cropcube[export]'"
        ) from None
    bundle = load_bundle(bundle_path)
    meta = bundle.metadata
    dates = bundle_takes_dates(bundle)
    module = eager_copy(bundle)
    example = _example_inputs(meta, dates, _default_doy(bundle.module, meta))
    with torch.inference_mode():
        torch.testing.assert_close(module(*example), bundle.module(*example), rtol=1e-4, atol=1e-4)
    names = ["x", "doy"] if dates else ["x"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the exporter prints progress and warns on itself
        program = torch.onnx.export(
            module,
            example,
            input_names=names,
            output_names=["logits"],
            dynamic_shapes=_dynamic_shapes(bundle.module, meta, dates),
            opset_version=opset,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    assert program is not None
    model = program.model_proto
    model.doc_string = (
        f"cropcube {meta.model_name} {meta.model_version}: Sentinel-2 crop-type segmentation "
        f"({meta.classes.num_classes} classes); see metadata_props"
    )
    del model.metadata_props[:]
    for key, value in onnx_metadata(meta).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
            f.flush()
            os.fsync(f.fileno())
        check = check_onnx(tmp, bundle)
        if check is not None and check[0] > _PARITY_ATOL:
            raise CropcubeError(
                f"{out}: ONNX model disagrees with the bundle (max |logit diff| {check[0]:.2e}, "
                f"arg-max agreement {100 * check[1]:.3f} %)"
            )
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)  # mkstemp's file is private (0600)
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return OnnxExport(
        path=out,
        inputs=names,
        max_abs_diff=None if check is None else check[0],
        argmax_agreement=None if check is None else check[1],
    )
