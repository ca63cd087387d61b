#!/usr/bin/python3
"""Generates the Kafka message codecs from the descriptions in schemas/kafka/*.api.

The description format is ours (docs/kafka-schemas.md); the field lists in it are facts of the
public Kafka protocol. For every description this writes, into OUT_DIR/kafka/protocol/messages/:

  <api>.h, <api>.cc   the request and response structs, and decode_/encode_ functions that read
                      and write them with the bounds-checked reader and writer of wire.h;
and once:
  catalog.h, catalog.cc  every API with its versions and a decode-then-encode function per side,
                         for the fuzz target and the golden-bytes tests;
  samples.h, samples.cc  (test support) a deterministic sample of every struct for a version, for
                         the round-trip tests.

Usage: kafka_codegen.py OUT_DIR SCHEMA.api...   (prints nothing on success; errors name file:line)
"""
import os
import re
import sys

PRIMITIVES = {
    # type: (C++ type, default, read expression, write statement)
    "bool": ("bool", "false", "{r}.read_bool()", "{w}.write_bool({v});"),
    "int8": ("std::int8_t", "0", "{r}.read_int8()", "{w}.write_int8({v});"),
    "int16": ("std::int16_t", "0", "{r}.read_int16()", "{w}.write_int16({v});"),
    "int32": ("std::int32_t", "0", "{r}.read_int32()", "{w}.write_int32({v});"),
    "int64": ("std::int64_t", "0", "{r}.read_int64()", "{w}.write_int64({v});"),
    "uint32": ("std::uint32_t", "0", "{r}.read_uint32()", "{w}.write_uint32({v});"),
    "uuid": ("uuid", "{}", "{r}.read_uuid()", "{w}.write_uuid({v});"),
    "error": ("error_code", "error_code::none", "static_cast<error_code>({r}.read_int16())",
              "{w}.write_int16(static_cast<std::int16_t>({v}));"),
    "api_key": ("api_key", "api_key::produce", "static_cast<api_key>({r}.read_int16())",
                "{w}.write_int16(static_cast<std::int16_t>({v}));"),
    "string": ("std::string", None, "{r}.read_string({f})", "{w}.write_string({v}, {f});"),
    "bytes": ("std::string", None, "{r}.read_bytes({f})", "{w}.write_bytes({v}, {f});"),
}
# Nullable forms of the types that have one on the wire.
NULLABLE_READ = {
    "string": "{r}.read_nullable_string({f})",
    "bytes": "{r}.read_nullable_bytes({f})",
}
NULLABLE_WRITE = {
    "string": "{w}.write_nullable_string({v}, {f});",
    "bytes": "{w}.write_nullable_bytes({v}, {f});",
}
MAX_VERSION = 0x7FFF


class SchemaError(Exception):
    pass


class Versions:
    """An inclusive version range: "3+" is 3 up to the API's last version, "3-5" is 3 to 5."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text):
        m = re.fullmatch(r"(\d+)\+", text)
        if m:
            return Versions(int(m.group(1)), MAX_VERSION)
        m = re.fullmatch(r"(\d+)-(\d+)", text)
        if m and int(m.group(1)) <= int(m.group(2)):
            return Versions(int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"(\d+)", text)
        if m:
            return Versions(int(m.group(1)), int(m.group(1)))
        return None

    def clip(self, other):
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def empty(self):
        return self.lo > self.hi

    def covers(self, other):
        return self.lo <= other.lo and other.hi <= self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi

    def condition(self, var, within):
        """A C++ condition on `var` that holds in these versions, given that `var` is in `within`."""
        parts = []
        if self.lo > within.lo:
            parts.append(f"{var} >= {self.lo}")
        if self.hi < within.hi:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else None


class Field:
    def __init__(self, where, name, kind, elem, nullable, versions, tag, default, comment):
        self.where, self.name, self.kind, self.elem = where, name, kind, elem
        self.nullable = nullable  # Versions or None
        self.versions, self.tag, self.default, self.comment = versions, tag, default, comment
        self.struct = None  # the Struct of a struct or struct-array field


class Struct:
    def __init__(self, name, versions, comment=""):
        self.name, self.versions, self.comment = name, versions, comment
        self.fields = []


class Api:
    def __init__(self, path):
        self.path = path
        self.comment = []
        self.name = None
        self.key = None
        self.versions = None
        self.flexible = None  # first flexible version or None
        self.request = None
        self.response = None

    def framing_expr(self, var):
        if self.flexible is None:
            return "framing::classic"
        return f"({var} >= {self.flexible} ? framing::flexible : framing::classic)"


TYPE_RE = re.compile(r"^(?:\[(?P<arr>[a-z0-9_]+)\](?P<arrnull>\?)?|\{(?P<st>[a-z0-9_]+)\}|(?P<prim>[a-z0-9_]+)(?P<null>\?)?)$")


def parse(path):
    api = Api(path)
    stack = []  # (indent, Struct) of open structs
    last_field = None
    last_indent = None
    with open(path) as fh:
        lines = fh.read().split("\n")
    for lineno, raw in enumerate(lines, 1):
        where = f"{path}:{lineno}"
        code, _, comment = raw.partition("#")
        comment = comment.strip()
        if not code.strip():
            if comment and api.name is None:
                api.comment.append(comment)
            continue
        if "\t" in code:
            raise SchemaError(f"{where}: tabs are not allowed; indent with two spaces")
        indent = len(code) - len(code.lstrip(" "))
        tokens = code.split()
        if indent == 0:
            last_field = None
            if tokens[0] == "api":
                api.name = tokens[1]
                opts = dict(zip(tokens[2::2], tokens[3::2]))
                if len(tokens) % 2 != 0 or set(opts) - {"key", "versions", "flexible"}:
                    raise SchemaError(f"{where}: expected 'api NAME key N versions A-B flexible V+|none'")
                api.key = int(opts["key"])
                api.versions = Versions.parse(opts["versions"])
                if api.versions is None or api.versions.hi == MAX_VERSION:
                    raise SchemaError(f"{where}: versions must be a closed range A-B")
                flex = opts.get("flexible", "none")
                api.flexible = None if flex == "none" else Versions.parse(flex).lo
            elif tokens[0] in ("request", "response"):
                if api.name is None:
                    raise SchemaError(f"{where}: the 'api' line comes first")
                if len(tokens) != 2:
                    raise SchemaError(f"{where}: expected '{tokens[0]} STRUCT_NAME'")
                s = Struct(tokens[1], api.versions, comment)
                setattr(api, tokens[0], s)
                stack = [(0, s)]
            else:
                raise SchemaError(f"{where}: unknown line '{tokens[0]}'")
            continue
        if not stack:
            raise SchemaError(f"{where}: a field outside a request or response")
        if indent % 2:
            raise SchemaError(f"{where}: indent by two spaces")
        # Close structs deeper than this line; open the previous field's struct if this is nested.
        if last_field is not None and indent > last_indent:
            if indent != last_indent + 2 or last_field.struct is None:
                raise SchemaError(f"{where}: only the fields of a struct or struct array are indented further")
            stack.append((last_indent, last_field.struct))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if not stack or indent != stack[-1][0] + 2:
            raise SchemaError(f"{where}: indentation does not match any open struct")
        owner = stack[-1][1]
        field = parse_field(where, tokens, comment, owner)
        owner.fields.append(field)
        last_field, last_indent = field, indent
    if api.name is None or api.request is None or api.response is None:
        raise SchemaError(f"{path}: needs an 'api' line, a request and a response")
    for s in (api.request, api.response):
        check_struct(api, s)
    return api


def parse_field(where, tokens, comment, owner):
    if len(tokens) < 2:
        raise SchemaError(f"{where}: expected 'NAME TYPE [VERSIONS] [tag=N] [default=V] [nullable=V+]'")
    name, type_text = tokens[0], tokens[1]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SchemaError(f"{where}: field names are lower_snake_case")
    m = TYPE_RE.match(type_text)
    if not m:
        raise SchemaError(f"{where}: cannot read the type '{type_text}'")
    versions, tag, default, nullable = owner.versions, None, None, None
    for opt in tokens[2:]:
        if opt.startswith("tag="):
            tag = int(opt[4:])
        elif opt.startswith("default="):
            default = opt[8:]
        elif opt.startswith("nullable="):
            nullable = Versions.parse(opt[9:])
            if nullable is None:
                raise SchemaError(f"{where}: cannot read '{opt}'")
        else:
            v = Versions.parse(opt)
            if v is None:
                raise SchemaError(f"{where}: cannot read '{opt}'")
            versions = v.clip(owner.versions)
    if versions.empty():
        raise SchemaError(f"{where}: the field's versions lie outside its struct's")
    elem = None
    if m.group("arr"):
        kind, elem = "array", m.group("arr")
        if m.group("arrnull") and nullable is None:
            nullable = versions
    elif m.group("st"):
        kind, elem = "struct", m.group("st")
    else:
        kind = m.group("prim")
        if kind not in PRIMITIVES and kind != "records":
            raise SchemaError(f"{where}: unknown type '{kind}'")
        if m.group("null"):
            if kind not in NULLABLE_READ:
                raise SchemaError(f"{where}: {kind} has no nullable form")
            if nullable is None:
                nullable = versions
        if kind == "records":
            nullable = versions  # records are nullable bytes in every version
    if nullable is not None:
        nullable = nullable.clip(versions)
    if kind == "array" and nullable is not None and elem not in PRIMITIVES:
        pass
    f = Field(where, name, kind, elem, nullable, versions, tag, default, comment)
    if kind == "struct" or (kind == "array" and elem not in PRIMITIVES):
        f.struct = Struct(elem, versions, comment)
    return f


def check_struct(api, s):
    names = set()
    tags = set()
    for f in s.fields:
        if f.name in names:
            raise SchemaError(f"{f.where}: field '{f.name}' twice")
        names.add(f.name)
        if f.tag is not None:
            if api.flexible is None or f.versions.lo < api.flexible:
                raise SchemaError(f"{f.where}: a tagged field exists only in flexible versions")
            if f.tag in tags:
                raise SchemaError(f"{f.where}: tag {f.tag} twice")
            tags.add(f.tag)
        if f.kind == "struct" and f.tag is None:
            raise SchemaError(f"{f.where}: a single struct field must be tagged (Kafka has no other kind)")
        if f.struct is not None:
            if not f.struct.fields:
                raise SchemaError(f"{f.where}: struct '{f.elem}' has no fields")
            check_struct(api, f.struct)


# --- C++ emission ---------------------------------------------------------------------------------


def structs_post_order(s, out):
    for f in s.fields:
        if f.struct is not None:
            structs_post_order(f.struct, out)
    out.append(s)
    return out


def elem_cpp(f):
    if f.elem in PRIMITIVES:
        return PRIMITIVES[f.elem][0]
    return f.elem


def cpp_type(f):
    if f.kind == "records":
        return "std::optional<byte_chain>"
    if f.kind == "array":
        t = f"std::vector<{elem_cpp(f)}>"
    elif f.kind == "struct":
        return f"std::optional<{f.elem}>"
    else:
        t = PRIMITIVES[f.kind][0]
    if f.nullable is not None:
        return f"std::optional<{t}>"
    return t


def cpp_default(f):
    if f.default is not None:
        if f.default == "null":
            return None
        if f.kind in ("string", "bytes"):
            return f'"{f.default}"' if not f.default.startswith('"') else f.default
        if f.kind == "bool":
            return f.default
        return f.default
    if f.kind in PRIMITIVES and f.nullable is None:
        return PRIMITIVES[f.kind][1]
    return None


def member_line(f):
    d = cpp_default(f)
    init = f" = {d}" if d is not None and d != "{}" else ("{}" if d == "{}" else "")
    notes = []
    if f.comment:
        notes.append(f.comment)
    return f"  {cpp_type(f)} {f.name}{init};" + (f"  // {'; '.join(notes)}" if notes else "")


def read_value(f, r, fr, version):
    """An expression reading one value of field f (not tagged, not nullable-aware)."""
    if f.kind == "records":
        return f"{r}.read_nullable_chain({fr})"
    if f.kind == "array":
        if f.elem == "int32":
            return f"read_int32_array({r}, {fr})"
        if f.elem == "string":
            return f"read_string_array({r}, {fr})"
        if f.elem in PRIMITIVES:
            one = PRIMITIVES[f.elem][2].format(r="in", f=fr)
            body = f"[{captures(None, fr)}](reader& in) {{ return {one}; }}"
        else:
            body = f"[{captures(version, fr)}](reader& in) {{ return read_{f.elem}(in, {version}, {fr}); }}"
        return f"read_array<{elem_cpp(f)}>({r}, {fr}, {body})"
    if f.kind == "struct":
        return f"read_{f.elem}({r}, {version}, {fr})"
    return PRIMITIVES[f.kind][2].format(r=r, f=fr)


def read_nullable_value(f, r, fr, version):
    if f.kind == "array":
        if f.elem in PRIMITIVES:
            one = PRIMITIVES[f.elem][2].format(r="in", f=fr)
            body = f"[{captures(None, fr)}](reader& in) {{ return {one}; }}"
        else:
            body = f"[{captures(version, fr)}](reader& in) {{ return read_{f.elem}(in, {version}, {fr}); }}"
        return f"read_nullable_array<{elem_cpp(f)}>({r}, {fr}, {body})"
    if f.kind == "records":
        return f"{r}.read_nullable_chain({fr})"
    return NULLABLE_READ[f.kind].format(r=r, f=fr)


def captures(version, fr):
    """The lambda capture list for an element reader or writer: what of `version` and `fr` it uses."""
    names = [n for n, used in (("version", version == "version"), ("f", fr == "f")) if used]
    return ", ".join(names)


def write_value(f, w, v, fr, version):
    """Statements writing one (non-null) value of field f."""
    if f.kind == "records":
        return f"{w}.write_nullable_bytes({v}, {fr});"
    if f.kind == "array":
        if f.elem == "int32":
            return f"write_int32_array({w}, {fr}, {v});"
        if f.elem == "string":
            return f"write_string_array({w}, {fr}, {v});"
        if f.elem in PRIMITIVES:
            one = PRIMITIVES[f.elem][3].format(w="out", v="x", f=fr)
        else:
            one = f"write_{f.elem}(out, x, {version}, {fr});"
        cap = captures(version if f.elem not in PRIMITIVES else None, fr)
        return (f"write_array({w}, {fr}, {v}, [{cap}](writer& out, const "
                f"{elem_cpp(f)}& x) {{ {one} }});")
    if f.kind == "struct":
        return f"write_{f.elem}({w}, {v}, {version}, {fr});"
    return PRIMITIVES[f.kind][3].format(w=w, v=v, f=fr)


def write_nullable_value(f, w, v, fr, version):
    if f.kind == "array":
        if f.elem in PRIMITIVES:
            one = PRIMITIVES[f.elem][3].format(w="out", v="x", f=fr)
        else:
            one = f"write_{f.elem}(out, x, {version}, {fr});"
        cap = captures(version if f.elem not in PRIMITIVES else None, fr)
        return (f"write_nullable_array({w}, {fr}, {v}, [{cap}](writer& out, "
                f"const {elem_cpp(f)}& x) {{ {one} }});")
    if f.kind == "records":
        return f"{w}.write_nullable_bytes({v}, {fr});"
    return NULLABLE_WRITE[f.kind].format(w=w, v=v, f=fr)


def empty_value(f):
    """The value written for a null in a version where the field is not nullable."""
    if f.kind == "array":
        return f"std::vector<{elem_cpp(f)}>{{}}"
    return "std::string{}"


def emit_read_field(f, s, out, ind):
    cond = f.versions.condition("version", s.versions)
    pad = ind + ("  " if cond else "")
    if cond:
        out.append(f"{ind}if ({cond}) {{")
    if f.nullable is None:
        out.append(f"{pad}m.{f.name} = {read_value(f, 'r', 'f', 'version')};")
    elif f.nullable.covers(f.versions):
        out.append(f"{pad}m.{f.name} = {read_nullable_value(f, 'r', 'f', 'version')};")
    else:
        ncond = f.nullable.condition("version", f.versions)
        out.append(f"{pad}if ({ncond}) m.{f.name} = {read_nullable_value(f, 'r', 'f', 'version')};")
        out.append(f"{pad}else m.{f.name} = {read_value(f, 'r', 'f', 'version')};")
    if cond:
        out.append(f"{ind}}}")


def emit_write_field(f, s, out, ind):
    cond = f.versions.condition("version", s.versions)
    pad = ind + ("  " if cond else "")
    if cond:
        out.append(f"{ind}if ({cond}) {{")
    if f.nullable is None:
        out.append(f"{pad}{write_value(f, 'w', 'm.' + f.name, 'f', 'version')}")
    elif f.nullable.covers(f.versions):
        out.append(f"{pad}{write_nullable_value(f, 'w', 'm.' + f.name, 'f', 'version')}")
    else:
        ncond = f.nullable.condition("version", f.versions)
        out.append(f"{pad}if ({ncond}) {{")
        out.append(f"{pad}  {write_nullable_value(f, 'w', 'm.' + f.name, 'f', 'version')}")
        out.append(f"{pad}}} else {{")
        out.append(f"{pad}  // Not nullable in this version: a null goes out empty.")
        out.append(f"{pad}  {write_value(f, 'w', f'(m.{f.name} ? *m.{f.name} : {empty_value(f)})', 'f', 'version')}")
        out.append(f"{pad}}}")
    if cond:
        out.append(f"{ind}}}")


def tagged_is_set(f):
    """A C++ condition: the tagged field differs from its default, so it goes on the wire."""
    if f.kind == "struct" or f.nullable is not None:
        return f"m.{f.name}.has_value()"
    if f.kind == "array":
        return f"!m.{f.name}.empty()"
    d = cpp_default(f)
    if f.kind in ("string", "bytes"):
        return f"m.{f.name} != {d or 'std::string{}'}"
    return f"m.{f.name} != {d}"


def emit_struct_codec(api, s, out):
    tagged = [f for f in s.fields if f.tag is not None]
    plain = [f for f in s.fields if f.tag is None]
    out.append(f"{s.name} read_{s.name}(reader& r, std::int16_t version, framing f) {{")
    out.append(f"  {s.name} m;")
    if not s.fields:
        pass
    for f in plain:
        emit_read_field(f, s, out, "  ")
    if tagged:
        out.append("  r.read_tagged_fields(f, [&m, version](std::uint32_t tag, reader& field) {")
        out.append("    switch (tag) {")
        for f in sorted(tagged, key=lambda x: x.tag):
            cond = f.versions.condition("version", s.versions)
            out.append(f"      case {f.tag}:")
            rd = (read_nullable_value(f, "field", "framing::flexible", "version") if f.nullable is not None
                  else read_value(f, "field", "framing::flexible", "version"))
            if cond:
                out.append(f"        if ({cond}) m.{f.name} = {rd};")
            else:
                out.append(f"        m.{f.name} = {rd};")
            out.append("        break;")
        out.append("      default:  // a tag this version does not define: skipped (KIP-482)")
        out.append("        break;")
        out.append("    }")
        out.append("  });")
        if not any(True for _ in [1]):
            pass
    else:
        out.append("  r.skip_tagged_fields(f);")
    # `version` may go unused in a struct whose fields exist in every version.
    out.append("  (void)version;")
    out.append("  return m;")
    out.append("}")
    out.append("")
    out.append(f"void write_{s.name}(writer& w, const {s.name}& m, std::int16_t version, framing f) {{")
    for f in plain:
        emit_write_field(f, s, out, "  ")
    if tagged:
        out.append("  std::vector<tagged_field> tags;")
        out.append("  if (f == framing::flexible) {")
        for f in sorted(tagged, key=lambda x: x.tag):
            cond = f.versions.condition("version", s.versions)
            c = tagged_is_set(f)
            if cond:
                c = f"{cond} && {c}"
            out.append(f"    if ({c}) {{")
            out.append("      writer t;")
            if f.kind == "struct":
                out.append(f"      {write_value(f, 't', '*m.' + f.name, 'framing::flexible', 'version')}")
            elif f.nullable is not None:
                out.append(f"      {write_nullable_value(f, 't', 'm.' + f.name, 'framing::flexible', 'version')}")
            else:
                out.append(f"      {write_value(f, 't', 'm.' + f.name, 'framing::flexible', 'version')}")
            out.append(f"      tags.push_back({{{f.tag}, t.take()}});")
            out.append("    }")
        out.append("  }")
        out.append("  w.write_tagged_fields(f, tags);")
    else:
        out.append("  w.write_empty_tagged_fields(f);")
    out.append("  (void)version;")
    out.append("}")
    out.append("")


def header_comment(api):
    lines = [f"// Generated by kafka/protocol/codegen/kafka_codegen.py from {os.path.relpath(api.path, ROOT)}:"]
    lines.append("// do not edit; change the description and rebuild (docs/kafka-schemas.md).")
    for c in api.comment:
        lines.append(f"// {c}")
    return lines


def emit_header(api):
    out = header_comment(api)
    out += ["#pragma once", "", "#include <cstdint>", "#include <expected>", "#include <optional>",
            "#include <string>", "#include <vector>", "", '#include "kafka/protocol/api.h"',
            '#include "kafka/protocol/byte_chain.h"', '#include "kafka/protocol/error_code.h"',
            '#include "kafka/protocol/wire.h"', "", "namespace chronik::kafka {", ""]
    flex = api.flexible if api.flexible is not None else -1
    out.append(f"inline constexpr version_range {api.name}_versions{{{api.versions.lo}, {api.versions.hi}}};")
    out.append(f"// The first flexible version (KIP-482), or -1 when none is.")
    out.append(f"inline constexpr std::int16_t {api.name}_first_flexible = {flex};")
    out.append("")
    for top in (api.request, api.response):
        for s in structs_post_order(top, []):
            if s.comment:
                out.append(f"// {s.comment}")
            out.append(f"struct {s.name} {{")
            for f in s.fields:
                ver = ""
                if f.versions.lo > s.versions.lo or f.versions.hi < s.versions.hi:
                    if f.versions.hi >= api.versions.hi:
                        ver = f"v{f.versions.lo}+"
                    elif f.versions.lo == f.versions.hi:
                        ver = f"v{f.versions.lo} only"
                    else:
                        ver = f"v{f.versions.lo}-{f.versions.hi}"
                if f.tag is not None:
                    ver = (ver + ", " if ver else "") + f"tag {f.tag}"
                line = member_line(f)
                if ver:
                    line = line + ("; " if "//" in line else "  // ") + ver
                out.append(line)
            out.append(f"  bool operator==(const {s.name}&) const = default;")
            out.append("};")
            out.append("")
    for side in ("request", "response"):
        s = getattr(api, side)
        out.append(f"std::expected<{s.name}, codec_error> decode_{s.name}(reader& r, std::int16_t version);")
        out.append(f"void encode_{s.name}(const {s.name}& m, std::int16_t version, writer& w);")
    out += ["", "}  // namespace chronik::kafka", ""]
    return "\n".join(out)


def emit_source(api):
    out = header_comment(api)
    out += [f'#include "kafka/protocol/messages/{api.name}.h"', "", '#include "base/assert.h"', "",
            "namespace chronik::kafka {", "", "namespace {", ""]
    for top in (api.request, api.response):
        structs = structs_post_order(top, [])
        for s in structs:
            out.append(f"{s.name} read_{s.name}(reader& r, std::int16_t version, framing f);")
            out.append(f"void write_{s.name}(writer& w, const {s.name}& m, std::int16_t version, framing f);")
    out.append("")
    for top in (api.request, api.response):
        for s in structs_post_order(top, []):
            emit_struct_codec(api, s, out)
    # An API with no flexible version frames every version alike: the parameter is then unused.
    param = "std::int16_t version" if api.flexible is not None else "std::int16_t /*version*/"
    out.append(f"framing framing_of({param}) {{ return {api.framing_expr('version')}; }}")
    out += ["", "}  // namespace", ""]
    for side in ("request", "response"):
        s = getattr(api, side)
        out.append(f"std::expected<{s.name}, codec_error> decode_{s.name}(reader& r, std::int16_t version) {{")
        out.append(f"  if (!{api.name}_versions.contains(version)) {{")
        out.append(f"    return std::unexpected(unsupported_version_error(static_cast<api_key>({api.key}), version));")
        out.append("  }")
        out.append(f"  {s.name} m = read_{s.name}(r, version, framing_of(version));")
        out.append("  return finish(r, std::move(m));")
        out.append("}")
        out.append("")
        out.append(f"void encode_{s.name}(const {s.name}& m, std::int16_t version, writer& w) {{")
        out.append(f'  CHRONIK_EXPECTS({api.name}_versions.contains(version), "encoding a {api.name} version we do not implement");')
        out.append(f"  write_{s.name}(w, m, version, framing_of(version));")
        out.append("}")
        out.append("")
    out += ["}  // namespace chronik::kafka", ""]
    return "\n".join(out)


def emit_catalog(apis):
    h = ["// Generated by kafka/protocol/codegen/kafka_codegen.py from schemas/kafka/*.api: do not edit.",
         "// Every API that has a description, with its versions and, per side, a function that decodes a",
         "// body and encodes it again: the fuzz target and the golden-bytes tests drive every API and",
         "// version through it.",
         "#pragma once", "", "#include <cstdint>", "#include <expected>", "#include <span>", "#include <string>",
         "#include <string_view>", "", '#include "kafka/protocol/api.h"', '#include "kafka/protocol/codec_error.h"',
         "", "namespace chronik::kafka {", "",
         "struct message_codec {",
         "  api_key key;",
         "  std::string_view name;",
         "  version_range versions;",
         "  std::int16_t first_flexible;  // -1: no version is flexible",
         "  // Decodes a body of `version` and encodes the result again.",
         "  std::expected<std::string, codec_error> (*reencode_request)(std::string_view body, std::int16_t version);",
         "  std::expected<std::string, codec_error> (*reencode_response)(std::string_view body, std::int16_t version);",
         "};", "",
         "// Sorted by key.",
         "std::span<const message_codec> message_codecs();",
         "// The codec of `key`, or nullptr when it has no description.",
         "const message_codec* find_message_codec(api_key key);", "",
         "}  // namespace chronik::kafka", ""]
    c = ["// Generated by kafka/protocol/codegen/kafka_codegen.py from schemas/kafka/*.api: do not edit.",
         '#include "kafka/protocol/messages/catalog.h"', "", "#include <algorithm>", ""]
    for a in apis:
        c.append(f'#include "kafka/protocol/messages/{a.name}.h"')
    c += ["", "namespace chronik::kafka {", "", "namespace {", "",
          "template <class T, class Decode, class Encode>",
          "std::expected<std::string, codec_error> reencode(std::string_view body, std::int16_t version, Decode decode,",
          "                                                 Encode encode) {",
          "  reader r(body);",
          "  std::expected<T, codec_error> m = decode(r, version);",
          "  if (!m) return std::unexpected(m.error());",
          "  writer w;",
          "  encode(*m, version, w);",
          "  return w.take();",
          "}", "",
          "constexpr message_codec codecs[] = {"]
    for a in sorted(apis, key=lambda x: x.key):
        rq, rs = a.request.name, a.response.name
        flex = a.flexible if a.flexible is not None else -1
        c.append(f'    {{static_cast<api_key>({a.key}), "{a.name}", {a.name}_versions, {flex},')
        c.append(f"     [](std::string_view b, std::int16_t v) {{ return reencode<{rq}>(b, v, decode_{rq}, encode_{rq}); }},")
        c.append(f"     [](std::string_view b, std::int16_t v) {{ return reencode<{rs}>(b, v, decode_{rs}, encode_{rs}); }}}},")
    c += ["};", "", "}  // namespace", "",
          "std::span<const message_codec> message_codecs() { return codecs; }", "",
          "const message_codec* find_message_codec(api_key key) {",
          "  const auto* it = std::find_if(std::begin(codecs), std::end(codecs),",
          "                                [key](const message_codec& c) { return c.key == key; });",
          "  return it == std::end(codecs) ? nullptr : it;",
          "}", "", "}  // namespace chronik::kafka", ""]
    return "\n".join(h), "\n".join(c)


# --- samples (test support) -----------------------------------------------------------------------


def sample_value(f, version_var):
    """An expression for a deterministic non-default value of field f, drawn from `g`."""
    k = f.kind
    if k == "records":
        return "byte_chain(g.text(32))"
    if k == "array":
        if f.elem in PRIMITIVES:
            one = sample_prim(f.elem)
        else:
            one = f"sample_{f.elem}(g, {version_var})"
        return f"g.list<{elem_cpp(f)}>([&] {{ return {one}; }})"
    if k == "struct":
        return f"sample_{f.elem}(g, {version_var})"
    return sample_prim(k)


def sample_prim(k):
    return {
        "bool": "g.flag()",
        "int8": "static_cast<std::int8_t>(g.number())",
        "int16": "static_cast<std::int16_t>(g.number())",
        "int32": "static_cast<std::int32_t>(g.number())",
        "int64": "static_cast<std::int64_t>(g.number()) * 1000003",
        "uint32": "static_cast<std::uint32_t>(g.number())",
        "uuid": "g.id()",
        "error": "static_cast<error_code>(g.number() % 120)",
        "api_key": "static_cast<api_key>(g.number() % 100)",
        "string": "g.text(12)",
        "bytes": "g.text(20)",
    }[k]


def emit_samples(apis):
    h = ["// Generated by kafka/protocol/codegen/kafka_codegen.py from schemas/kafka/*.api: do not edit.",
         "// Test support: a deterministic sample of every request and response for a version, with",
         "// every field that version has set from a seed (nulls and empty arrays included now and then),",
         "// so a round trip through encode and decode must give back exactly the sample.",
         "#pragma once", "", "#include <cstdint>", "#include <string>", "", '#include "kafka/protocol/messages/catalog.h"',
         "", "namespace chronik::kafka::samples {", "",
         "// Encodes a sample request (or response) of `version` drawn from `seed`, decodes it and checks that",
         "// the result equals the sample and encodes to the same bytes. Returns \"\" or what differed.",
         "std::string round_trip(api_key key, bool request, std::int16_t version, std::uint64_t seed);",
         "// The encoded bytes of that sample (for fuzz corpora).",
         "std::string encoded(api_key key, bool request, std::int16_t version, std::uint64_t seed);", "",
         "}  // namespace chronik::kafka::samples", ""]
    c = ["// Generated by kafka/protocol/codegen/kafka_codegen.py from schemas/kafka/*.api: do not edit.",
         '#include "kafka/protocol/messages/samples.h"', "", "#include <functional>", "#include <vector>", "",
         '#include "base/rng.h"']
    for a in apis:
        c.append(f'#include "kafka/protocol/messages/{a.name}.h"')
    c += ["", "namespace chronik::kafka::samples {", "", "namespace {", "",
          "// Values from a seeded generator; small, so samples stay small.",
          "struct gen {",
          "  chronik::rng rng;",
          "  std::uint64_t number() { return rng.below(1000); }",
          "  bool flag() { return rng.below(2) == 1; }",
          "  bool null_now() { return rng.below(4) == 0; }",
          "  std::string text(std::size_t max) {",
          "    std::string s(rng.below(max + 1), 'a');",
          "    for (char& ch : s) ch = static_cast<char>('a' + rng.below(26));",
          "    return s;",
          "  }",
          "  uuid id() {",
          "    uuid u{};",
          "    for (auto& b : u) b = static_cast<std::uint8_t>(rng.below(256));",
          "    return u;",
          "  }",
          "  template <class T, class F>",
          "  std::vector<T> list(F&& one) {",
          "    std::vector<T> out(rng.below(3));",
          "    for (auto& x : out) x = one();",
          "    return out;",
          "  }",
          "};", ""]
    for a in apis:
        for top in (a.request, a.response):
            for s in structs_post_order(top, []):
                c.append(f"{s.name} sample_{s.name}(gen& g, std::int16_t version);")
    c.append("")
    for a in apis:
        for top in (a.request, a.response):
            for s in structs_post_order(top, []):
                c.append(f"{s.name} sample_{s.name}(gen& g, std::int16_t version) {{")
                c.append(f"  {s.name} m;")
                for f in s.fields:
                    conds = [f"version >= {f.versions.lo}", f"version <= {f.versions.hi}"]
                    c.append(f"  if ({' && '.join(conds)}) {{")
                    val = sample_value(f, "version")
                    if f.nullable is not None or f.kind in ("struct", "records"):
                        if f.kind in ("struct",) or f.nullable is None:
                            c.append(f"    if (!g.null_now()) m.{f.name} = {val};")
                        else:
                            nc = f"version >= {f.nullable.lo} && version <= {f.nullable.hi}"
                            c.append(f"    if (({nc}) && g.null_now()) m.{f.name}.reset();")
                            c.append(f"    else m.{f.name} = {val};")
                    else:
                        c.append(f"    m.{f.name} = {val};")
                    c.append("  }")
                c.append("  return m;")
                c.append("}")
                c.append("")
    c += ["template <class T>",
          "std::string check(const T& sample, std::int16_t version,",
          "                  std::expected<T, codec_error> (*decode)(reader&, std::int16_t),",
          "                  void (*encode)(const T&, std::int16_t, writer&)) {",
          "  writer w;",
          "  encode(sample, version, w);",
          "  const std::string bytes = w.take();",
          "  reader r(bytes);",
          "  auto back = decode(r, version);",
          "  if (!back) return \"decode failed: \" + back.error().text;",
          "  if (!(*back == sample)) return \"decoded value differs from the sample\";",
          "  writer again;",
          "  encode(*back, version, again);",
          "  if (again.take() != bytes) return \"re-encoded bytes differ\";",
          "  return {};",
          "}", "",
          "template <class T>",
          "std::string bytes_of(const T& sample, std::int16_t version, void (*encode)(const T&, std::int16_t, writer&)) {",
          "  writer w;",
          "  encode(sample, version, w);",
          "  return w.take();",
          "}", "",
          "}  // namespace", ""]
    for fn, body in (("round_trip", "check({s}, version, decode_{n}, encode_{n})"),
                     ("encoded", "bytes_of({s}, version, encode_{n})")):
        c.append(f"std::string {fn}(api_key key, bool request, std::int16_t version, std::uint64_t seed) {{")
        c.append("  gen g{chronik::rng(seed)};")
        c.append("  switch (static_cast<std::int16_t>(key)) {")
        for a in apis:
            rq, rs = a.request.name, a.response.name
            c.append(f"    case {a.key}:")
            c.append(f"      return request ? {body.format(s=f'sample_{rq}(g, version)', n=rq)}")
            c.append(f"                     : {body.format(s=f'sample_{rs}(g, version)', n=rs)};")
        c.append("    default:")
        c.append('      return "no description for this key";')
        c.append("  }")
        c.append("}")
        c.append("")
    c += ["}  // namespace chronik::kafka::samples", ""]
    return "\n".join(h), "\n".join(c)


def write_if_changed(path, text):
    # Unchanged outputs keep their timestamps, so a description edit rebuilds only what it changes.
    if os.path.exists(path):
        with open(path) as fh:
            if fh.read() == text:
                return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out_dir = os.path.join(argv[1], "kafka", "protocol", "messages")
    try:
        apis = [parse(p) for p in argv[2:]]
    except SchemaError as e:
        sys.exit(f"kafka_codegen: {e}")
    names = {}
    for a in apis:
        if a.key in names:
            sys.exit(f"kafka_codegen: {a.path}: key {a.key} already described by {names[a.key]}")
        names[a.key] = a.path
    apis.sort(key=lambda a: a.name)
    for a in apis:
        write_if_changed(os.path.join(out_dir, f"{a.name}.h"), emit_header(a))
        write_if_changed(os.path.join(out_dir, f"{a.name}.cc"), emit_source(a))
    h, c = emit_catalog(apis)
    write_if_changed(os.path.join(out_dir, "catalog.h"), h)
    write_if_changed(os.path.join(out_dir, "catalog.cc"), c)
    h, c = emit_samples(apis)
    write_if_changed(os.path.join(out_dir, "samples.h"), h)
    write_if_changed(os.path.join(out_dir, "samples.cc"), c)


if __name__ == "__main__":
    main(sys.argv)
