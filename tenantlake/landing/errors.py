"""Errors raised by landing; every message names the tenant and, where known, file/row/field."""

from __future__ import annotations


class LandingError(Exception):
    """Base class: something prevented (part of) a tenant's landing."""


class LandingConfigError(LandingError, ValueError):
    """The tenant's YAML cannot be applied (bad expression, unknown column reference...)."""


class DropFolderMissingError(LandingError, FileNotFoundError):
    """A tenant's drop folder does not exist (the whole tenant lands nothing)."""


class SourceFileError(LandingError):
    """One file was refused or unreadable; nothing from that file is landed."""

    def __init__(self, message: str, *, tenant_id: str, file: str) -> None:
        super().__init__(message)
        self.tenant_id = tenant_id
        self.file = file
