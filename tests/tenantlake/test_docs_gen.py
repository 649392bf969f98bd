"""docs/tenant-yaml.md and `tenantlake tenants schema` follow the pydantic models."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from tenantlake import docs_gen
from tenantlake.landing.expressions import FUNCTIONS
from tenantlake.settings import PROJECT_ROOT
from tenantlake.tenants import TenantConfig


def test_reference_page_is_generated_from_the_models():
    assert docs_gen.DOC_PATH.read_text(encoding="utf-8") == docs_gen.render_markdown(), (
        "docs/tenant-yaml.md drifted from the models: run `python -m tenantlake.docs_gen`")


def test_every_key_is_described_and_listed():
    page = docs_gen.render_markdown()
    for model in docs_gen._models(TenantConfig):
        assert f"## {model.__name__}" in page
        comments = docs_gen._comments(model)
        for key, field in model.model_fields.items():
            assert f"| `{key}` |" in page, (model.__name__, key)
            assert (field.description or comments.get(key)
                    or docs_gen.DESCRIPTIONS.get(f"{model.__name__}.{key}")), (
                f"{model.__name__}.{key} is described nowhere")
    for fn in FUNCTIONS:
        assert fn in docs_gen.FUNCTION_DOCS, f"expression function {fn}() is not documented"
    # allowed values are spelled out
    assert '"csv" \\| "jsonl" \\| "json" \\| "parquet" \\| "xlsx"' in page


@pytest.mark.parametrize("name", sorted(docs_gen.EXAMPLES))
def test_every_example_validates(name):
    model = next(m for m in docs_gen._models(TenantConfig) if m.__name__ == name)
    model.model_validate(yaml.safe_load(docs_gen.EXAMPLES[name]))


def test_schema_command_prints_a_json_schema_the_shipped_tenants_satisfy(tmp_path):
    from tenantlake.cli import app

    res = CliRunner().invoke(app, ["tenants", "schema", "--out", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    schema = json.loads((tmp_path / "s.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for f in sorted((PROJECT_ROOT / "tenants").glob("*.yml")):
        validator.validate(yaml.safe_load(f.read_text(encoding="utf-8")))
    with pytest.raises(jsonschema.ValidationError, match="colour|Additional properties"):
        validator.validate({"id": "x", "display_name": "X", "partner": {"id": "p", "name": "P"},
                            "industry": "other", "reporting_currency": "EUR", "colour": "red"})
