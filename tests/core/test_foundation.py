"""Settings precedence, migrations, crash recovery, and the core's independence from Qt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.app import Core
from core.config import load_settings, save_settings
from core.db.engine import current_revision, make_engine, upgrade
from core.db.models import Base
from core.errors import ConfigError
from tests.support.data import TEST_FILES
from tests.support.postgres import fresh_pg_database

REPO = Path(__file__).resolve().parents[2]


class TestSettings:
    def test_defaults_follow_xdg(self, tmp_path: Path) -> None:
        settings = load_settings()
        assert settings.data_dir == (tmp_path / "xdg" / "dicom-kiosk").resolve()
        assert settings.db_url == f"sqlite:///{settings.data_dir / 'index.sqlite'}"
        assert (settings.ae_title, settings.port, settings.duplicate_policy) == (
            "KIOSK",
            11112,
            "keep",
        )

    def test_precedence_file_env_flags(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = tmp_path / "d"
        data.mkdir()
        (data / "config.toml").write_text('ae_title = "FROMFILE"\nport = 2000\n')
        assert load_settings(data).ae_title == "FROMFILE"
        monkeypatch.setenv("DICOM_KIOSK_AE_TITLE", "FROMENV")
        assert load_settings(data).ae_title == "FROMENV"
        assert load_settings(data, {"ae_title": "FLAG"}).ae_title == "FLAG"
        assert load_settings(data).port == 2000
        monkeypatch.setenv("DICOM_KIOSK_DATA", str(tmp_path / "other"))
        assert load_settings().data_dir == (tmp_path / "other").resolve()

    def test_save_round_trips(self, tmp_path: Path) -> None:
        settings = load_settings(tmp_path / "d")
        saved = save_settings(settings, port=4242, accept_policy="known")
        assert (saved.port, saved.accept_policy) == (4242, "known")
        reloaded = load_settings(tmp_path / "d")
        assert (reloaded.port, reloaded.accept_policy) == (4242, "known")

    @pytest.mark.parametrize(
        ("key", "value", "message"),
        [
            ("ae_title", "WAY_TOO_LONG_AE_TITLE", "AE title"),
            ("ae_title", "BAD\\AE", "AE title"),
            ("port", "0", "port"),
            ("port", "http", "not a valid value"),
            ("duplicate_policy", "merge", "duplicate_policy"),
        ],
    )
    def test_invalid_values_are_clear_errors(
        self, tmp_path: Path, key: str, value: str, message: str
    ) -> None:
        with pytest.raises(ConfigError, match=message):
            load_settings(tmp_path, {key: value})

    def test_unknown_key_in_file(self, tmp_path: Path) -> None:
        (tmp_path / "config.toml").write_text("colour = 1\n")
        with pytest.raises(ConfigError, match="unknown setting 'colour'"):
            load_settings(tmp_path)


def _empty_engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> sa.Engine:
    """An engine on an empty SQLite file or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    return make_engine(fresh_pg_database(request.getfixturevalue("pg_server")))


class TestMigrations:
    @pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
    def test_upgrade_head_matches_models(
        self, tmp_path: Path, backend: str, request: pytest.FixtureRequest
    ) -> None:
        engine = _empty_engine(backend, tmp_path, request)
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert current_revision(engine) is not None

    def test_models_alone_hold_every_table(self, tmp_path: Path) -> None:
        """``migrations/env.py`` imports ``core.db.models`` only: autogenerate must see every
        table through it, or it proposes dropping the ones defined elsewhere."""
        code = (
            "import sys\n"
            "from alembic.autogenerate import compare_metadata\n"
            "from alembic.runtime.migration import MigrationContext\n"
            "import sqlalchemy as sa\n"
            "from core.db.models import Base\n"
            "from core.db.engine import upgrade\n"
            "engine = sa.create_engine(sys.argv[1])\n"
            "upgrade(engine)\n"
            "with engine.connect() as c:\n"
            "    diff = compare_metadata(MigrationContext.configure(c), Base.metadata)\n"
            "    tables = set(sa.inspect(c).get_table_names()) - {'alembic_version'}\n"
            "print(sorted(tables - set(Base.metadata.tables)), diff)\n"
            "print(sorted(m for m in sys.modules if m.startswith('core.')))\n"
        )
        url = f"sqlite:///{tmp_path / 'index.sqlite'}"
        out = subprocess.run(
            [sys.executable, "-c", code, url], cwd=REPO, capture_output=True, text=True, check=True
        )
        missing_and_diff, loaded = out.stdout.strip().splitlines()
        assert missing_and_diff == "[] []"
        assert "core.transfers.log" not in loaded and "core.registry" not in loaded

    @pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
    def test_upgrade_folds_the_referring_physicians_already_indexed(
        self, tmp_path: Path, backend: str, request: pytest.FixtureRequest
    ) -> None:
        engine = _empty_engine(backend, tmp_path, request)
        upgrade(engine, "0003")
        with engine.begin() as connection:
            patient = connection.execute(
                sa.text(
                    "INSERT INTO patient (patient_key, patient_id, patient_id_fold, patient_name,"
                    " patient_name_fold, birth_date, sex, num_studies, num_series, num_instances)"
                    " VALUES ('id:P', 'P', 'p', 'X', 'x', '', '', 1, 0, 0) RETURNING id"
                )
            ).scalar_one()
            for uid, name in (("1.2.1", "Ärzte^Öskar"), ("1.2.2", "")):
                connection.execute(
                    sa.text(
                        "INSERT INTO study (patient_pk, study_uid, study_date, study_time,"
                        " accession_number, study_description, study_id, referring_physician,"
                        " modalities, num_series, num_instances, updated_at) VALUES (:p, :uid,"
                        " '', '', '', '', '', :name, '', 0, 0, CURRENT_TIMESTAMP)"
                    ),
                    {"p": patient, "uid": uid, "name": name},
                )
        upgrade(engine)
        with engine.connect() as connection:
            folded = dict(
                connection.execute(
                    sa.text("SELECT study_uid, referring_physician_fold FROM study")
                ).all()
            )
        assert folded == {"1.2.1": "ärzte^öskar", "1.2.2": ""}

    def test_upgrade_is_idempotent(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
        upgrade(engine)
        first = current_revision(engine)
        upgrade(engine)
        assert current_revision(engine) == first


class TestCrashRecovery:
    def test_incoming_files_are_indexed_on_start(self, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        with Core(settings) as core:
            # What a receiver leaves when killed after acknowledging, before indexing:
            data = (TEST_FILES / "CT_small.dcm").read_bytes()
            core.store.write_incoming(data, len(data))
            half = core.store.incoming_dir / "deadbeef.part"
            half.write_bytes(data[:100])
        with Core(settings) as core:
            assert core.stats()["instances"] == 1
            assert list(core.store.incoming_dir.iterdir()) == []

    def test_recovery_after_commit_before_cleanup(self, settings) -> None:  # type: ignore[no-untyped-def]
        from core.dicom.header import parse_instance
        from core.index.writer import IngestItem

        with Core(settings) as core:
            data = (TEST_FILES / "MR_small.dcm").read_bytes()
            incoming = core.store.write_incoming(data, len(data))
            header = parse_instance(data).header
            # Simulate a crash between commit and removal of the incoming name:
            kept = incoming.with_name("kept.dcm")
            os.link(incoming, kept)
            core.writer.write_batch([IngestItem(incoming, header, len(data))])
            kept.rename(incoming)
        with Core(settings) as core:
            assert core.stats()["instances"] == 1
            assert list(core.store.incoming_dir.iterdir()) == []
            assert len(list(core.store.root.rglob("*.dcm"))) == 1


def test_core_never_imports_qt(tmp_path: Path) -> None:
    """Importing every core module, building the CLI and running ``dicom-kiosk`` with no
    subcommand load no Qt and nothing of ``viewmodels`` when only core's own entry points are
    installed: core finds the layers above it through entry points, never by name."""
    code = (
        "import contextlib, importlib, importlib.metadata as md, io, pkgutil, sys\n"
        "everything = md.entry_points\n"
        "def core_only(**params):\n"
        "    found = everything(**params)\n"
        "    if not str(params.get('group', '')).startswith('dicom_kiosk.'):\n"
        "        return found\n"
        "    return md.EntryPoints(e for e in found if e.module.split('.')[0] == 'core')\n"
        "md.entry_points = core_only\n"
        "import core.cli.commands as commands\n"
        "declared = commands.declared\n"
        "commands.declared = lambda group: [(n, v) for n, v in declared(group)"
        " if v.split('.')[0] == 'core']\n"
        "import core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "from core.cli.main import build_parser, main\n"
        "build_parser()\n"
        "quiet = io.StringIO()\n"
        "with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):\n"
        "    main(['--data-dir', sys.argv[1]])\n"
        "above = ('PySide6', 'qasync', 'shiboken6', 'viewmodels')\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in above))\n"
    )
    # No display: were a kiosk window reached after all, it would say so and return, not open.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


class TestCli:
    def run(self, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core.cli", "--data-dir", str(data), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def test_import_list_stats_delete(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        files = [
            TEST_FILES / "CT_small.dcm",
            TEST_FILES / "MR_small.dcm",
            TEST_FILES / "README.txt",
        ]
        out = self.run(data, "import", *map(str, files), "--json")
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        assert (summary["imported"], summary["duplicates"]) == (2, 0)
        assert summary["rejected"][0]["path"].endswith("README.txt")

        stats = json.loads(self.run(data, "db", "stats", "--json").stdout)
        assert stats["instances"] == 2
        assert stats["bytes"] == sum(f.stat().st_size for f in files[:2])

        rows = json.loads(self.run(data, "list", "--level", "series", "--json").stdout)["rows"]
        assert {r["Modality"] for r in rows} == {"CT", "MR"}
        ct = next(r for r in rows if r["Modality"] == "CT")
        out = self.run(data, "delete", "--series", ct["SeriesInstanceUID"])
        assert out.returncode == 0, out.stderr
        stats = json.loads(self.run(data, "db", "stats", "--json").stdout)
        assert stats["instances"] == 1

    def test_errors_are_clear(self, tmp_path: Path) -> None:
        out = self.run(tmp_path / "d", "delete", "--study", "1.2.3")
        assert out.returncode == 1
        assert "no study '1.2.3'" in out.stderr
        assert "Traceback" not in out.stderr
        out = self.run(tmp_path / "d", "list", "--date-from", "yesterday")
        assert out.returncode == 1 and "YYYYMMDD" in out.stderr

    def test_demo_data(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        out = self.run(data, "demo", "--patients", "2", "--seed", "3")
        assert out.returncode == 0, out.stderr
        rows = json.loads(self.run(data, "list", "--level", "study", "--json").stdout)["rows"]
        assert rows and all(r["StudyDescription"] for r in rows)
        assert all(r["NumberOfStudyRelatedInstances"] > 0 for r in rows)
