"""A tiny, safe expression language for tenant mappings, compiled to polars expressions.

Tenants compute canonical columns (``expressions``) and filter rows (``where``) in their YAML::

    expressions:
      net_amount: qty * price * (1 - coalesce(discount, 0))
      status: if_else(col("Ship Flag") == "Y", "shipped", "open")
    where: record_type == "L" and not (qty < 0)

The text is parsed with :mod:`ast` and only a whitelist of nodes becomes a polars expression:
literals, source column names (bare identifiers or ``col("Name With Spaces")``), ``+ - * / %``,
unary ``-``, comparisons (``== != < <= > >= in``), ``and/or/not`` and the functions in
:data:`FUNCTIONS` (``row_number()`` and ``file_name()`` give a row's position and file, to build
a key for exports that have no ids). Nothing is ever evaluated by Python or pasted into SQL, so a tenant file cannot
run code. Arithmetic is numeric: string operands (CSV) are parsed with the source's decimal and
thousands separators; a value that does not parse becomes null (and the canonical column's own
validation then reports it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

FUNCTIONS = ("coalesce", "if_else", "lower", "upper", "strip", "abs", "round", "concat",
             "to_float", "to_int", "col", "row_number", "file_name")
#: Column holding the row's 1-based data row number in its file (added by landing before any
#: ``where``); ``row_number()`` reads it. Same name as the file readers' row column.
ROW_NUMBER_COLUMN = "__tl_row__"
_LITERAL_NAMES = {"true": True, "false": False, "null": None, "none": None}
_ARITH = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
          ast.Mod: "__mod__"}
_CMP = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
        ast.Gt: "__gt__", ast.GtE: "__ge__"}


class ExpressionError(ValueError):
    """The expression is not valid in the mapping language (message says where and why)."""


@dataclass
class Compiled:
    expr: pl.Expr
    #: Source columns the expression reads (to report absent ones precisely).
    columns: set[str] = field(default_factory=set)
    #: Referenced names that are not in the source schema.
    missing: set[str] = field(default_factory=set)


@dataclass
class _Val:
    expr: pl.Expr
    kind: str  # "str" | "num" | "bool" | "null" | "any"
    literal: object = ...


def parse(text: str) -> ast.expr:
    """Parse and whitelist-check ``text`` without any schema (used to fail configs early)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    _check(tree.body)
    return tree.body


def referenced_columns(text: str) -> set[str]:
    """Source column names an expression reads (bare names and ``col("...")``)."""
    out: set[str] = set()
    for node in ast.walk(parse(text)):
        if isinstance(node, ast.Name) and node.id.lower() not in _LITERAL_NAMES \
                and node.id not in FUNCTIONS:
            out.add(node.id)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "col"):
            out.add(node.args[0].value)  # type: ignore[attr-defined]
    return out


def _check(node: ast.AST) -> None:
    """Reject any node outside the whitelist, naming it."""
    ok = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Constant, ast.Name, ast.Call,
          ast.Tuple, ast.List, ast.Load, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
          ast.In, ast.NotIn, *_ARITH, *_CMP)
    for sub in ast.walk(node):
        if not isinstance(sub, ok):
            raise ExpressionError(f"{type(sub).__name__} is not allowed; use arithmetic, "
                                  f"comparisons, and/or/not and {', '.join(FUNCTIONS)}")
        if isinstance(sub, ast.Constant) and not isinstance(sub.value, (str, int, float,
                                                                        bool, type(None))):
            raise ExpressionError(f"literal {sub.value!r} is not allowed")
        if isinstance(sub, ast.Call):
            if not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS:
                name = getattr(sub.func, "id", ast.unparse(sub.func))
                raise ExpressionError(f"unknown function {name!r}; allowed: "
                                      f"{', '.join(FUNCTIONS)}")
            if sub.keywords:
                raise ExpressionError(f"{sub.func.id}() takes no keyword arguments")
            if sub.func.id == "col" and (len(sub.args) != 1 or not isinstance(
                    sub.args[0], ast.Constant) or not isinstance(sub.args[0].value, str)):
                raise ExpressionError('col() takes one quoted column name: col("Order No")')


class Compiler:
    """Turns a parsed expression into a polars expression for one source schema.

    ``schema`` maps the unit's source column names to polars dtypes (strings for CSV, typed for
    Parquet), so numeric operations parse strings only where needed. ``to_number`` converts a
    string expression to Float64 honouring the source's separators.
    """

    def __init__(self, schema: Mapping[str, pl.DataType],
                 to_number: Callable[[pl.Expr], pl.Expr],
                 resolve: Callable[[str], str | None] | None = None,
                 file_name: str | None = None) -> None:
        self.schema = schema
        self.file_name = file_name
        self.to_number = to_number
        self.resolve = resolve or (lambda name: name if name in schema else None)
        self.columns: set[str] = set()
        self.missing: set[str] = set()

    def compile(self, text: str) -> Compiled:
        self.columns, self.missing = set(), set()
        val = self._node(parse(text))
        return Compiled(val.expr, set(self.columns), set(self.missing))

    # -- helpers ------------------------------------------------------------------------
    def _num(self, v: _Val) -> pl.Expr:
        if v.kind == "num":
            return v.expr
        if v.kind == "str":
            return self.to_number(v.expr)
        return v.expr.cast(pl.Float64, strict=False)

    def _col(self, name: str) -> _Val:
        real = self.resolve(name)
        if real is None:
            self.columns.add(name)
            self.missing.add(name)
            return _Val(pl.lit(None, dtype=pl.String), "null")
        self.columns.add(real)
        name = real
        dtype = self.schema[name]
        kind = ("str" if dtype == pl.String else "num" if dtype.is_numeric()
                else "bool" if dtype == pl.Boolean else "any")
        return _Val(pl.col(name), kind)

    def _node(self, node: ast.expr) -> _Val:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:  # pragma: no cover - parse() whitelists first
            raise ExpressionError(f"{type(node).__name__} is not allowed")
        return method(node)

    # -- nodes --------------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> _Val:
        v = node.value
        if v is None:
            return _Val(pl.lit(None), "null", None)
        kind = "bool" if isinstance(v, bool) else "num" if isinstance(v, (int, float)) else "str"
        lit = pl.lit(float(v)) if kind == "num" else pl.lit(v)
        return _Val(lit, kind, v)

    def _Name(self, node: ast.Name) -> _Val:
        if node.id.lower() in _LITERAL_NAMES:
            v = _LITERAL_NAMES[node.id.lower()]
            return _Val(pl.lit(v), "null" if v is None else "bool", v)
        return self._col(node.id)

    def _BinOp(self, node: ast.BinOp) -> _Val:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        left, right = self._num(self._node(node.left)), self._num(self._node(node.right))
        return _Val(getattr(left, op)(right), "num")

    def _UnaryOp(self, node: ast.UnaryOp) -> _Val:
        v = self._node(node.operand)
        if isinstance(node.op, ast.Not):
            return _Val(~v.expr.cast(pl.Boolean, strict=False), "bool")
        if isinstance(node.op, ast.USub):
            return _Val(-self._num(v), "num")
        return _Val(self._num(v), "num")

    def _BoolOp(self, node: ast.BoolOp) -> _Val:
        vals = [self._node(v).expr.cast(pl.Boolean, strict=False) for v in node.values]
        out = vals[0]
        for v in vals[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return _Val(out, "bool")

    def _Compare(self, node: ast.Compare) -> _Val:
        parts: list[pl.Expr] = []
        left = self._node(node.left)
        for op, comp in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(comp, (ast.Tuple, ast.List)) or not all(
                        isinstance(e, ast.Constant) for e in comp.elts):
                    raise ExpressionError("'in' needs a literal list: status in (\"A\", \"B\")")
                items = [e.value for e in comp.elts]  # type: ignore[attr-defined]
                if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
                    e = self._num(left).is_in([float(i) for i in items])
                else:
                    e = left.expr.cast(pl.String).is_in([str(i) for i in items])
                parts.append(~e if isinstance(op, ast.NotIn) else e)
                continue
            right = self._node(comp)
            if "num" in (left.kind, right.kind):
                a, b = self._num(left), self._num(right)
            elif "str" in (left.kind, right.kind) and left.kind != right.kind:
                a, b = left.expr.cast(pl.String), right.expr.cast(pl.String)
            else:
                a, b = left.expr, right.expr
            parts.append(getattr(a, _CMP[type(op)])(b))
            left = right
        out = parts[0]
        for p in parts[1:]:
            out = out & p
        return _Val(out, "bool")

    def _Tuple(self, node: ast.Tuple) -> _Val:
        raise ExpressionError("a list is only allowed after 'in'")

    _List = _Tuple

    def _Call(self, node: ast.Call) -> _Val:
        name = node.func.id  # type: ignore[attr-defined]
        args = node.args
        if name == "col":
            return self._col(args[0].value)  # type: ignore[attr-defined]
        vals = [self._node(a) for a in args]
        arity = {"if_else": 3, "lower": 1, "upper": 1, "strip": 1, "abs": 1, "to_float": 1,
                 "to_int": 1, "row_number": 0, "file_name": 0}
        if name in arity and len(vals) != arity[name]:
            raise ExpressionError(f"{name}() takes {arity[name]} argument(s), got {len(vals)}")
        if name in ("coalesce", "concat") and not vals:
            raise ExpressionError(f"{name}() needs at least one argument")
        if name == "coalesce":
            kinds = {v.kind for v in vals} - {"null"}
            if kinds == {"num"} or ("num" in kinds and "str" in kinds):
                return _Val(pl.coalesce([self._num(v) for v in vals]), "num")
            kind = kinds.pop() if len(kinds) == 1 else "str"
            exprs = [v.expr if kind != "str" else v.expr.cast(pl.String) for v in vals]
            return _Val(pl.coalesce(exprs), kind)
        if name == "if_else":
            cond, a, b = vals
            if "num" in (a.kind, b.kind):
                ae, be, kind = self._num(a), self._num(b), "num"
            elif a.kind == b.kind:
                ae, be, kind = a.expr, b.expr, a.kind
            else:
                ae, be, kind = a.expr.cast(pl.String), b.expr.cast(pl.String), "str"
            return _Val(pl.when(cond.expr.cast(pl.Boolean, strict=False)).then(ae)
                        .otherwise(be), kind)
        if name in ("lower", "upper", "strip"):
            s = vals[0].expr.cast(pl.String).str
            fn = {"lower": s.to_lowercase, "upper": s.to_uppercase,
                  "strip": s.strip_chars}[name]
            return _Val(fn(), "str")
        if name == "abs":
            return _Val(self._num(vals[0]).abs(), "num")
        if name == "round":
            if len(vals) not in (1, 2):
                raise ExpressionError("round() takes 1 or 2 arguments")
            digits = 0
            if len(vals) == 2:
                if not isinstance(vals[1].literal, (int, float)) or isinstance(
                        vals[1].literal, bool) or int(vals[1].literal) != vals[1].literal:
                    raise ExpressionError("round(x, n): n must be a whole number literal")
                digits = int(vals[1].literal)
            return _Val(self._num(vals[0]).round(digits), "num")
        if name == "concat":
            return _Val(pl.concat_str([v.expr.cast(pl.String) for v in vals],
                                      ignore_nulls=True), "str")
        if name == "to_float":
            return _Val(self._num(vals[0]), "num")
        if name == "row_number":  # the row's 1-based data row number in its file
            return _Val(pl.col(ROW_NUMBER_COLUMN).cast(pl.Int64), "num")
        if name == "file_name":
            return _Val(pl.lit(self.file_name, dtype=pl.String), "str")
        if name == "to_int":  # truncates towards zero
            return _Val(self._num(vals[0]).cast(pl.Int64, strict=False), "num")
        raise ExpressionError(f"unknown function {name!r}")  # pragma: no cover
