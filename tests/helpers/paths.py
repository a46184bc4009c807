"""Where things are: the checkout, the course package in it, and the folder for test artifacts."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "course"
ARTIFACTS = ROOT / "artifacts"
