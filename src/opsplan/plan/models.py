"""The operations plan as one pydantic model tree.

Every default is the seed's value (docs/seed/operations-plan.ko.md), so
`Plan()` *is* the seed; `opsplan init` writes it out with comments. Sections
that later stages fill with behaviour (backup, recovery, incidents, checks)
are defined here in full so a plan is whole from the start.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsplan.plan.types import MAX_SIZE, Cron, Duration, Interval, Percent, Size, TimeOfDay


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a threshold must not silently keep the default."""

    # allow_inf_nan=False: "inf" or "1e400" written as text would otherwise pass as a number.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True,
                              allow_inf_nan=False)


class Text(Strict):
    """A label shown to operators in both languages."""

    ko: str
    en: str

    def get(self, language: str) -> str:
        return self.ko if language == "ko" else self.en


# Every number in the plan has an upper bound (docs/plan.md "Limits"): a huge value would
# otherwise pass here and overflow later, in a thread that reports nothing.
HttpStatus = Annotated[int, Field(ge=100, le=599)]


# --- §1.1 hardware -------------------------------------------------------------------------------

# A card's UUID ("GPU-...") or PCI bus id ("00000000:01:00.0", or "01:00.0" as lspci prints it).
GPU_PIN_PATTERN = r"^(GPU-[0-9a-fA-F-]{8,}|([0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])$"
GpuPin = Annotated[str, Field(pattern=GPU_PIN_PATTERN)]


class GpuHardware(Strict):
    model: str = "NVIDIA RTX 4000 Ada"
    count: int = Field(default=4, ge=0, le=64)
    # The plan's GPU number -> the card's UUID ("GPU-...") or PCI bus id ("00000000:01:00.0").
    # NVML's index order is not promised across reboots; a pinned GPU keeps its groups and labels
    # on the right card. Empty: GPUs are found by NVML index (the default).
    pin: dict[Annotated[int, Field(ge=0, le=1023)], GpuPin] = Field(default_factory=dict)


class StorageHardware(Strict):
    size: Size = Field(default_factory=lambda: 4 * 10**12)
    type: str = "NVMe SSD"


class Server(Strict):
    name: str = "ai-server-01"
    kind: str = "bare-metal"
    cpu: str = "Intel Xeon Scalable"
    gpu: GpuHardware = Field(default_factory=GpuHardware)
    memory: Size = Field(default_factory=lambda: 256 * 10**9)
    storage: StorageHardware = Field(default_factory=StorageHardware)
    network_gbps: float = Field(default=10, gt=0, le=1_000_000)


# --- §1.2 resource allocation --------------------------------------------------------------------

class GroupMember(Strict):
    """What runs in a group, measured through its cgroup: exactly one of a systemd unit or
    slice (`mariadb.service`, `ai.slice`), a cgroup path under the cgroup root
    (`/system.slice/vllm.service`), or a Docker container by name."""

    unit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9:_.@\\-]+\.(service|slice|scope)$")
    cgroup: str | None = Field(default=None, pattern=r"^/?[A-Za-z0-9:_.@\\/-]+$")
    container: str | None = Field(default=None, pattern=r"^/?[A-Za-z0-9][A-Za-z0-9_.-]*$")

    @model_validator(mode="after")
    def _exactly_one(self) -> GroupMember:
        named = [v for v in (self.unit, self.cgroup, self.container) if v is not None]
        if len(named) != 1:
            raise ValueError("a member names exactly one of unit, cgroup or container")
        if self.cgroup is not None and ".." in self.cgroup.split("/"):
            raise ValueError("a cgroup path must not contain '..'")
        return self

    @property
    def label(self) -> str:
        """How the member is named in metrics and on the status page."""
        if self.cgroup is not None:
            return "/" + self.cgroup.strip("/")
        return self.unit or (self.container or "").lstrip("/")


class AllocationGroup(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: Text
    gpus: list[Annotated[int, Field(ge=0, le=1023)]] = Field(default_factory=list)
    memory: Size
    storage: Size
    paths: list[Path] = Field(default_factory=list)
    purposes: list[Text] = Field(default_factory=list)
    # The processes whose memory counts against `memory` (none: the group's memory use is unknown).
    members: list[GroupMember] = Field(default_factory=list)


def default_allocation() -> list[AllocationGroup]:
    return [
        AllocationGroup(
            id="ai", name=Text(ko="AI 시스템", en="AI system"), gpus=[0, 1, 2],
            memory=128 * 10**9, storage=2 * 10**12, paths=[Path("/srv/ai")],
            purposes=[Text(ko="LLM 추론", en="LLM inference"), Text(ko="벡터 검색", en="Vector search"),
                      Text(ko="모델 학습", en="Model training")]),
        AllocationGroup(
            id="app", name=Text(ko="애플리케이션/DB", en="Application/DB"), gpus=[3],
            memory=128 * 10**9, storage=2 * 10**12, paths=[Path("/srv/app"), Path("/var/lib/mysql")],
            purposes=[Text(ko="API 서버", en="API server"), Text(ko="데이터베이스", en="Database"),
                      Text(ko="캐시/검색엔진", en="Cache/search engine")]),
    ]


# --- services to watch (§1.2 API server, §3.1 application metrics) -------------------------------

class AccessLog(Strict):
    path: Path
    format: Literal["combined", "json"] = "combined"
    # Field names used when format is json (vLLM, uvicorn and most gateways can log JSON lines).
    status_field: str = "status"
    latency_field: str = "request_time"
    user_field: str = "remote_addr"


class Service(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    group: str | None = None
    url: str | None = Field(default=None, description="health probe URL")
    timeout: Duration = 5.0
    expect_status: list[HttpStatus] = Field(default_factory=lambda: [200])
    metrics_url: str | None = Field(default=None, description="the service's own Prometheus endpoint")
    access_log: AccessLog | None = None
    tls_warning_days: int = Field(default=21, ge=0, le=3650)
    # An internal API with a self-signed certificate: trust its CA (ca_file, PEM), or as a last
    # resort skip verification (tls_verify: false; the expiry is still watched).
    tls_verify: bool = True
    ca_file: Path | None = None


def default_services() -> list[Service]:
    return [Service(name="llm-api", group="app", url="http://127.0.0.1:8000/health",
                    metrics_url="http://127.0.0.1:8000/metrics")]


# --- the database --------------------------------------------------------------------------------

class Database(Strict):
    engine: Literal["mariadb"] = "mariadb"
    host: str = "127.0.0.1"
    port: int = Field(default=3306, ge=1, le=65535)
    socket: Path | None = None
    user: str = "opsplan"
    # The password never lives in the plan: an environment variable, or a file readable by its owner only.
    password_env: str | None = "OPSPLAN_DB_PASSWORD"
    password_file: Path | None = None
    datadir: Path = Path("/var/lib/mysql")
    replication: bool = False
    connect_timeout: Duration = 5.0

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            from pydantic_core import PydanticCustomError
            raise PydanticCustomError(
                "secret_in_plan",
                "a password must not be written in the plan; use password_env or password_file (mode 0600)")
        return data


# --- §3 monitoring -------------------------------------------------------------------------------

AlertSeverity = Literal["critical", "warning"]


class PercentThreshold(Strict):
    """A usage rule in percent: critical first so `warning` can be checked against it."""

    critical: Percent | None = None
    warning: Percent | None = None
    for_: Duration = Field(default=300.0, alias="for")


class LatencyThreshold(Strict):
    critical: Duration | None = None
    warning: Duration | None = None
    for_: Duration = Field(default=300.0, alias="for")


class ErrorRateThreshold(PercentThreshold):
    # Seed §3.2 error rate only means something while there is traffic.
    min_requests_per_second: float = Field(default=0.0, ge=0, le=1e9)


class CelsiusThreshold(Strict):
    critical: float | None = Field(default=None, ge=0, le=150)
    warning: float | None = Field(default=None, ge=0, le=150)
    for_: Duration = Field(default=300.0, alias="for")


class StateRule(Strict):
    """A rule on a state (down, missing): on by default, with its own severity and duration."""

    enabled: bool = True
    severity: AlertSeverity = "critical"
    for_: Duration = Field(default=60.0, alias="for")


def _state(severity: str, for_seconds: float) -> StateRule:
    return StateRule.model_validate({"severity": severity, "for": for_seconds})


class AgeThreshold(Strict):
    enabled: bool = True
    critical: Duration = 26 * 3600.0  # a daily backup that missed one night and then some


class Alerts(Strict):
    # Seed §3.2.
    cpu: PercentThreshold = Field(default_factory=lambda: PercentThreshold(critical=90, warning=80))
    memory: PercentThreshold = Field(default_factory=lambda: PercentThreshold(critical=90, warning=80))
    disk: PercentThreshold = Field(default_factory=lambda: PercentThreshold(critical=90, warning=80))
    api_error_rate: ErrorRateThreshold = Field(default_factory=lambda: ErrorRateThreshold(critical=1))
    api_response_time: LatencyThreshold = Field(default_factory=lambda: LatencyThreshold(warning=2.0))
    # Beyond the seed, on by default.
    gpu_temperature: CelsiusThreshold = Field(default_factory=lambda: CelsiusThreshold(critical=90, warning=83))
    gpu_memory: PercentThreshold = Field(default_factory=lambda: PercentThreshold(warning=95))
    # A group's members use more memory than the plan allots it (seed §1.2); 100 is the budget itself.
    group_memory: PercentThreshold = Field(default_factory=lambda: PercentThreshold(critical=100, warning=90))
    gpu_missing: StateRule = Field(default_factory=lambda: _state("critical", 60))
    # A GPU NVML sees but that is lost (Xid 79), hung in the driver or unreadable (opsplan_gpu_up == 0):
    # the card's work has stopped, so it alerts at once.
    gpu_down: StateRule = Field(default_factory=lambda: _state("critical", 0))
    # Xid events in the last 15 minutes (opsplan_gpu_xid_events_recent > 0). Warning: many Xids are an
    # application's fault (13, 31, 43); a card that fell off the bus (79) is GpuDown's critical.
    gpu_xid: StateRule = Field(default_factory=lambda: _state("warning", 0))
    # PCIe replays grew in the last 15 minutes: riser or slot trouble, often before an Xid 79.
    gpu_pcie_replay: StateRule = Field(default_factory=lambda: _state("warning", 0))
    mariadb_down: StateRule = Field(default_factory=lambda: _state("critical", 60))
    api_down: StateRule = Field(default_factory=lambda: _state("critical", 60))
    collector_down: StateRule = Field(default_factory=lambda: _state("warning", 300))
    # A Docker container's health check fails (opsplan_container_healthy == 0).
    container_unhealthy: StateRule = Field(default_factory=lambda: _state("warning", 60))
    backup_age: AgeThreshold = Field(default_factory=AgeThreshold)
    # Any backup target (database, model:NAME, config) whose last attempt failed.
    backup_failed: StateRule = Field(default_factory=lambda: _state("critical", 0))
    # The achievable RPO (opsplan_backup_rpo_seconds) is above recovery.rpo.
    rpo_target: StateRule = Field(default_factory=lambda: _state("warning", 0))
    # The newest restore drill failed (opsplan_drill_last_status == 0).
    drill_failed: StateRule = Field(default_factory=lambda: _state("critical", 0))
    # The newest passing drill measured an RTO above recovery.rto / an RPO above recovery.rpo.
    drill_rto_target: StateRule = Field(default_factory=lambda: _state("warning", 0))
    drill_rpo_target: StateRule = Field(default_factory=lambda: _state("warning", 0))
    # An open incident's acknowledgement or response deadline passed unmet (IncidentResponseOverdue,
    # per incident severity). Critical: nobody took an incident; the deadline already was the wait.
    incident_overdue: StateRule = Field(default_factory=lambda: _state("critical", 0))
    # A value must fall this far below its threshold (percent of the threshold) before the alert clears.
    hysteresis: Percent = 5.0


CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]


class CustomRule(Strict):
    """An operator's own rule: `metric{match} op threshold` for `for`."""

    alert: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$")
    metric: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    match: dict[str, str] = Field(default_factory=dict)
    op: CompareOp = ">"
    threshold: float
    for_: Duration = Field(default=300.0, alias="for")
    severity: AlertSeverity = "warning"
    summary: Text
    description: Text | None = None
    # The metric comes from outside opsplan (another exporter scraped by Prometheus), so
    # `opsplan plan check` does not require it in opsplan's metric catalogue.
    external: bool = False


class StoreSettings(Strict):
    raw_retention: Duration = 14 * 86400.0
    rollup_step: Duration = 300.0
    rollup_retention: Duration = 400 * 86400.0


class Docker(Strict):
    """The Docker Engine API, asked for container names, health and restarts. It is used when a
    group names a container member (or `enabled`: watch every container), and only if the socket exists."""

    enabled: bool = False
    socket: Path = Path("/var/run/docker.sock")
    timeout: Duration = Field(default=5.0, gt=0, le=300)


class Monitoring(Strict):
    interval: Interval = 15.0
    store: StoreSettings = Field(default_factory=StoreSettings)
    alerts: Alerts = Field(default_factory=Alerts)
    rules: list[CustomRule] = Field(default_factory=list)
    # An external Alertmanager (v2 API) that opsplan pushes its own alerts to, when a fleet has one.
    alertmanager_url: str | None = None
    # The Prometheus that Grafana's exported datasource queries (`opsplan export`).
    prometheus_url: str = "http://127.0.0.1:9090"
    gpu_required: bool = True
    docker: Docker = Field(default_factory=Docker)


# --- §2 checks -----------------------------------------------------------------------------------

class CheckItem(Text):
    """One item of a check run: with an `id`, its evaluator (opsplan/checks/registry.py) measures it;
    without one it is a manual checklist item that a person ticks with a note."""

    id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)


class CheckSchedule(Strict):
    schedule: Cron
    items: list[CheckItem]


def _daily() -> CheckSchedule:
    return CheckSchedule(schedule="0 9 * * *", items=[
        CheckItem(id="system.usage", ko="CPU/메모리/디스크 사용률", en="CPU/memory/disk usage"),
        CheckItem(id="gpu.status", ko="GPU 상태 및 사용률", en="GPU status and usage"),
        CheckItem(id="network.status", ko="네트워크 상태", en="Network status"),
        CheckItem(id="api.response_time", ko="API 응답시간", en="API response time"),
        CheckItem(id="api.error_rate", ko="에러율", en="Error rate"),
        CheckItem(id="users.sessions", ko="사용자 세션", en="User sessions"),
        CheckItem(id="mariadb.status", ko="MariaDB 상태", en="MariaDB status"),
        CheckItem(id="backup.status", ko="백업 상태", en="Backup status"),
        CheckItem(id="disk.space", ko="디스크 공간", en="Disk space"),
    ])


def _weekly() -> CheckSchedule:
    return CheckSchedule(schedule="0 10 * * 1", items=[
        CheckItem(id="logs.analysis", ko="로그 분석", en="Log analysis"),
        CheckItem(id="performance.trend", ko="성능 트렌드 분석", en="Performance trend analysis"),
        CheckItem(id="security.patches", ko="보안 패치 적용", en="Security patch application"),
    ])


def _monthly() -> CheckSchedule:
    return CheckSchedule(schedule="0 10 1 * *", items=[
        CheckItem(id="system.whole", ko="시스템 전반 점검", en="Whole-system check"),
        CheckItem(id="performance.optimisation", ko="성능 최적화", en="Performance optimisation"),
        CheckItem(id="capacity.planning", ko="용량 계획 수립", en="Capacity planning"),
    ])


def _quarterly() -> CheckSchedule:
    return CheckSchedule(schedule="0 10 1 1,4,7,10 *", items=[
        CheckItem(id="updates.major", ko="대규모 업데이트", en="Major updates"),
        CheckItem(id="security.audit", ko="보안 감사", en="Security audit"),
        CheckItem(id="backup.recovery_test", ko="백업 복구 테스트", en="Backup recovery test"),
    ])


class AllowedPort(Strict):
    """A port the quarterly security audit (OPS-NET-001) expects to be listening. `loopback`: only
    on 127.0.0.1/::1 (a listener on any other address is reported)."""

    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    scope: Literal["any", "loopback"] = "any"


def _allowed_ports() -> list[AllowedPort]:
    # SSH from anywhere (the operators log in); MariaDB and the seed's LLM API only on loopback (the
    # API server on the same box talks to them); local DNS stubs (systemd-resolved) on loopback.
    # The web console's own port (web.port on web.bind) is always allowed: no need to repeat it.
    return [AllowedPort(port=22), AllowedPort(port=3306, scope="loopback"),
            AllowedPort(port=8000, scope="loopback"), AllowedPort(port=53, scope="loopback"),
            AllowedPort(port=53, protocol="udp", scope="loopback")]
class LogSource(Strict):
    """A log file the weekly log analysis (logs.analysis) mines for templates."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)
    path: Path


def _log_sources() -> list[LogSource]:
    # Debian's MariaDB writes here when log_error is set (50-server.cnf); otherwise it logs to the journal.
    return [LogSource(name="mariadb", path=Path("/var/log/mysql/error.log"))]


class Checks(Strict):
    daily: CheckSchedule = Field(default_factory=_daily)
    weekly: CheckSchedule = Field(default_factory=_weekly)
    monthly: CheckSchedule = Field(default_factory=_monthly)
    quarterly: CheckSchedule = Field(default_factory=_quarterly)
    # How long check runs and their reports are kept (not in the seed): 400 days is a year of daily
    # runs plus a quarter, so a quarterly or yearly review can still compare with the same period last year.
    retention: Duration = 400 * 86400.0
    # Not in the seed: the listening ports the security audit accepts (quarterly, OPS-NET-001).
    allowed_ports: list[AllowedPort] = Field(default_factory=_allowed_ports, max_length=1000)
    # --- weekly (checks/evaluators/weekly.py; not in the seed, docs/checks-weekly.md) ---
    # logs.analysis mines these files, each service's access_log (access_logs: true) and, where
    # systemd runs, the journal of the week.
    log_sources: list[LogSource] = Field(default_factory=_log_sources)
    access_logs: bool = True
    journal: bool = True
    # performance.trend flags a figure whose weekly mean rose by at least this many percent.
    trend_step: Percent = 20.0
    # --- after each run (issue 14 item 6; docs/checks.md "After a run") ---
    # The channels (notifications.channels names) each run's summary goes to. Unset: every channel
    # that takes Warnings (chat channels, unless a channel lists its own severities): a summary is
    # news for the team's room, not a page, as the seed routes a Warning to chat and not to e-mail.
    # An empty list sends no summary.
    notify_channels: list[str] | None = None
    # A failed item opens an incident (or joins the open one of its period and item) when true.
    open_incidents: bool = True
    # The incident severity of a failed item, by item id or by period (the item's own entry wins);
    # anything not named is Minor: a check reports on the past window (a backup too old, a disk
    # filling in weeks, patches pending), the seed's "일부 기능 장애" / "경미한 성능 저하", while an
    # outage happening now is the alerts' (ApiDown, MariaDBDown are Critical).
    incident_severity: dict[str, Literal["critical", "major", "minor"]] = Field(default_factory=dict)


# --- §4.1 backup ---------------------------------------------------------------------------------

class DatabaseBackup(Strict):
    tool: Literal["mariabackup"] = "mariabackup"
    schedule: Cron = "0 2 * * *"
    full_schedule: Cron = "0 2 * * 0"  # a new full on Sunday, incrementals the other days
    retention: Duration = 30 * 86400.0
    method: Literal["incremental", "full"] = "incremental"
    max_chain_length: int = Field(default=7, ge=1, le=1000)
    compression_level: int = Field(default=3, ge=1, le=22)
    compression_threads: int = Field(default=0, ge=0, le=1024, description="zstd worker threads; 0 = one per CPU core")
    # Capture and compare table checksums: row count + CHECKSUM TABLE per table, read from the backup's
    # prepared copy on a scratch server after the backup (never the live server); drills compare with them.
    table_checksums: bool = True
    table_checksum_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0, le=MAX_SIZE,
                                          description="tables larger than this get a row count only")
    # Point-in-time recovery: closed binary logs copied every interval (not in the seed; docs/recovery.md).
    binlog_archive: bool = True
    binlog_archive_interval: Duration = 5 * 60.0


class PerfRequest(Strict):
    """One request of a model's performance test (seed §4.2 성능 테스트), e.g. vLLM's /v1/models
    or a fixed prompt to /v1/completions."""

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(pattern=r"^/")
    body: dict | None = None  # sent as JSON


def _perf_requests() -> list[PerfRequest]:
    return [PerfRequest(method="GET", path="/v1/models")]


class ModelPerf(Strict):
    """The rollback's performance test: `count` requests (the list repeated), `concurrency` at a
    time, latency p50/p95 and throughput compared with the version's recorded baseline."""

    requests: list[PerfRequest] = Field(default_factory=_perf_requests, min_length=1)
    count: int = Field(default=20, ge=1, le=10000)
    concurrency: int = Field(default=2, ge=1, le=64)
    tolerance: Percent = 20.0      # slower than the baseline by more than this fails
    slack: Duration = 0.05         # differences smaller than this are noise, whatever the percent
    timeout: Duration = 120.0      # the whole test; one request gets the same limit


class ModelTestSlot(Strict):
    """A second model server used only for tests (drills, and a rollback's performance test when
    given): it loads the candidate through its own link, never the serving one."""

    link: Path
    endpoint: str = Field(pattern=r"^https?://")
    reload_command: list[str] = Field(default_factory=list)


class ModelSource(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    path: Path
    # The symlink the serving stack loads the model through; the rollback runbook swaps it.
    serving_link: Path | None = None
    # The model server (e.g. vLLM http://127.0.0.1:8000): health probe and performance test.
    endpoint: str | None = Field(default=None, pattern=r"^https?://")
    health_path: str = Field(default="/health", pattern=r"^/")
    health_wait: Duration = 300.0  # a large model takes minutes to load after a reload
    # Argument lists, no shell. validate gets the candidate directory as {model_dir} in an
    # argument and as OPSPLAN_MODEL_DIR in its environment; exit 0 = valid.
    validate_command: list[str] = Field(default_factory=list)
    validate_timeout: Duration = 1800.0
    reload_command: list[str] = Field(default_factory=list)  # makes the server load the link again
    reload_timeout: Duration = 300.0
    perf: ModelPerf = Field(default_factory=ModelPerf)
    test_slot: ModelTestSlot | None = None


class ModelBackup(Strict):
    schedule: Literal["on_change"] = "on_change"
    check_interval: Duration = 15 * 60.0  # not in the seed: how often "on version change" looks
    keep_versions: int = Field(default=5, ge=1, le=1000)
    method: Literal["full"] = "full"
    models: list[ModelSource] = Field(default_factory=list)


class ConfigBackup(Strict):
    schedule: Literal["on_change"] = "on_change"
    retention: Literal["forever"] = "forever"
    method: Literal["git"] = "git"
    check_interval: Duration = 5 * 60.0  # not in the seed: a cheap look for changes (sizes, times)
    daily: Cron = "30 2 * * *"  # not in the seed: a full pass once a day whatever the look says
    paths: list[Path] = Field(default_factory=lambda: [Path("/etc/mysql"), Path("/etc/opsplan")])
    exclude: list[str] = Field(default_factory=lambda: ["*.pem", "*.key", "*password*", "*secret*"])


class Backup(Strict):
    directory: Path = Path("/var/backups/opsplan")
    database: DatabaseBackup = Field(default_factory=DatabaseBackup)
    models: ModelBackup = Field(default_factory=ModelBackup)
    config: ConfigBackup = Field(default_factory=ConfigBackup)


# --- §4.2 recovery -------------------------------------------------------------------------------

class Procedure(Strict):
    steps: list[Text]


def _db_procedure() -> Procedure:
    return Procedure(steps=[
        Text(ko="서비스 중지", en="Stop the service"),
        Text(ko="백업 복원", en="Restore the backup"),
        Text(ko="정합성 검증", en="Verify consistency"),
        Text(ko="서비스 재시작", en="Restart the service"),
    ])


def _model_procedure() -> Procedure:
    return Procedure(steps=[
        Text(ko="이전 버전 복원", en="Restore the previous version"),
        Text(ko="모델 검증", en="Validate the model"),
        Text(ko="성능 테스트", en="Performance test"),
        Text(ko="서비스 적용", en="Put into service"),
    ])


class HealthProbe(Strict):
    """How a restore knows a restarted service is healthy: an HTTP status, a TCP connect, or
    (database only) a login as the plan's database user. `none` skips the probe."""

    kind: Literal["none", "http", "tcp", "sql"] = "none"
    url: str | None = None                      # http
    expect_status: list[HttpStatus] = Field(default_factory=lambda: [200])
    host: str = "127.0.0.1"                     # tcp
    port: int | None = Field(default=None, ge=1, le=65535)
    wait: Duration = 120.0                      # how long to keep probing before giving up

    @model_validator(mode="after")
    def _complete(self) -> HealthProbe:
        if self.kind == "http" and not self.url:
            raise ValueError("an http health probe needs url")
        if self.kind == "tcp" and self.port is None:
            raise ValueError("a tcp health probe needs port")
        return self


class ServiceControl(Strict):
    """How opsplan stops and starts a service during a restore: a systemd unit, a Docker
    container, or a pair of argument lists (no shell). `none`: opsplan cannot stop it."""

    kind: Literal["none", "systemd", "docker", "commands"] = "none"
    unit: str | None = None                     # systemd
    container: str | None = None                # docker
    stop: list[str] = Field(default_factory=list)    # commands: argument lists, e.g. [docker, compose, stop, db]
    start: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)  # commands, optional: exit 0 = running
    timeout: Duration = 300.0                   # for one stop or start
    health: HealthProbe = Field(default_factory=HealthProbe)

    @model_validator(mode="after")
    def _complete(self) -> ServiceControl:
        if self.kind == "systemd" and not self.unit:
            raise ValueError("a systemd service control needs unit")
        if self.kind == "docker" and not self.container:
            raise ValueError("a docker service control needs container")
        if self.kind == "commands" and not (self.stop and self.start):
            raise ValueError("a commands service control needs both stop and start argument lists")
        return self


class Recovery(Strict):
    database: Procedure = Field(default_factory=_db_procedure)
    model: Procedure = Field(default_factory=_model_procedure)
    # The services an in-place database restore stops (API first, then the database) and starts
    # again (not in the seed, which names no unit; `none` = an in-place restore refuses to run).
    database_service: ServiceControl = Field(default_factory=ServiceControl)
    api_service: ServiceControl = Field(default_factory=ServiceControl)
    # How many `<datadir>.opsplan-before-<run>` copies a successful restore keeps (0: delete this run's).
    keep_previous_datadirs: int = Field(default=1, ge=0, le=100)
    # Where a restore unpacks and prepares the chain; default <backup.directory>/.scratch.
    scratch_dir: Path | None = None
    # Targets the restore drill measures against (not in the seed; see docs).
    rto: Duration = 4 * 3600.0
    rpo: Duration = 24 * 3600.0
    # When `opsplan serve` runs the database restore drill; None = checks.quarterly.schedule (seed §2.2).
    drill_schedule: Cron | None = None


# --- §5 incidents --------------------------------------------------------------------------------

SeverityName = Literal["critical", "major", "minor"]


class SeverityLevel(Strict):
    examples: list[Text]
    response: Duration  # time to first response; 0 means immediately
    # True: deadlines count wall-clock time (24/7); False: only business hours count.
    around_the_clock: bool = False
    # Not in the seed: how long until someone must acknowledge (docs/incidents.md). The response
    # deadline is never earlier than this: "immediately" still leaves time to reach a keyboard.
    acknowledge: Duration = 15 * 60.0


def _severities() -> dict[SeverityName, SeverityLevel]:
    return {
        "critical": SeverityLevel(response=0, around_the_clock=True, acknowledge=15 * 60, examples=[
            Text(ko="서비스 완전 중단", en="Complete service outage"),
            Text(ko="데이터 손실/유출", en="Data loss / data leak"),
            Text(ko="보안 사고", en="Security incident")]),
        "major": SeverityLevel(response=2 * 3600, acknowledge=30 * 60, examples=[
            Text(ko="주요 기능 장애", en="Main feature failure"),
            Text(ko="성능 심각 저하", en="Severe performance degradation"),
            Text(ko="부분 서비스 중단", en="Partial service outage")]),
        "minor": SeverityLevel(response=4 * 3600, acknowledge=60 * 60, examples=[
            Text(ko="일부 기능 장애", en="Some feature failure"),
            Text(ko="경미한 성능 저하", en="Slight performance degradation")]),
    }


class Stage(Strict):
    name: Text
    tasks: list[Text]


def _stages() -> list[Stage]:
    return [
        Stage(name=Text(ko="초기 대응", en="Initial response"), tasks=[
            Text(ko="장애 상황 파악", en="Assess the situation"),
            Text(ko="임시 조치 적용", en="Apply a temporary mitigation"),
            Text(ko="이해관계자 통보", en="Notify stakeholders")]),
        Stage(name=Text(ko="원인 분석", en="Root-cause analysis"), tasks=[
            Text(ko="로그 분석", en="Log analysis"),
            Text(ko="영향도 평가", en="Impact assessment"),
            Text(ko="해결 방안 수립", en="Plan the fix")]),
        Stage(name=Text(ko="복구 실행", en="Recovery"), tasks=[
            Text(ko="해결 방안 적용", en="Apply the fix"),
            Text(ko="정상화 확인", en="Confirm normal operation"),
            Text(ko="모니터링 강화", en="Heightened monitoring")]),
    ]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _working_days() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class BusinessHours(Strict):
    """When major and minor deadlines count (not in the seed; docs/incidents.md says why these)."""

    days: list[Weekday] = Field(default_factory=_working_days)
    start: TimeOfDay = "09:00"
    end: TimeOfDay = "18:00"
    # Public holidays from the `holidays` package, by ISO country code; None: none.
    public_holidays: str | None = "KR"
    # The company's own days off (YYYY-MM-DD), on top of the public ones.
    extra_holidays: list[date] = Field(default_factory=list)


class AlertMapping(Strict):
    """Which alerts open an incident and of what severity: the first entry that matches wins."""

    alerts: list[str] = Field(default_factory=list)  # alert names; empty: any alert
    severity: AlertSeverity | None = None             # the alert's own severity; None: either
    match: dict[str, str] = Field(default_factory=dict)  # labels the alert must carry
    incident: SeverityName
    # The alert names come from outside opsplan (Alertmanager's webhook): `plan check` does not
    # require them among opsplan's rules.
    external: bool = False


def _alert_mappings() -> list[AlertMapping]:
    # Seed §5.1 examples: a down API or database is a "complete service outage" (critical); the
    # error-rate Critical is a "main feature failure" (major); slow responses are a "slight
    # performance degradation" (minor); a lost GPU stops one allocation group, a "partial service
    # outage" (major). Other alerts warn without opening an incident.
    return [
        AlertMapping(alerts=["ApiDown", "MariaDBDown"], incident="critical"),
        AlertMapping(alerts=["ApiErrorRateHigh"], severity="critical", incident="major"),
        AlertMapping(alerts=["GpuDown", "GpuMissing"], incident="major"),
        AlertMapping(alerts=["ApiResponseTimeHigh"], incident="minor"),
    ]


# --- incidents: checklists, stakeholder notices, postmortems, SLA (docs/incidents.md) ------------
# (issue 13 items 4, 6, 7; kept apart from the core models above so each part merges on its own)

def _serious() -> list[SeverityName]:
    return ["critical", "major"]


class IncidentFollowUp(Strict):
    """What each incident's checklist requires and whom its status notice goes to."""

    # Channel names (notifications.channels) the "notify stakeholders" task sends the status to.
    stakeholders: list[str] = Field(default_factory=list)
    # When the status notice promises the next update (from the time it is sent).
    update_every: Duration = 3600.0
    # Per stage, in order: the task numbers (1-based) that must be checked before the next stage
    # ([[1, 3], [], [2]]). Empty: nothing is required (the checklist is a record, not a gate).
    required_tasks: list[list[Annotated[int, Field(ge=1, le=50)]]] = Field(default_factory=list, max_length=50)
    # Closing an incident of these severities needs a final postmortem.
    final_postmortem_for: list[SeverityName] = Field(default_factory=_serious)


class Sla(Strict):
    # Not in the seed: monthly availability target per service, in percent (docs/incidents.md says
    # why 99.5: about 3.6 hours of downtime a month, what one business-hours major can cost).
    target: float = Field(default=99.5, gt=0, le=100)


class Incidents(Strict):
    severities: dict[SeverityName, SeverityLevel] = Field(default_factory=_severities)
    stages: list[Stage] = Field(default_factory=_stages)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    from_alerts: list[AlertMapping] = Field(default_factory=_alert_mappings)
    # An alert of the same subject firing again this soon after its incident was resolved reopens
    # that incident instead of opening a new one (a fix that did not hold is the same incident).
    reopen_within: Duration = 3600.0
    # issue 13 items 4, 6, 7 (checklists, postmortems, SLA)
    follow_up: IncidentFollowUp = Field(default_factory=IncidentFollowUp)
    sla: Sla = Field(default_factory=Sla)


# --- notifications, web, the whole plan ----------------------------------------------------------



def _both_severities() -> list[AlertSeverity]:
    return ["critical", "warning"]


class Channel(Strict):
    name: str
    # apprise URLs carry tokens: give the name of an environment variable or a 0600 file holding the URL.
    url_env: str | None = None
    url_file: Path | None = None
    kind: Literal["chat", "email", "webhook", "other"] = "chat"
    # Unset: a chat channel takes criticals and warnings, any other kind criticals only (seed §5.1).
    severities: list[AlertSeverity] = Field(default_factory=_both_severities)

    @model_validator(mode="before")
    @classmethod
    def _severities_by_kind(cls, data: object) -> object:
        if isinstance(data, dict) and "severities" not in data and data.get("kind", "chat") != "chat":
            return {**data, "severities": ["critical"]}
        return data


class Notifications(Strict):
    channels: list[Channel] = Field(default_factory=list)
    critical_repeat: Duration = 30 * 60.0
    quiet_hours: str | None = None


class Web(Strict):
    bind: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    # Write endpoints (ack, silences) need `Authorization: Bearer <token>`: the token comes from
    # this environment variable, else from a 0600 file; with neither, the write API is off.
    api_token_env: str | None = "OPSPLAN_API_TOKEN"
    api_token_file: Path | None = None
    # HTTPS: a PEM certificate (chain) and its private key (0600). A bind address other than
    # loopback is refused without them (serve/bind_rule.py); `plan check` reads both files.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # Console login sessions end after this long without a request, and this long after login
    # whatever the activity (web/identity/sessions.py).
    session_idle: Duration = Field(default=30 * 60.0, gt=0)
    session_absolute: Duration = Field(default=12 * 3600.0, gt=0)

    @model_validator(mode="after")
    def _tls_pair(self) -> Web:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("give both web.tls_cert_file and web.tls_key_file, or neither")
        return self


# --- on-call, escalation, paging, maintenance, heartbeat (issue 13 item 3; docs/incidents.md) ---

# Who a step pages: the rotation's primary, its secondary, or a person by name.
PRIMARY, SECONDARY = "primary", "secondary"


class Person(Strict):
    name: str
    # Names of notification channels (notifications.channels) that reach this person, and/or the
    # person's own apprise URL (a token: an environment variable or a 0600 file, as channels).
    channels: list[str] = Field(default_factory=list)
    url_env: str | None = None
    url_file: Path | None = None


class Rotation(Strict):
    """Weekly shifts: `people` in order, one hand-off a week at `handoff_day` `handoff_time` (plan tz).
    The week holding `start` belongs to people[0]; the secondary is the next person in the list."""

    people: list[str] = Field(default_factory=list)
    handoff_day: Weekday = "mon"
    handoff_time: TimeOfDay = "09:00"
    start: date = date(2026, 1, 5)


class EscalationStep(Strict):
    to: str = PRIMARY  # primary | secondary | a person's name
    after: Duration = 0.0  # after the previous step (the first: after opening)


class EscalationPolicy(Strict):
    steps: list[EscalationStep] = Field(default_factory=lambda: [EscalationStep()])
    # How many times the steps run in all before paging stops (unacknowledged); 1: once.
    repeat: int = Field(default=1, ge=1, le=20)
    # any_hour: pages at once day or night; business_hours: outside them a page waits (queued, in
    # the outbox) for the next business hour and the steps' delays count business time.
    hours: Literal["any_hour", "business_hours"] = "business_hours"
    # Between the last step and the first step of the next round.
    repeat_after: Duration = 15 * 60.0


def _escalation() -> dict[SeverityName, EscalationPolicy]:
    # A team of 2-5 (docs/incidents.md): the secondary is paged when the primary has not
    # acknowledged by the severity's acknowledgement time (15m / 30m); minor waits for the primary.
    return {
        "critical": EscalationPolicy(steps=[EscalationStep(to=PRIMARY), EscalationStep(to=SECONDARY, after=15 * 60)],
                                     repeat=3, hours="any_hour"),
        "major": EscalationPolicy(steps=[EscalationStep(to=PRIMARY), EscalationStep(to=SECONDARY, after=30 * 60)]),
        "minor": EscalationPolicy(steps=[EscalationStep(to=PRIMARY)]),
    }


class MaintenanceWindow(Strict):
    """While it lasts, incidents about its subjects page nobody (noted on their timeline)."""

    subjects: list[str]  # alert names or label values (host, service, group); "*": everything
    start: datetime
    end: datetime
    reason: str = ""


class Heartbeat(Strict):
    """The dead-man's switch: serve calls this URL every `every`; a monitor elsewhere pages when it stops."""

    url_env: str | None = None  # the URL is a secret (it names the check): a variable or a 0600 file
    url_file: Path | None = None
    method: Literal["GET", "POST"] = "GET"
    every: Duration = Field(default=5 * 60.0, ge=10)
    timeout: Duration = Field(default=10.0, gt=0)


class OnCall(Strict):
    people: list[Person] = Field(default_factory=list)
    rotation: Rotation = Field(default_factory=Rotation)
    escalation: dict[SeverityName, EscalationPolicy] = Field(default_factory=_escalation)
    # An acknowledged incident with no timeline activity this long pages its owner again (0: never).
    repage_after: Duration = 2 * 3600.0
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    heartbeat: Heartbeat | None = None

    @model_validator(mode="after")
    def _names_known(self) -> OnCall:
        names = [p.name for p in self.people]
        if len(set(names)) != len(names):
            raise ValueError("oncall.people names the same person twice")
        unknown = [n for n in self.rotation.people if n not in names]
        for policy in self.escalation.values():
            unknown += [s.to for s in policy.steps if s.to not in (PRIMARY, SECONDARY, *names)]
        if unknown:
            raise ValueError(f"oncall names people not in oncall.people: {', '.join(dict.fromkeys(unknown))}")
        return self

    def person_channels(self) -> list[Channel]:
        """A channel per person with an own URL, named `person:NAME` (pages only: no alert routes there)."""
        return [Channel(name=f"person:{p.name}", url_env=p.url_env, url_file=p.url_file, kind="other",
                        severities=["critical", "warning"])
                for p in self.people if p.url_env or p.url_file]

    def person(self, name: str) -> Person | None:
        return next((p for p in self.people if p.name == name), None)


# --- end of on-call ------------------------------------------------------------------------------


class Plan(Strict):
    version: Literal[1] = 1
    server: Server = Field(default_factory=Server)
    allocation: list[AllocationGroup] = Field(default_factory=default_allocation)
    services: list[Service] = Field(default_factory=default_services)
    database: Database = Field(default_factory=Database)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    checks: Checks = Field(default_factory=Checks)
    backup: Backup = Field(default_factory=Backup)
    recovery: Recovery = Field(default_factory=Recovery)
    incidents: Incidents = Field(default_factory=Incidents)
    notifications: Notifications = Field(default_factory=Notifications)
    oncall: OnCall = Field(default_factory=OnCall)
    web: Web = Field(default_factory=Web)
    data_dir: Path = Path("/var/lib/opsplan")
    # The state database is SQLite in data_dir unless this environment variable holds an
    # SQLAlchemy URL (MariaDB/PostgreSQL for a fleet); a URL carries a password, so never the plan.
    state_db_url_env: str | None = None
    timezone: str = "Asia/Seoul"
    language: Literal["ko", "en"] = "ko"

    @model_validator(mode="after")
    def _pins_cover_the_allocation(self) -> Plan:
        pins = self.server.gpu.pin
        if pins:
            # Half pinned would mix two numberings: an unpinned index could name a pinned card.
            unpinned = sorted(set(self.expected_gpus()) - set(pins))
            if unpinned:
                raise ValueError(f"server.gpu.pin must name every GPU of the allocation; missing {unpinned}")
            values = [v.lower() for v in pins.values()]
            if len(set(values)) != len(values):
                raise ValueError("server.gpu.pin names the same card twice")
        return self

    def group_of_gpu(self, index: int) -> str | None:
        for group in self.allocation:
            if index in group.gpus:
                return group.id
        return None

    def expected_gpus(self) -> list[int]:
        return sorted(i for group in self.allocation for i in group.gpus)
