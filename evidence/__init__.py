"""evidence: harvest, classify and publish evidence on child sexual exploitation and children's social care."""

__version__ = "0.1.0"
