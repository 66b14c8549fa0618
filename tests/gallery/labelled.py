"""Real ImageNet labels, by their WordNet ids, for tests that set an image's labels directly."""

TABBY = {"name": "tabby cat", "wnid": "n02123045"}
TIGER_CAT = {"name": "tiger cat", "wnid": "n02123159"}
GOLDEN_RETRIEVER = {"name": "golden retriever", "wnid": "n02099601"}
SPORTS_CAR = {"name": "sports car", "wnid": "n04285008"}
MOTOR_SCOOTER = {"name": "motor scooter", "wnid": "n03791053"}
ESPRESSO = {"name": "espresso", "wnid": "n07920052"}

RED = (0, 0.6)
BLUE = (220, 0.6)


def labels(*pairs: tuple[dict, float]) -> list[dict]:
    return [{**label, "probability": probability} for label, probability in pairs]
