"""Example: the model-folder template (copy it to ``videoqa/models/<name>/``; see
``docs/adding-a-model.md``). Importing the package registers the architecture."""

from videoqa.models.example.configuration import ExampleConfig
from videoqa.models.example.modeling import ExampleModel

__all__ = ["ExampleConfig", "ExampleModel"]
