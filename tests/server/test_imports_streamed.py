"""Importing a file from a client of a server: staged beside the server when both are on one box,
else streamed to the upload route; any size the server accepts, never whole in memory, with its
progress told. Real server on a free port, the app's real remote backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballast_tui.config import Settings
from ballast_tui.engine.errors import Forbidden, TooLarge
from ballast_tui.remote import RemoteBackend
from tests.server.conftest import ServeFactory

ROWS = 120_000


def big_csv(path: Path) -> Path:
    with open(path, "w") as out:
        out.write("id,region,amount,note\n")
        for i in range(ROWS):
            out.write(f"{i},{'eu' if i % 2 else 'us'},{i * 1.5},row number {i} of the import\n")
    return path


@pytest.mark.parametrize("same_box", [True, False], ids=["staged-beside-the-server", "uploaded"])
async def test_a_file_larger_than_a_request_body_imports_with_its_progress(
    serve: ServeFactory, tmp_path: Path, same_box: bool
) -> None:
    api = await serve(Settings(max_body=1024 * 1024))  # 1 MiB of JSON body at most
    csv_file = big_csv(tmp_path / "sales.csv")
    assert csv_file.stat().st_size > 4 * 1024 * 1024
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Imports"))["dashboard"]["id"]
    staging = api.ws.paths.imports if same_box else None
    backend = await RemoteBackend(api.base, token, staging=staging).start()
    seen: list[tuple[int, int]] = []
    try:
        answer = await backend.import_file(
            board, csv_file, "sales", "csv", lambda done, total: seen.append((done, total))
        )
    finally:
        await backend.close()
    assert answer["source"]["row_count"] == ROWS
    assert seen[-1] == (csv_file.stat().st_size, csv_file.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen) and len(seen) > 3
    assert [p for p in api.ws.paths.imports.iterdir()] == []  # nothing left staged


async def test_a_refused_or_too_large_upload_stores_nothing(serve: ServeFactory, tmp_path: Path) -> None:
    api = await serve(Settings(max_upload=2 * 1024 * 1024))
    csv_file = big_csv(tmp_path / "sales.csv")
    owner, viewer = api.token("olivia"), api.token("vic")
    board = (await api.ok("dashboard_create", owner, title="Imports"))["dashboard"]["id"]
    await api.ok("dashboard_grant", owner, dashboard_id=board, user="vic", role="viewer")
    for token, refusal in ((viewer, Forbidden), (owner, TooLarge)):
        backend = await RemoteBackend(api.base, token).start()
        try:
            with pytest.raises(refusal):
                await backend.import_file(board, csv_file, "sales", "csv")
        finally:
            await backend.close()
    assert list(api.ws.paths.imports.iterdir()) == []
    sources = (await api.ok("catalog_list", owner, dashboard_id=board))["sources"]
    assert [s for s in sources if s["kind"] != "block"] == []


@pytest.mark.parametrize("same_box", [True, False], ids=["staged-beside-the-server", "uploaded"])
async def test_a_bad_file_is_refused_naming_the_users_file_and_a_workbook_sheet_arrives(
    serve: ServeFactory, tmp_path: Path, same_box: bool
) -> None:
    from ballast_tui.engine.errors import InvalidRequest
    from tests.xlsx_files import write_xlsx

    api = await serve(Settings())
    token = api.token("alice")
    board = (await api.ok("dashboard_create", token, title="Imports"))["dashboard"]["id"]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not parquet at all")
    book = write_xlsx(tmp_path / "plan.xlsx", {"One": [["a"], [1]], "Two": [["b"], [2], [3]]})
    staging = api.ws.paths.imports if same_box else None
    backend = await RemoteBackend(api.base, token, staging=staging).start()
    try:
        with pytest.raises(InvalidRequest) as refused:
            await backend.import_file(board, broken, "broken", "parquet")
        answer = await backend.import_file(board, book, "plan", "xlsx", sheet="Two")
    finally:
        await backend.close()
    assert str(broken) in refused.value.message
    assert "staged_" not in refused.value.message and "uploaded file" not in refused.value.message
    assert answer["source"]["row_count"] == 2 and answer["source"]["name"] == "plan"
    listed = await api.ok("catalog_list", token, dashboard_id=board)
    assert [s["name"] for s in listed["sources"]] == ["plan"]  # the refused file stored nothing
    assert list(api.ws.paths.imports.iterdir()) == []
