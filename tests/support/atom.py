"""Reading Atom feeds in tests: a missing element fails with its name, not a None error."""

from __future__ import annotations

from xml.etree import ElementTree
from xml.etree.ElementTree import Element

NS = "{http://www.w3.org/2005/Atom}"


def parse(content: bytes) -> Element:
    return ElementTree.fromstring(content)


def child(element: Element, path: str) -> Element:
    """The first element at `path` ("entry/summary": Atom names, no namespace needed)."""
    found = element.find("/".join(NS + part for part in path.split("/")))
    assert found is not None, f"the feed has no <{path}> here"
    return found


def text(element: Element, path: str) -> str:
    return child(element, path).text or ""


def children(element: Element, path: str) -> list[Element]:
    return element.findall("/".join(NS + part for part in path.split("/")))
