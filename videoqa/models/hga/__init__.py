"""HGA: heterogeneous graph alignment over video units and question+answer words
(Jiang & Han, AAAI 2020)."""

from videoqa.models.hga.configuration import HGAConfig
from videoqa.models.hga.modeling import HGAModel

__all__ = ["HGAConfig", "HGAModel"]
