"""Cached per-video features: the store (:mod:`videoqa.features.store`) and the
extraction job that fills it (:mod:`videoqa.features.extract`)."""

from videoqa.features.store import (
    FeatureNotFoundError,
    FeatureStore,
    FeatureStoreError,
    FeatureWriter,
    StoreMeta,
    StoreMismatchError,
    VideoFeatures,
)

__all__ = [
    "FeatureNotFoundError",
    "FeatureStore",
    "FeatureStoreError",
    "FeatureWriter",
    "StoreMeta",
    "StoreMismatchError",
    "VideoFeatures",
]
