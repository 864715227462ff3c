"""datacontract-cli's reading of a contract, done once per contract text, not once per run.

Before it checks anything, ``DataContract.test()`` parses the YAML and validates it
against the ODCS JSON schema: about a third of a small run's contract step, the same
work on every run for the same three files. The outcome depends only on the contract's
text and the datacontract-cli version, so it is kept under the home
(``logs/.contract_cache/<hash>.json``, the resolved contract as ODCS JSON) and handed to
datacontract-cli as an already-parsed contract afterwards. Every data check still runs
on every run.

Only a contract that resolved without lint warnings is cached: warnings become checks
of the run (datacontract-cli reports them from the text), so such a contract keeps
going through the text path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from foundation import untrusted_files

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("datacontract-cli")
    except metadata.PackageNotFoundError:
        return "unknown"


def contract_source(text: str, cache_dir: Path | None) -> dict[str, Any]:
    """The ``DataContract(...)`` argument for this contract text: the parsed contract when
    it is (or can now be) cached, else the text itself."""
    if cache_dir is None:
        return {"data_contract_str": text}
    from open_data_contract_standard.model import OpenDataContractStandard

    key = hashlib.sha256(f"{_version()}\n{text}".encode()).hexdigest()[:32]
    path = cache_dir / f"{key}.json"
    try:  # a file of the home: a regular, bounded file, and a valid contract, or resolved anew
        return {"data_contract": OpenDataContractStandard.model_validate_json(
            untrusted_files.read_text(path, home=cache_dir))}
    except FileNotFoundError:
        pass
    except ValueError:  # UntrustedFileError too
        logger.debug("unusable contract cache %s; resolving again", path, exc_info=True)
    resolved = _resolve_without_warnings(text)
    if resolved is None:
        return {"data_contract_str": text}
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:  # best effort: the cache only ever saves time
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(resolved.model_dump_json(by_alias=True, exclude_none=True),
                           encoding="utf-8")
        partial.replace(path)
    except OSError:
        logger.debug("contract cache %s not written", path, exc_info=True)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return {"data_contract": resolved}


def _resolve_without_warnings(text: str) -> Any | None:
    """datacontract-cli's own resolution of the text; None if it warns or fails (the
    text path then reports that as checks of the run, as before)."""
    from datacontract.lint.resolve import resolve_data_contract_with_lint_info

    try:
        resolved, _, warnings = resolve_data_contract_with_lint_info(
            data_contract_str=text, inline_references=True)
    except Exception:
        logger.debug("contract does not resolve; datacontract-cli will report it",
                     exc_info=True)
        return None
    return None if warnings else resolved
