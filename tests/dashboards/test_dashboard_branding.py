"""branding.py: tenant name, colours and logo; a logo path can't leave the tenants folder."""

from __future__ import annotations

import base64

from dashboards import branding
from tenantlake.tenants import load_tenant

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
                       "DwAChwGA60e6kgAAAABJRU5ErkJggg==")


def _with_logo(dash_home, logo: str):
    f = dash_home["tenants"] / "alpha.yml"
    original = dash_home.setdefault("alpha_yaml", f.read_text())
    f.write_text(original.replace('branding: {name: Alpha Outfitters,',
                                  f'branding: {{name: Alpha Outfitters, logo: "{logo}",'))
    return load_tenant("alpha", dash_home["tenants"])


def test_brand_from_tenant_yaml(dash_home):
    brand = branding.brand_for(load_tenant("alpha", dash_home["tenants"]))
    assert brand.name == "Alpha Outfitters" and brand.primary == "#8a1538"
    assert brand.logo is None
    template = branding.plotly_template(brand)
    assert template.layout.colorway[0] == "#8a1538"
    assert branding.brand_for(None) is branding.PLATFORM_BRAND


def test_logo_inside_tenants_folder_only(dash_home):
    (dash_home["tenants"] / "logos").mkdir()
    (dash_home["tenants"] / "logos" / "alpha.png").write_bytes(PNG)
    assert branding.brand_for(_with_logo(dash_home, "logos/alpha.png")).logo.name == "alpha.png"


def test_logo_outside_tenants_folder_is_ignored(dash_home):
    outside = dash_home["tenants"].parent / "evil.png"
    outside.write_bytes(PNG)
    assert branding.brand_for(_with_logo(dash_home, "../evil.png")).logo is None
    assert branding.brand_for(_with_logo(dash_home, str(outside))).logo is None
