"""Weekly log analysis (seed §2.2 로그 분석): Drain3 template mining over the plan's log sources.

Each line is masked before mining: secrets first (masking.mask_text), then timestamps, UUIDs,
e-mails, IPs, hex and numbers through Drain3's own masking config, so "user 17 from 10.0.0.5" and
"user 99 from 10.0.0.7" are one template instead of thousands. A file source is read from where the
last run stopped (its inode and offset are kept; a rotated `<path>.1` is finished first), the
journal by time. What each run counted is compared with the run before: templates new this week,
rare ones, and those whose counts rose most.

Drain3's state is a jsonpickle document, and loading one can build any Python object: a state file
is only read when it is a regular file of ours with mode 0600, and is refused otherwise.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drain3 import TemplateMiner
from drain3.masking import AbstractMaskingInstruction
from drain3.memory_buffer_persistence import MemoryBufferPersistence
from drain3.template_miner_config import TemplateMinerConfig

from opsplan.masking import mask_text

STATE_VERSION = 1
MAX_LINE = 4096  # characters mined per line: a megabyte-long stack dump would be one slow, useless template
CACHE_SIZE = 200_000  # masked lines remembered with their template; cleared when full
EXAMPLE_CHARS = 300
BLOCK_BYTES = 1 << 20  # read and masked a block at a time (see Miner.add)
BLOCK_LINES = 10_000

# The masks (Drain3's masking config, as instructions). A token (between spaces, brackets, quotes,
# '=' ...) that is wholly a UUID, a time, an IP or 0x-hex is found by one combined scan (each pattern
# on its own would scan every line once more); then hex ids and the numbers left, also inside words
# ("5ms"). Each pattern consumes its first character before looking back, so the regex engine can
# skip to the next candidate character instead of trying the look-back at every position: the
# alternatives below are written without that first character (bench/bench_logs.py measures it).
_DELIMS = "\\s\\[\\](),;'\"=<>{}|"
_TOKEN_PATTERNS = (  # (name, the rest of the token after its first character)
    ("UUID", r"(?<=[0-9a-fA-F])[0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    ("TIME", r"(?<=\d)(?:\d{3}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # ISO
             r"|\d?:\d{2}:\d{2}(?:[.,]\d+)?"  # a clock
             r"|\d/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2})"),  # access logs: [23/Nov/2026:10:00:01
    ("IP", r"(?<=\d)\d{0,2}(?:\.\d{1,3}){3}(?::\d{1,5})?"  # IPv4, with a port
           r"|(?:(?<=[0-9a-fA-F])[0-9a-fA-F]{0,3}:|(?<=:))(?:[0-9a-fA-F]{0,4}:){1,6}[0-9a-fA-F]{0,4}"),  # IPv6
    ("HEX", r"(?<=0)x[0-9a-fA-F]+"),
)
_WHOLE_TOKEN = re.compile(rf"[0-9a-fA-F:](?<![^{_DELIMS}].)(?:"
                          + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _TOKEN_PATTERNS)
                          + rf")(?=[.:]*(?:[{_DELIMS}]|\Z))")
# ids and hashes, alone or inside a name ("#sql-temptable-1a1b2c3d4.MAI"): 8+ hex digits with a digit and a letter
_HEX_RUN = re.compile(r"[0-9a-fA-F](?<![0-9A-Za-z].)(?:(?<=\d)(?=[0-9a-fA-F]*[a-fA-F])|(?<=[a-fA-F])(?=[0-9a-fA-F]*\d))"
                      r"[0-9a-fA-F]{7,}(?![0-9A-Za-z])")
_NUMBER = re.compile(r"\d(?<![A-Za-z_<]\d)\d*(?:\.\d+)?")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SYSLOG_TIME = re.compile(r"(?m)^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2}")
# Cheap test before masking.mask_text's three patterns (the same words, on the lower-cased line): most
# lines have no secret, and a case-sensitive scan is several times faster than its case-blind one.
_SECRET_HINT = re.compile(r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key)\s*[=:]|bearer|://[^\s:/@]+:")
# A template worth a warning when it is new or rising: the words logs use for trouble.
TROUBLE = re.compile(r"(?i)\b(?:error|err|errors|fail|failed|failure|fatal|panic|crit|critical|denied|refused"
                     r"|timed out|timeout|exception|corrupt\w*|abort\w*|oom|killed)\b")


class TokenMask(AbstractMaskingInstruction):
    """A token that is wholly a UUID, a time, an IP or 0x-hex, as one Drain3 masking instruction."""

    def __init__(self) -> None:
        super().__init__("TOKEN")

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        return _WHOLE_TOKEN.sub(lambda m: f"{mask_prefix}{m.lastgroup}{mask_suffix}", content)


class GuardedMask(AbstractMaskingInstruction):
    """A regex mask; with a `needle`, run only on the lines that hold it (an e-mail needs an '@')."""

    def __init__(self, name: str, pattern: re.Pattern[str], needle: str | None = None) -> None:
        super().__init__(name)
        self.pattern, self.needle = pattern, needle

    def mask(self, content: str, mask_prefix: str, mask_suffix: str) -> str:
        replacement = f"{mask_prefix}{self.mask_with}{mask_suffix}"
        needle = self.needle
        if needle is None:
            return self.pattern.sub(replacement, content)
        if needle not in content:
            return content
        sub = self.pattern.sub
        return "\n".join(sub(replacement, line) if needle in line else line for line in content.split("\n"))


WHY_STATE, WHY_UNREADABLE, WHY_NO_SYSTEMD = "state", "unreadable", "no-systemd"


class StateRefused(Exception):
    """A state file that is not ours to load (owner, mode, kind): the source is not-run with this reason."""


class SourceUnreadable(Exception):
    pass


def miner_config() -> TemplateMinerConfig:
    config = TemplateMinerConfig()
    config.masking_instructions = [GuardedMask("TIME", _SYSLOG_TIME),
                                   GuardedMask("EMAIL", _EMAIL, needle="@"), TokenMask(),
                                   GuardedMask("HEX", _HEX_RUN), GuardedMask("NUM", _NUMBER)]
    config.snapshot_compress_state = True
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.drain_max_clusters = 5000  # a bounded state file, whatever the logs hold
    config.parametrize_numeric_tokens = True
    return config


@dataclass
class Template:
    cluster_id: int
    template: str
    count: int  # lines this run
    previous: int  # lines in the run before (0: none)
    example: str  # one masked line of this run
    new: bool  # first seen in this run (never on a source's first run: everything is new then)

    @property
    def trouble(self) -> bool:
        return TROUBLE.search(self.template) is not None


@dataclass
class SourceResult:
    name: str
    lines: int = 0
    templates: list[Template] = field(default_factory=list)
    first_run: bool = False
    refused: str | None = None  # why the source was not analysed (one line), None when it was
    why: str = ""  # WHY_STATE, WHY_UNREADABLE or WHY_NO_SYSTEMD when refused

    def new(self) -> list[Template]:
        return sorted((t for t in self.templates if t.new), key=lambda t: -t.count)

    def rising(self, least: int = 10, factor: float = 2.0) -> list[Template]:
        """Templates seen last run too whose count at least doubled (and reached `least` lines)."""
        up = [t for t in self.templates if not t.new and t.previous > 0 and t.count >= least
              and t.count >= factor * t.previous]
        return sorted(up, key=lambda t: -(t.count / t.previous))

    def rare(self, most: int = 3) -> list[Template]:
        return sorted((t for t in self.templates if not t.new and t.count <= most), key=lambda t: t.count)


# --- the state file ---------------------------------------------------------------------------

def read_state(path: Path) -> dict[str, Any] | None:
    """The source's saved state, or None when there is none; StateRefused for a file not ours.
    The checks are made on the opened file (fstat), so it cannot be swapped after them."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symbolic link put in its place
        raise StateRefused(f"{path} cannot be opened as a plain file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise StateRefused(f"{path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise StateRefused(f"{path} belongs to uid {info.st_uid}, not to this process (uid {os.geteuid()})")
        if info.st_mode & 0o077:
            raise StateRefused(f"{path} has mode {stat.S_IMODE(info.st_mode):04o}; only 0600 is loaded")
        data: dict[str, Any] = json.loads(handle.read().decode("utf-8"))
    if data.get("version") != STATE_VERSION:
        raise StateRefused(f"{path} is state version {data.get('version')!r}, expected {STATE_VERSION}")
    return data


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Atomically, mode 0600 from the first byte (never a moment readable by others)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(data).encode("utf-8"))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


# --- mining -------------------------------------------------------------------------------------

class Miner:
    """Drain3 with the masks above, a memo of masked lines, and counts per template for one run."""

    def __init__(self, saved_drain: str | None = None) -> None:
        persistence = MemoryBufferPersistence()
        if saved_drain is not None:
            persistence.state = saved_drain.encode("ascii")
        self.template_miner = TemplateMiner(persistence, miner_config())
        self.known = set(self.template_miner.drain.id_to_cluster.keys())
        self.counts: Counter[int] = Counter()
        self.examples: dict[int, str] = {}
        self._memo: dict[str, int] = {}
        self.lines = 0

    def add(self, lines: Iterable[str]) -> None:
        """Mine `lines` (without their line ends). The masks run over a block of lines joined by
        newlines at once: no pattern crosses a newline, and one call per block instead of per line
        is what makes masking cheap next to Drain3's own work."""
        kept = [cut for line in lines if (cut := line[:MAX_LINE].rstrip("\r\n")) and not cut.isspace()]
        if not kept:
            return
        block = "\n".join(kept)
        if _SECRET_HINT.search(block.lower()):  # secrets first, line by line (a value never spans lines)
            kept = [mask_text(line) if _SECRET_HINT.search(line.lower()) else line for line in kept]
            block = "\n".join(kept)
        masked_lines = self.template_miner.masker.mask(block).split("\n")
        drain, memo, counts, examples = self.template_miner.drain, self._memo, self.counts, self.examples
        for masked in masked_lines:
            # Drain never merges clusters, so a masked line seen before lands in the same one: skip the tree.
            cluster_id = memo.get(masked)
            if cluster_id is None:
                cluster, _change = drain.add_log_message(masked)
                cluster_id = cluster.cluster_id
                if len(memo) >= CACHE_SIZE:
                    memo.clear()
                memo[masked] = cluster_id
                if cluster_id not in examples:
                    examples[cluster_id] = masked[:EXAMPLE_CHARS]
            else:
                found = drain.id_to_cluster.get(cluster_id)
                if found is not None:
                    found.size += 1
            counts[cluster_id] += 1
        self.lines += len(masked_lines)

    def saved(self) -> str:
        self.template_miner.save_state("weekly check")
        state = self.template_miner.persistence_handler.state
        return state.decode("ascii") if isinstance(state, bytes) else str(state)

    def templates(self, previous: dict[int, int], first_run: bool) -> list[Template]:
        clusters = self.template_miner.drain.id_to_cluster
        out = []
        for cluster_id, count in self.counts.items():
            cluster = clusters.get(cluster_id)
            text = cluster.get_template() if cluster is not None else self.examples[cluster_id]
            out.append(Template(cluster_id, text[:EXAMPLE_CHARS], count, previous.get(cluster_id, 0),
                                self.examples[cluster_id], not first_run and cluster_id not in self.known))
        return out


# --- reading sources ----------------------------------------------------------------------------

def _blocks(path: Path, offset: int) -> Iterator[tuple[list[str], int]]:
    """Complete lines from `offset`, a block at a time, with the offset after each block (a
    half-written last line waits for the next run)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        rest = b""
        while chunk := handle.read(BLOCK_BYTES):
            chunk = rest + chunk
            end = chunk.rfind(b"\n") + 1
            rest = chunk[end:]
            if end:
                offset += end
                yield chunk[:end - 1].decode("utf-8", "replace").split("\n"), offset


def read_file_source(path: Path, saved: dict[str, Any] | None, miner: Miner) -> dict[str, int]:
    """Feed the lines written since the last run to `miner`; the new position {inode, offset}."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from None
    if not os.access(path, os.R_OK):
        raise SourceUnreadable(f"{path}: permission denied")
    offset = 0
    if saved and saved.get("inode") == info.st_ino and int(saved.get("offset", 0)) <= info.st_size:
        offset = int(saved["offset"])
    elif saved and saved.get("inode") is not None:
        rotated = path.with_name(path.name + ".1")  # logrotate's first copy: finish what the last run left
        try:
            if os.stat(rotated).st_ino == saved["inode"]:
                for lines, _ in _blocks(rotated, int(saved.get("offset", 0))):
                    miner.add(lines)
        except OSError:
            pass
    position = offset
    try:
        for lines, after in _blocks(path, offset):
            miner.add(lines)
            position = after
    except OSError as exc:
        raise SourceUnreadable(f"{path}: {exc.strerror or exc}") from None
    return {"inode": info.st_ino, "offset": position}


def systemd_runs(root: Path = Path("/")) -> bool:
    """The test systemd itself uses (sd_booted): /run/systemd/system exists."""
    return (root / "run/systemd/system").is_dir()


def journal_lines(start: float, end: float, journalctl: str = "journalctl") -> Iterator[str]:
    """The journal's messages of [start, end), as `identifier: message` lines."""
    program = shutil.which(journalctl)
    if program is None:
        raise SourceUnreadable(f"{journalctl} is not installed")
    argv = [program, "-o", "json", "--no-pager", "--since", f"@{int(start)}", "--until", f"@{int(end)}"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            message = entry.get("MESSAGE")
            if isinstance(message, list):  # journald gives bytes as a list of numbers
                message = bytes(v for v in message if isinstance(v, int) and 0 <= v < 256).decode("utf-8", "replace")
            if isinstance(message, str):
                yield f"{entry.get('SYSLOG_IDENTIFIER', '-')}: {message}"
        error = process.stderr.read().decode("utf-8", "replace").strip() if process.stderr else ""
        if process.wait() != 0:
            raise SourceUnreadable(f"journalctl exited {process.returncode}: {error.splitlines()[0] if error else ''}")


# --- one source ---------------------------------------------------------------------------------

def state_path(data_dir: Path, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return data_dir / "logs" / f"{safe}.state.json"


def analyse(name: str, data_dir: Path, *, path: Path | None = None,
            lines: Iterable[str] | None = None) -> SourceResult:
    """Mine one source (a file at `path`, or `lines` already cut to the period) and save its state."""
    where = state_path(data_dir, name)
    try:
        saved = read_state(where)
    except (StateRefused, ValueError, OSError) as exc:
        return SourceResult(name, refused=str(exc).splitlines()[0], why=WHY_STATE)
    miner = Miner(saved["drain"] if saved else None)
    position: dict[str, int] = {}
    try:
        if path is not None:
            position = read_file_source(path, saved.get("position") if saved else None, miner)
        else:
            batch: list[str] = []
            for line in lines or ():
                batch.append(line)
                if len(batch) >= BLOCK_LINES:
                    miner.add(batch)
                    batch = []
            miner.add(batch)
    except SourceUnreadable as exc:
        return SourceResult(name, refused=str(exc), why=WHY_UNREADABLE)
    previous = {int(k): int(v) for k, v in (saved or {}).get("counts", {}).items()}
    result = SourceResult(name, miner.lines, miner.templates(previous, saved is None), first_run=saved is None)
    write_state(where, {"version": STATE_VERSION, "drain": miner.saved(), "position": position,
                        "counts": {str(k): v for k, v in miner.counts.items()}})
    return result


def drain_state_blob(text: str) -> bytes:
    """The jsonpickle document inside a saved state (for tests and debugging)."""
    return zlib.decompress(base64.b64decode(text))
