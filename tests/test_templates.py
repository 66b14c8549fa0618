import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
# A link or form target written as a path ("/accounts/login/") instead of {% url %} or {% static %}.
HARD_CODED_PATH = re.compile(r'\b(?:href|action|src|data-[\w-]+)="/')


def test_templates_name_their_links_with_url_tags_not_paths():
    templates = [path for path in REPOSITORY.glob("**/templates/**/*.html") if ".venv" not in path.parts]
    assert templates, "no templates found"

    offending = [
        f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}"
        for path in templates
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HARD_CODED_PATH.search(line)
    ]

    assert offending == []
