import pytest

from videoqa.errors import DuplicateNameError, UnknownNameError
from videoqa.registry import Registry


def test_register_get_and_list():
    reg: Registry = Registry("thing")

    @reg.register("b")
    def make_b():
        return "b"

    reg.register("a", lambda: "a")
    assert reg.names() == ["a", "b"]
    assert reg.get("b") is make_b and reg.get("a")() == "a"
    assert "a" in reg and "c" not in reg and len(reg) == 2


def test_duplicates_raise():
    reg: Registry = Registry("thing")
    reg.register("x", 1)
    with pytest.raises(DuplicateNameError, match="'x' is already registered"):
        reg.register("x", 2)
    assert reg.get("x") == 1


def test_unknown_names_list_the_known_ones():
    reg: Registry = Registry("sampler")
    reg.register("uniform", 1)
    with pytest.raises(UnknownNameError, match="unknown sampler 'fps'; registered: uniform"):
        reg.get("fps")


def test_empty_name_rejected():
    with pytest.raises(ValueError):
        Registry("thing").register("", 1)
