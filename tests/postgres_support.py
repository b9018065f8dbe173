"""A throwaway PostgreSQL server for a test session: Debian's initdb and pg_ctl
(`/usr/lib/postgresql/<ver>/bin`, package postgresql) into a temporary directory,
run as the `postgres` OS user when the tests run as root, listening on 127.0.0.1
only, on a free port, trust authentication from localhost only. Each test gets its
own database (`create_database`), so stages never share tables across tests.

Its time zone is deliberately not UTC: a naive timestamp column, or a naive value
read back as UTC, then shows up as a wrong time instead of passing by luck."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from weft.common import natsserver

TIMEZONE = "America/St_Johns"   # UTC-3:30 (-2:30 in summer): a shift no rounding hides
OS_USER = "postgres"            # Debian's package creates it; the server refuses to run as root
PREFIX = "weft-postgres-"       # the servers' temporary directories


def bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server binaries, else those of initdb on PATH, else None."""
    debian = sorted((d for d in Path("/usr/lib/postgresql").glob("*/bin") if d.parent.name.isdigit()),
                    key=lambda d: int(d.parent.name), reverse=True)
    on_path = [Path(w).parent] if (w := shutil.which("initdb")) else []
    return next((d for d in [*debian, *on_path] if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def missing() -> str | None:
    """Why a server cannot be started here, or None."""
    if bin_dir() is None:
        return ("PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): "
                "`make setup` installs Debian's package postgresql as root")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no `{OS_USER}` OS user to run the PostgreSQL server as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install -e '.[postgres]')"
    return None


class PostgresServer:
    def __init__(self, bin_path: Path):
        self.bin = bin_path
        self.user = OS_USER if os.geteuid() == 0 else None
        self._stop_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        if self.user:
            os.chown(self.root, pwd.getpwnam(self.user).pw_uid, pwd.getpwnam(self.user).pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.bin / args[0]), *args[1:]], user=self.user, group=self.user,
                              extra_groups=[] if self.user else None, cwd=self.root,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")
        return done

    def _stop_orphans(self) -> None:
        """Servers of earlier sessions whose pytest was killed before its teardown."""
        for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
            try:
                os.kill(int((root / "owner.pid").read_text()), 0)
                continue   # its session is still running
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue   # not ours to judge
            if (root / "data" / "postmaster.pid").exists():
                subprocess.run([str(self.bin / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
                               user=self.user, group=self.user, extra_groups=[] if self.user else None,
                               cwd="/", capture_output=True, timeout=60)
            shutil.rmtree(root, ignore_errors=True)

    def start(self) -> "PostgresServer":
        try:
            self._start()
        except BaseException:
            self.stop()   # the error carries the server's log; nothing is left behind
            raise
        return self

    def _start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        (self.data / "pg_hba.conf").write_text(
            "# trust from this machine only: the server listens on 127.0.0.1 alone\n"
            "local all all trust\n"
            "host  all all 127.0.0.1/32 trust\n")
        for attempt in range(3):   # a free port can be taken between the check and the bind
            self.port = natsserver.free_port()
            with open(self.data / "postgresql.conf", "a") as conf:
                conf.write(f"\n# weft test server (attempt {attempt + 1})\n"
                           f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                           f"unix_socket_directories = '{self.root}'\n"
                           f"timezone = '{TIMEZONE}'\nlog_timezone = 'UTC'\n"
                           "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                           "max_connections = 200\nshared_buffers = 32MB\n")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as c:
            c.execute(sql)

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"weft_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
