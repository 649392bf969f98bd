from tenantlake.cli import app

app()
