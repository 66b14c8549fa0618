"""The converted network against PyTorch's own outputs, and its labels on photographs whose content is known."""

import json
from pathlib import Path

import numpy as np
import pytest

from gallery.labels.classifier import (
    TOP_LABELS,
    ClassifierUnavailable,
    get_classifier,
    image_classes,
    model_file,
    model_input,
)

REFERENCE = json.loads((Path(__file__).resolve().parent / "reference_outputs.json").read_text())["photos"]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_converted_network_gives_pytorchs_outputs(photo, name):
    reference = REFERENCE[name]
    logits = get_classifier().logits(model_input(photo(name))[None])[0]
    np.testing.assert_allclose(logits, reference["logits"], atol=1e-4)
    labels = get_classifier().top_labels(logits)
    classes = image_classes()
    assert [label.wnid for label in labels] == [classes[entry["index"]].wnid for entry in reference["top5"]]
    for label, entry in zip(labels, reference["top5"], strict=True):
        assert label.probability == pytest.approx(entry["probability"], abs=1e-4)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ladybug.jpg", {"ladybug"}), ("cups.jpg", {"cup", "coffee mug"}), ("daisy.jpg", {"daisy"})],
)
def test_photographs_get_labels_naming_what_they_show(photo, name, expected):
    (labels,) = get_classifier().classify([photo(name)])
    assert len(labels) == TOP_LABELS
    assert labels[0].name in expected
    assert labels[0].probability > 0.4
    probabilities = [label.probability for label in labels]
    assert probabilities == sorted(probabilities, reverse=True)


def test_a_batch_gets_the_labels_each_image_gets_alone(photo):
    together = get_classifier().classify([photo("ladybug.jpg"), photo("cups.jpg")])
    alone = [get_classifier().classify([photo(name)])[0] for name in ("ladybug.jpg", "cups.jpg")]
    assert [[label.wnid for label in labels] for labels in together] == [
        [label.wnid for label in labels] for labels in alone
    ]


def test_classes_are_the_1000_sorted_wordnet_ids_with_short_names():
    classes = image_classes()
    assert len(classes) == 1000
    assert [entry.wnid for entry in classes] == sorted(entry.wnid for entry in classes)
    by_wnid = {entry.wnid: entry.name for entry in classes}
    assert by_wnid["n02123045"] == "tabby cat"
    assert by_wnid["n01440764"] == "tench"
    assert all("," not in entry.name for entry in classes)


def test_conversion_is_reproducible_byte_for_byte(settings, tmp_path):
    first = model_file().read_bytes()
    settings.SCROLLER_LABELS_MODEL_DIR = tmp_path
    assert model_file().read_bytes() == first


def test_missing_weights_make_the_classifier_unavailable_with_the_file_named(settings, tmp_path):
    settings.SCROLLER_LABELS_WEIGHTS = str(tmp_path / "nowhere.pth")
    settings.SCROLLER_LABELS_MODEL_DIR = tmp_path / "models"
    with pytest.raises(ClassifierUnavailable, match=r"nowhere\.pth"):
        get_classifier()


def test_corrupt_weights_make_the_classifier_unavailable(settings, tmp_path):
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"\x80\x02not a checkpoint at all")
    settings.SCROLLER_LABELS_WEIGHTS = str(damaged)
    settings.SCROLLER_LABELS_MODEL_DIR = tmp_path / "models"
    with pytest.raises(ClassifierUnavailable, match="unusable"):
        get_classifier()


def test_a_damaged_converted_file_is_rebuilt(settings, tmp_path, photo):
    settings.SCROLLER_LABELS_MODEL_DIR = tmp_path
    path = model_file()
    path.write_bytes(path.read_bytes()[:1000])
    (labels,) = get_classifier().classify([photo("ladybug.jpg")])
    assert labels[0].name == "ladybug"
