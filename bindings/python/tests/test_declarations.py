"""The ctypes side of the package against the C headers of this checkout: every function of
include/unetseg.h declared once, in the header's sections and order, with as many argument types as its
prototype has parameters; every struct of include/unetseg_types.h mirrored field by field."""

import ctypes
import re
from pathlib import Path

import pytest

from unetseg import _declarations, _types
from unetseg._declarations import Function, Section

INCLUDE = Path(__file__).resolve().parents[3] / "include"

# The C scalar types of the structs and their ctypes mirrors.
_SCALARS = {
    "bool": ctypes.c_bool,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
}


def _header_sections():
    """(title, [(function, parameter count)]) for every section of unetseg.h, without the R binding's."""
    text = (INCLUDE / "unetseg.h").read_text()
    parts = re.split(r"/\* -{20,}\n \* (.*)\n \* -{20,} \*/", text)
    sections = []
    for title, body in zip(parts[1::2], parts[2::2]):
        functions = []
        for name, parameters in re.findall(r"^extern [^(;]*?\b(unetseg_\w+)\(([^)]*)\)", body, re.M):
            if not name.startswith("unetseg_r_"):
                count = 0 if parameters.strip() == "void" else parameters.count(",") + 1
                functions.append((name, count))
        if functions:
            sections.append((title, functions))
    return sections


def _python_sections():
    sections = []
    for declaration in _declarations.DECLARATIONS:
        if isinstance(declaration, Section):
            sections.append((declaration.title, []))
        else:
            assert isinstance(declaration, Function)
            sections[-1][1].append((declaration.name, len(declaration.arguments)))
    return sections


def test_the_declarations_follow_the_sections_and_order_of_the_header():
    header, python = _header_sections(), _python_sections()
    assert len(header) > 10
    assert [title for title, _ in python] == [title for title, _ in header]
    for (title, expected), (_, declared) in zip(header, python):
        assert [name for name, _ in declared] == [name for name, _ in expected], title


def test_every_declaration_has_the_prototypes_parameter_count():
    header = dict(f for _, functions in _header_sections() for f in functions)
    declared = dict(f for _, functions in _python_sections() for f in functions)
    assert {name: declared[name] for name in header if name in declared} == header


def _c_structs():
    """{struct name: [(field, C type, array size or None)]} of unetseg_types.h."""
    text = re.sub(r"/\*.*?\*/", "", (INCLUDE / "unetseg_types.h").read_text(), flags=re.S)
    structs = {}
    for body, name in re.findall(r"typedef struct \w+ \{(.*?)\} (\w+);", text, re.S):
        fields = re.findall(r"([\w ]+?\*?)\s*\b(\w+)(?:\[(\d+)\])?;", body)
        structs[name] = [(field, " ".join(ctype.split()), int(size) if size else None)
                         for ctype, field, size in fields]
    return structs


def _mirror(ctype, size):
    """The ctypes type a C field type (with an array size or None) maps to."""
    if ctype in ("char const *", "const char *"):
        return ctypes.c_char_p
    if ctype == "char" and size:
        return ctypes.c_char * size
    if ctype in _SCALARS:
        return _SCALARS[ctype]
    return _mirrors()[ctype]


def _mirrors():
    """{C struct name: its ctypes Structure}, from the ``unetseg_...`` name opening each docstring."""
    found = {}
    for value in vars(_types).values():
        if isinstance(value, type) and issubclass(value, ctypes.Structure) and value.__doc__:
            match = re.match(r"``(unetseg_\w+)``", value.__doc__)
            if match:
                found[match.group(1)] = value
    return found


def test_every_struct_of_the_types_header_is_mirrored_field_by_field():
    structs, mirrors = _c_structs(), _mirrors()
    assert len(structs) > 10
    assert sorted(mirrors) == sorted(structs)
    for name, fields in structs.items():
        expected = [(field, _mirror(ctype, size)) for field, ctype, size in fields]
        actual = list(mirrors[name]._fields_)
        assert [field for field, _ in actual] == [field for field, _, _ in fields], name
        for (field, want), (_, have) in zip(expected, actual):
            assert have == want or (issubclass(want, ctypes.Array) and have._type_ is want._type_
                                    and have._length_ == want._length_), f"{name}.{field}"


@pytest.mark.parametrize("constant, value", [("UNETSEG_API_VERSION", _types.API_VERSION),
                                             ("UNETSEG_MAX_NDIM", _types.MAX_NDIM)])
def test_the_constants_match_the_types_header(constant, value):
    text = (INCLUDE / "unetseg_types.h").read_text()
    assert re.search(rf"^#define {constant} (\d+)$", text, re.M).group(1) == str(value)
