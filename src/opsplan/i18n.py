"""One message catalogue for everything opsplan says to a person, in Korean and English.

Program output (CLI lines, runbook step output and titles, notifications, the status page,
reports) is looked up here by key with `t(key, language, **values)`; nothing else in the source
pairs Korean and English inline. What the operator writes in the plan (alert rule summaries,
allocation group names, recovery step titles) is plan data, the plan's own `Text` type, and
stays in the plan.

Korean follows /work/shared/KOREAN.md: a particle that follows a value is the placeholder's format
spec, `{host:이}`, and `t` picks the form the value's last sound takes ("db1이", "gpu가"); counts
read noun + number + counter; durations and sizes come formatted by `opsplan.format` in the
message's language. tests/unit/test_korean_text.py renders every Korean text and fails on an
English word outside its allowed list.

Each entry is a `Message` with both texts: a missing language cannot be written. Keys are
literal strings at the call site (a table of literal keys where the key depends on a value),
so tests/unit/test_i18n_catalogue.py can check that every key the code uses is here, that every
entry here is used, that neither text is empty and that both texts take the same
`{placeholders}`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Final

LANGUAGES: Final = ("ko", "en")


@dataclass(frozen=True, slots=True)
class Message:
    """One catalogue entry: the Korean and the English text of one message."""

    ko: str
    en: str

    def get(self, language: str) -> str:
        if language == "ko":
            return self.ko
        if language == "en":
            return self.en
        raise ValueError(f"unknown language {language!r}: opsplan speaks {' and '.join(LANGUAGES)}")


class UnknownMessage(KeyError):
    """`t` was asked for a key the catalogue does not have (a KeyError, so `except KeyError` catches it)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no message {self.key!r} in the catalogue (src/opsplan/i18n.py)"


M = Message  # short, to keep the catalogue below one entry a line where it fits

MESSAGES: Final[dict[str, Message]] = {
    "status.title": M(ko="opsplan 상태", en="opsplan status"),
    "status.last_cycle": M(ko="마지막 수집", en="Last collection"),
    "status.groups": M(ko="리소스 할당 그룹", en="Allocation groups"),
    "status.gpu_missing": M(ko="인식되지 않음", en="missing"),
    "status.gpu_down": M(ko="응답 없음", en="down"),
    # Why a GPU is down (opsplan_gpu_fault_info's reasons).
    "status.gpu_fault.lost": M(ko="버스에서 사라짐 (Xid 79, 재부팅 또는 GPU 리셋 필요)",
                               en="fell off the bus (Xid 79; needs a reboot or GPU reset)"),
    "status.gpu_fault.hung": M(ko="드라이버에서 응답 없음", en="hung in the driver"),
    "status.gpu_fault.no_permission": M(ko="접근 권한 없음", en="no permission to read it"),
    "status.gpu_fault.unreadable": M(ko="값을 읽을 수 없음", en="no value could be read"),
    "status.utilization": M(ko="사용률", en="Utilization"),
    "status.memory": M(ko="메모리", en="Memory"),
    "status.memory_use": M(ko="메모리 사용 / 할당", en="Memory used / budget"),
    # Why a service's health probe fails (opsplan_api_probe_failure_info's reasons).
    "status.probe.certificate": M(ko="인증서 검증 실패: ca_file 또는 tls_verify 설정 필요",
                                  en="certificate verify failed: set ca_file or tls_verify"),
    "status.probe.tls": M(ko="TLS 연결 실패", en="TLS handshake failed"),
    "status.probe.ca_file": M(ko="CA 파일을 쓸 수 없음", en="the CA file cannot be used"),
    "status.probe.connect": M(ko="연결 실패", en="no connection"),
    "status.probe.timeout": M(ko="응답 시간 초과", en="timed out"),
    "status.probe.status": M(ko="예상하지 않은 HTTP 상태", en="unexpected HTTP status"),
    "status.probe.error": M(ko="요청 실패", en="request failed"),
    "status.unhealthy": M(ko="헬스 체크 실패", en="unhealthy"),
    "status.restarts": M(ko="재시작 {count}회", en="restarts: {count}"),
    "status.temperature": M(ko="온도", en="Temperature"),
    "status.power": M(ko="전력", en="Power"),
    "status.system": M(ko="시스템", en="System"),
    "status.cpu": M(ko="CPU", en="CPU"),
    "status.swap": M(ko="스왑", en="Swap"),
    "status.alerts": M(ko="알림", en="Alerts"),
    "status.acknowledged": M(ko="확인됨", en="acknowledged"),
    "status.silenced": M(ko="알림 중지", en="silenced"),
    "status.backups": M(ko="백업", en="Backups"),
    "status.backup_ok": M(ko="성공", en="ok"),
    "status.backup_failed": M(ko="실패", en="failed"),
    "status.network": M(ko="네트워크", en="Network"),
    "status.gpus_seen": M(ko="인식된 GPU / 운영 계획서의 GPU", en="GPUs visible / in the plan"),
    "status.disk": M(ko="디스크", en="Disk"),
    "status.services": M(ko="서비스", en="Services"),
    "status.service": M(ko="서비스", en="Service"),
    "status.up": M(ko="정상", en="up"),
    "status.down": M(ko="중단", en="down"),
    "status.unknown": M(ko="알 수 없음", en="unknown"),
    "status.response_time": M(ko="응답 시간 (p95)", en="Response time (p95)"),
    "status.error_rate": M(ko="에러율", en="Error rate"),
    "status.throughput": M(ko="처리량", en="Throughput"),
    "status.users": M(ko="동시접속자", en="Concurrent users"),
    "status.database": M(ko="데이터베이스", en="Database"),
    "status.connections": M(ko="연결", en="Connections"),
    "status.qps": M(ko="초당 쿼리", en="Queries/s"),
    "status.collectors": M(ko="수집기", en="Collectors"),
    "status.no_gpu": M(ko="NVIDIA 드라이버가 없어 GPU를 확인할 수 없습니다", en="No NVIDIA driver: no GPU is visible"),
    "status.store_error": M(ko="저장소 오류", en="store"),
    "status.detail": M(ko="상세: {detail}", en="{detail}"),
    "status.cycle_took": M(ko="{timezone}, 소요 {seconds}", en="{timezone}, {seconds}"),
    # --- the overview page (issue 12): headers, states, explained empty states ---
    "status.lang_unsupported": M(ko="지원하지 않는 언어: '{lang}' ('ko' 또는 'en'만 가능)",
                                 en="unsupported language: '{lang}' ('ko' or 'en' only)"),
    "status.lang.ko": M(ko="한국어", en="Korean (한국어)"),
    "status.lang.en": M(ko="영어 (English)", en="English"),
    "status.nav": M(ko="바로 가기", en="Sections"),
    "status.refresh_note": M(ko="{seconds}초마다 새로 고침", en="Refreshed every {seconds} s"),
    "status.open_alerts": M(ko="열린 알림: 발생 {count}개, 대기 {n}개", en="Open alerts: {count} firing, {n} pending"),
    "status.no_open_alerts": M(ko="발생 또는 대기 중인 알림 없음", en="No alert is firing or pending"),
    "status.col.state": M(ko="상태", en="State"),
    "status.col.severity": M(ko="심각도", en="Severity"),
    "status.col.alert": M(ko="알림", en="Alert"),
    "status.col.subject": M(ko="대상", en="Subject"),
    "status.col.since": M(ko="시작", en="Since"),
    "status.col.value": M(ko="값", en="Value"),
    "status.col.threshold": M(ko="임계값", en="Threshold"),
    "status.col.marks": M(ko="처리", en="Handling"),
    "status.col.target": M(ko="대상", en="Target"),
    "status.col.result": M(ko="결과", en="Result"),
    "status.col.last_success": M(ko="마지막 성공", en="Last success"),
    "status.col.age": M(ko="경과", en="Age"),
    "status.col.size": M(ko="크기", en="Size"),
    "status.col.why": M(ko="실패 원인", en="Why it failed"),
    "status.col.gpu": M(ko="GPU", en="GPU"),
    "status.col.processes": M(ko="프로세스", en="Processes"),
    "status.col.status": M(ko="상태", en="Status"),
    "status.col.figure": M(ko="항목", en="Item"),
    "status.col.measured": M(ko="측정값", en="Measured"),
    "status.col.target_value": M(ko="목표", en="Target"),
    "status.col.collector": M(ko="수집기", en="Collector"),
    "status.col.detail": M(ko="상세", en="Detail"),
    "status.state_alert": M(ko="상태 알림 (임계값 없음)", en="state alert (no threshold)"),
    "status.storage_use": M(ko="스토리지 사용 / 할당", en="Storage used / budget"),
    "status.path_missing": M(ko="경로 없음: {path}", en="path does not exist: {path}"),
    "status.storage_not_measured": M(ko="아직 측정 전 (최대 10분 소요)",
                                     en="not measured yet (takes up to 10 minutes)"),
    "status.no_backup_yet_at": M(ko="아직 백업 없음: 첫 백업은 {time}에 실행됩니다",
                                 en="no backup yet: the first runs at {time}"),
    "status.no_backup_yet_change": M(ko="아직 백업 없음: 변경이 감지되면 백업합니다",
                                     en="no backup yet: one runs when a change is found"),
    "status.backup_running": M(ko="진행 중", en="running"),
    "status.backup_reason.interrupted": M(ko="백업 도중 중단됨", en="interrupted before it finished"),
    "status.backup_reason.disk_full": M(ko="백업 디렉터리 공간 부족", en="the backup directory is full"),
    "status.backup_reason.other": M(ko="백업 실패", en="the backup failed"),
    "status.backup_reason.unknown": M(ko="원인이 기록되지 않음", en="no reason was recorded"),
    "status.drill": M(ko="백업 복구 테스트", en="Restore drill"),
    "status.drill_passed": M(ko="통과", en="passed"),
    "status.drill_failed": M(ko="실패", en="failed"),
    "status.drill_when": M(ko="마지막 테스트", en="Last drill"),
    "status.no_drill_yet": M(ko="아직 백업 복구 테스트 없음: 다음 테스트는 {time}에 실행됩니다",
                             en="no restore drill yet: the next runs at {time}"),
    "status.rto": M(ko="목표 복구 시간 (RTO)", en="RTO"),
    "status.rpo": M(ko="목표 복구 시점 (RPO)", en="RPO"),
    "status.current_rpo": M(ko="현재 RPO", en="Current RPO"),
    "status.not_measured": M(ko="측정값 없음", en="not measured"),
    "status.within_target": M(ko="목표 이내", en="within target"),
    "status.over_target": M(ko="목표 초과", en="over target"),
    "status.no_cycle_yet": M(ko="아직 수집 전: 첫 수집이 끝나면 표시됩니다",
                             en="nothing collected yet: shown after the first collection"),
    "status.incidents": M(ko="열린 장애", en="Open incidents"),
    "status.incidents_later": M(ko="장애 관리 기능이 아직 연결되지 않았습니다",
                                en="incident tracking is not connected yet"),
    "status.replication": M(ko="복제 지연", en="Replication lag"),
    "status.slow_queries": M(ko="느린 쿼리", en="Slow queries"),
    "status.not_collected": M(ko="수집하지 않음", en="not collected"),
    "status.model": M(ko="모델", en="model"),
    "status.no_success_yet": M(ko="아직 성공한 백업 없음", en="no successful backup yet"),
    "status.down_since": M(ko="{when}부터 중단", en="down since {when}"),
    "status.alerts_unknown": M(ko="알림 규칙 평가가 실행 중이 아님: 알림 상태를 알 수 없습니다",
                               en="alert rules are not evaluated in this process: alert state unknown"),
    "status.no_reading": M(ko="이번 수집에서 읽은 값 없음 (수집기 상태 참고)",
                           en="no reading this cycle (see the collectors)"),
    "collector.system": M(ko="시스템", en="system"),
    "collector.gpu": M(ko="GPU", en="gpu"),
    "collector.mariadb": M(ko="MariaDB", en="mariadb"),
    "collector.services": M(ko="서비스", en="services"),
    "collector.allocation": M(ko="리소스 할당", en="allocation"),
    "collector.backup": M(ko="데이터베이스 백업", en="database backups"),
    "collector.backup_files": M(ko="모델·설정 백업", en="model and configuration backups"),
    "collector.rpo": M(ko="바이너리 로그 보관 (RPO)", en="binary log archive (RPO)"),
    "collector.drills": M(ko="백업 복구 테스트", en="restore drills"),
    "collector.groups": M(ko="할당 그룹 구성원", en="allocation group members"),
    "collector.containers": M(ko="Docker 컨테이너", en="Docker containers"),
    "serve.started": M(ko="opsplan 실행 중: {url}", en="opsplan serving on {url}"),
    "serve.stopped": M(ko="opsplan 종료", en="opsplan stopped"),
    "serve.first_admin": M(ko="콘솔 사용자가 아직 없습니다. 다른 터미널에서 첫 관리자를 만드십시오: `{command}`",
                           en="No console user yet. Make the first admin in another terminal: `{command}`"),
    "serve.degraded": M(ko="상태 데이터베이스를 열 수 없어 모니터링 전용 모드로 시작합니다. "
                           "알림은 메모리에서 계속 처리합니다.\n상세: {reason}",
                        en="the state database cannot be opened: starting in monitoring-only mode "
                           "(alerts go on from memory): {reason}"),
    "collect.columns": M(ko="지표|레이블|값", en="metric|labels|value"),
    "collect.cycle": M(ko="샘플 {n}개 수집, {seconds}", en="collected {n} samples in {seconds}"),
    # model and configuration backups (src/opsplan/backup/models/store.py, backup/config/git_repo.py,
    # cli/backup_files_cmd.py)
    "backup.model.stored": M(ko="모델 {model}: 새 버전 {version} 저장 (파일 {files}개, {size}, 새로 복사 {copied})",
                             en="model {model}: version {version} stored ({files} files, {size}, {copied} new)"),
    "backup.model.unchanged": M(ko="모델 {model}: 변경 없음 (최신 버전 {version})",
                                en="model {model}: unchanged (latest version {version})"),
    "backup.model.pruned": M(ko="모델 {model}: 오래된 버전 삭제: {versions}",
                             en="model {model}: older versions removed: {versions}"),
    "backup.models.empty": M(ko="백업된 모델 없음", en="no model backups"),
    # database drill (src/opsplan/runbooks/drill/database.py, runbooks/drill/report.py, cli/drill_db_cmd.py)
    "drill.title": M(ko="데이터베이스 백업 복구 테스트", en="Database backup recovery drill"),
    "drill.step.select": M(ko="복원할 백업 체인 선택", en="Choose the backup chain to restore"),
    "drill.step.hashes": M(ko="백업 파일 해시 확인", en="Check the stored files' hashes"),
    "drill.step.unpack": M(ko="백업 압축 해제", en="Unpack the backups"),
    "drill.step.prepare": M(ko="전체 백업 준비와 증분 백업 적용 (prepare)",
                            en="Prepare the full and apply each incremental"),
    "drill.step.copy_back": M(ko="임시 데이터 디렉터리로 복사", en="Copy back into a scratch datadir"),
    "drill.step.start": M(ko="임시 MariaDB 서버 시작", en="Start a scratch MariaDB server"),
    "drill.step.capture": M(ko="백업 시점 값과 비교", en="Compare with the values captured at backup time"),
    "drill.step.replay": M(ko="보관된 바이너리 로그 재생", en="Replay the archived binary logs"),
    "drill.step.verify": M(ko="정합성 검증 (CHECK TABLE, 행 수, 체크섬)",
                           en="Verify consistency (CHECK TABLE, row counts, checksums)"),
    "drill.chain": M(ko="백업 체인: {ids}", en="backup chain: {ids}"),
    "drill.hashes_ok": M(ko="백업 {n}개: 파일 {hashed}개 해시 일치, 스트림 {sized}개는 크기만 확인 "
                            "(해시는 압축 해제 중 확인)",
                         en="{n} backup(s): {hashed} file(s) match their hashes; {sized} stream(s) checked for "
                            "size only (hashed while they unpack)"),
    "drill.started": M(ko="임시 서버 응답 (127.0.0.1:{port})", en="scratch server answering on 127.0.0.1:{port}"),
    "drill.no_binlogs": M(ko="재생할 바이너리 로그 없음", en="no archived binlog past the backup"),
    "drill.replayed": M(ko="바이너리 로그 {n}개 재생", en="{n} archived binlog(s) replayed"),
    "drill.passed": M(ko="통과", en="passed"),
    "drill.failed": M(ko="실패", en="FAILED"),
    "drill.met": M(ko="목표 충족", en="met"),
    "drill.missed": M(ko="목표 초과", en="MISSED"),
    "drill.summary": M(ko="백업 복구 테스트 {status}: RTO {rto} (목표 {rto_target}, {rto_met}), "
                          "RPO {rpo} (목표 {rpo_target}, {rpo_met})",
                       en="drill {status}: RTO {rto} (target {rto_target}, {rto_met}), "
                          "RPO {rpo} (target {rpo_target}, {rpo_met})"),
    "drill.summary.failed": M(ko="백업 복구 테스트 실패: {step}: {reason}", en="drill FAILED at {step}: {reason}"),
    "drill.summary.phases": M(ko="단계별 시간: {phases}", en="phases: {phases}"),
    "drill.summary.report": M(ko="보고서: {path}", en="report: {path}"),
    "drill.report.status": M(ko="결과", en="Result"),
    "drill.report.started": M(ko="시작", en="Started"),
    "drill.report.backups": M(ko="복원한 백업", en="Backups restored"),
    "drill.report.binlogs": M(ko="재생한 바이너리 로그", en="Binlogs replayed"),
    "drill.report.point": M(ko="복구된 최신 시점", en="Newest point restored"),
    "drill.report.target": M(ko="목표", en="target"),
    "drill.report.service": M(ko="서비스 가능까지", en="Time to service"),
    "drill.report.failed_step": M(ko="실패한 단계", en="Failed step"),
    "drill.report.phases": M(ko="단계별 시간", en="Phases"),
    "drill.report.tables": M(ko="테이블 확인: {checked}개 중 실패 {failed}개",
                             en="Tables: {checked} checked, {failed} failed"),
    "drill.report.phase_columns": M(ko="| 단계 | 초 |", en="| phase | s |"),
    "drill.report.table_columns": M(ko="| 테이블 | CHECK TABLE | 행 수 | 체크섬 | 문제 |",
                                    en="| table | CHECK TABLE | rows | checksum | problem |"),
    "drill.phase.hashes": M(ko="해시 확인", en="hashes"),
    "drill.phase.unpack": M(ko="압축 해제", en="unpack"),
    "drill.phase.prepare": M(ko="준비", en="prepare"),
    "drill.phase.copy_back": M(ko="복사", en="copy_back"),
    "drill.phase.start": M(ko="서버 시작", en="start"),
    "drill.phase.replay": M(ko="바이너리 로그 재생", en="replay"),
    "drill.phase.verify": M(ko="정합성 검증", en="verify"),
    "drill.phase.restore_version": M(ko="버전 복원", en="restore_version"),
    "drill.phase.validate_model": M(ko="모델 검증", en="validate_model"),
    "drill.phase.performance_test": M(ko="성능 테스트", en="performance_test"),
    "drill.report.all_ok": M(ko="모든 테이블 정상", en="Every table ok"),
    # model drill (src/opsplan/cli/drill_model_cmd.py)
    "drill.model.title": M(ko="모델 복구 테스트", en="Model recovery drill"),
    "drill.model.step.restore": M(ko="버전 복원 (임시 디렉터리)", en="Restore the version (scratch directory)"),
    "drill.model.step.validate": M(ko="모델 검증", en="Validate the model"),
    "drill.model.step.perf": M(ko="성능 테스트 (테스트 서버)", en="Performance test (test server)"),
    "drill.model.passed": M(ko="모델 {model} 버전 {version} 복구 테스트 통과 ({phases})",
                            en="model {model} version {version}: drill passed ({phases})"),
    "drill.model.failed": M(ko="모델 {model} 버전 {version} 복구 테스트 실패 ({phases})",
                            en="model {model} version {version}: drill failed ({phases})"),
    "backup.models.title": M(ko="모델 버전", en="Model versions"),
    "backup.config.committed": M(ko="설정 백업 커밋 {commit}: 변경 파일 {n}개",
                                 en="configuration committed {commit}: {n} changed"),
    "backup.config.unchanged": M(ko="설정 변경 없음: 커밋하지 않음",
                                 en="configuration unchanged: nothing committed"),
    "backup.config.excluded": M(ko="비밀 정보로 보여 제외: {path}\n상세: {reason}",
                                en="excluded as a secret: {path} ({reason})"),
    "backup.config.missing": M(ko="없는 경로: {path}", en="path not found: {path}"),
    "backup.config.unreadable": M(ko="읽을 수 없어 이전 사본 유지: {path}",
                                  en="unreadable, previous copy kept: {path}"),
    "backup.config.no_history": M(ko="설정 백업 기록 없음", en="no configuration history yet"),
    # database backups (src/opsplan/backup/database/engine.py, retention.py, verify.py, cli/backup_db_cmd.py)
    "backup.prune.failed": M(ko="실패한 백업 ({reason})", en="failed backup ({reason})"),
    "backup.prune.orphan": M(ko="체인 끊김: 전체 백업 {full} 없음",
                             en="broken chain: full backup {full} is gone"),
    "backup.prune.window": M(
        ko="보관 기간 {days}일 밖: 기간 시작 시점은 전체 백업 {base}({when})에서 복구할 수 있음",
        en="outside the {days}-day recovery window: full backup {base} ({when}) covers its start"),
    "backup.prune.none": M(ko="삭제할 백업 없음", en="nothing to prune"),
    "backup.prune.would": M(ko="삭제 예정", en="would remove"),
    "backup.prune.removed": M(ko="삭제함", en="removed"),
    "backup.db.done": M(ko="데이터베이스 백업 {id} ({kind}) 완료: {size}, 소요 {seconds}",
                        en="database backup {id} ({kind}) ok: {size} in {seconds}"),
    "backup.status.ok": M(ko="성공", en="ok"),
    "backup.status.failed": M(ko="실패", en="failed"),
    "backup.status.running": M(ko="진행 중", en="running"),
    "backup.list.deep": M(ko=" (준비까지 검증)", en=" (deep)"),
    "backup.kind.full": M(ko="전체 백업", en="full"),
    "backup.kind.incremental": M(ko="증분 백업", en="incremental"),
    "backup.list.empty": M(ko="데이터베이스 백업 없음", en="no database backups"),
    "backup.list.columns": M(ko="ID|종류|상태|시작|경과|크기|검증|사유",
                             en="ID|kind|status|started|age|size|verify|reason"),
    "backup.list.pruned": M(ko="(삭제함)", en="(pruned)"),
    "backup.list.title": M(ko="데이터베이스 백업 체인", en="Database backup chains"),
    "backup.capture.done": M(ko="백업 {id}: 테이블 {tables}개의 행 수와 체크섬 기록 ({seconds})",
                             en="backup {id}: row counts and checksums of {tables} table(s) recorded ({seconds})"),
    "backup.capture.none": M(ko="기록할 정상 백업이 없습니다. 먼저 백업하십시오",
                             en="no ok database backup to capture; take a backup first"),
    "backup.verify.ok": M(ko="백업 {id}: 검증 통과 ({how})", en="backup {id}: verified ({how})"),
    "backup.verify.failed": M(ko="백업 {id}: 검증 실패: {reason}",
                              en="backup {id}: verification failed: {reason}"),
    "backup.verify.hash": M(ko="해시", en="hashes"),
    "binlogs.archived": M(ko="바이너리 로그 {count}개 보관: {names}",
                          en="{count} binary log(s) archived: {names}"),
    "binlogs.nothing_new": M(ko="새로 보관할 바이너리 로그 없음", en="no new binary log to archive"),
    "binlogs.log_bin_off": M(ko="서버가 바이너리 로그를 기록하지 않아 (log_bin OFF) 시점 복구를 할 수 없습니다",
                             en="the server does not write binary logs (log_bin is OFF): "
                                "point-in-time recovery is not possible"),
    "binlogs.list.empty": M(ko="보관된 바이너리 로그 없음", en="no archived binary log"),
    "binlogs.list.header": M(ko="파일  첫 이벤트  마지막 이벤트  크기  해시",
                             en="file  first event  last event  size  hash"),
    "backup.verify.deep": M(ko="해시 + 준비 (prepare)", en="hashes + prepare"),
    "backup.check.ok": M(ko="정상", en="ok"),
    "backup.check.problem": M(ko="문제", en="problem"),
    "export.done": M(ko="{out}에 파일 {n}개를 썼습니다. 이전 내보내기에서 남은 파일 {removed}개는 삭제했습니다.",
                     en="wrote {n} files under {out} ({removed} left over from an earlier export removed)"),
    # notifications (src/opsplan/notify)
    "notify.severity.critical": M(ko="Critical", en="CRITICAL"),
    "notify.severity.warning": M(ko="Warning", en="WARNING"),
    # {alert} is the rule's name: a Korean title leads with the rule's summary and names the rule in
    # parentheses (KOREAN.md rule 5); an English one names the rule (notify/render.py picks by language).
    # {subject} comes with its separator: ", 마운트 지점 /" in Korean, " disk /" in English, or "".
    "notify.headline.summary_first": M(ko="{summary} ({alert}{subject})", en="{summary} ({alert}{subject})"),
    "notify.headline.name_first": M(ko="{alert}{subject}", en="{alert}{subject}"),
    "notify.headline.resolved": M(ko="알림 해결: {alert}{subject}", en="{alert}{subject}"),
    "notify.title.firing": M(ko="[{severity}] {host}: {headline}",
                             en="[{severity}] {headline} ({host})"),
    "notify.title.repeat": M(ko="[{severity}] (반복, 미확인) {host}: {headline}",
                             en="[{severity}] (repeat, unacknowledged) {headline} ({host})"),
    "notify.title.resolved": M(ko="[해결] {host}: {headline}",
                               en="[RESOLVED] {headline} ({host})"),
    # A resolved notice says so in its own words: never the firing summary (KOREAN.md rule 7).
    "notify.resolved.body": M(ko="{alert} 알림이 해결되어 정상 범위로 돌아왔습니다.",
                              en="{alert} is resolved: back within its threshold."),
    # what an alert is about (src/opsplan/alerts/format.py): subject labels and backup targets
    "subject.gpu": M(ko="GPU", en="gpu"),
    "subject.group": M(ko="그룹", en="group"),
    "subject.mountpoint": M(ko="마운트 지점", en="mountpoint"),
    "subject.service": M(ko="서비스", en="service"),
    "subject.collector": M(ko="수집기", en="collector"),
    "subject.target": M(ko="백업 대상", en="target"),
    "subject.target.database": M(ko="데이터베이스", en="database"),
    "subject.target.models": M(ko="모델", en="models"),
    "subject.target.config": M(ko="설정 파일", en="config"),
    "notify.value": M(ko="현재 값: {value}", en="Value: {value}"),
    "notify.last_value": M(ko="마지막 값: {value}", en="Last value: {value}"),
    "notify.threshold": M(ko="임계값: {threshold}", en="Threshold: {threshold}"),
    "notify.duration": M(ko="지속 조건: {duration} 이상", en="Duration: for {duration}"),
    "notify.host": M(ko="호스트: {host}", en="Host: {host}"),
    "notify.started": M(ko="시작: {time}", en="Started: {time}"),
    "notify.resolved_at": M(ko="해결: {time}", en="Resolved: {time}"),
    "notify.console": M(ko="콘솔: {url}", en="Console: {url}"),
    "notify.ack_hint": M(ko="확인할 때까지 알림을 반복해서 보냅니다. 확인 방법: 콘솔 또는 `opsplan alerts ack`",
                         en="Repeats until acknowledged: in the console or with opsplan alerts ack"),
    "notify.test.title": M(ko="[opsplan] 알림 채널 테스트: {channel}", en="[opsplan] channel test: {channel}"),
    "notify.test.body": M(ko="{host}의 opsplan이 보낸 테스트 메시지입니다. 시각: {time}\n콘솔: {url}",
                          en="A test message from opsplan on {host} at {time}.\nConsole: {url}"),
    "notify.problem.env_unset": M(ko="채널 '{channel}': 환경 변수 {variable:이} 설정되어 있지 않습니다",
                                  en="channel '{channel}': environment variable {variable} is not set"),
    "notify.problem.url_refused": M(ko="채널 '{channel}': apprise가 {where}의 URL을 받아들이지 않습니다. URL의 "
                                       "형식과 토큰을 확인하십시오 (docs/notifications.md 참고)",
                                    en="channel '{channel}': apprise does not accept the URL in {where} "
                                       "(check its scheme and tokens; see docs/notifications.md)"),
    "notify.cli.ok": M(ko="성공", en="ok"),
    "notify.cli.failed": M(ko="실패", en="failed"),
    "notify.cli.no_channels": M(ko="운영 계획서에 알림 채널이 없습니다 (notifications.channels)",
                                en="the plan has no notification channels (notifications.channels)"),
    "notify.cli.unknown_channel": M(ko="알 수 없는 채널입니다: '{name}' (운영 계획서의 채널: {known})",
                                    en="unknown channel '{name}' (channels in the plan: {known})"),
    "notify.cli.outbox_empty": M(ko="대기 중이거나 실패한 알림이 없습니다",
                                 en="no pending or failed notifications"),
    "notify.cli.columns": M(ko="ID|채널|상태|알림|종류|시도|다음 시도|마지막 오류",
                            en="ID|Channel|Status|Alert|Kind|Attempts|Next try|Last error"),
    "init.kept": M(ko="{path} 파일이 이미 있어 그대로 사용합니다 (언어: {current}).",
                   en="{path} exists and is kept (language: {current})."),
    "init.kept_other_language": M(
        ko="{path} 파일이 이미 있어 그대로 사용합니다 (언어: {current}). 언어를 바꾸려면 파일에 "
           "`language: {wanted}`를 지정하거나, 파일을 삭제한 뒤 다시 실행하십시오.",
        en="{path} exists and is kept (language: {current}); to switch, set `language: {wanted}` in it, "
           "or remove it and run again for a new plan with {wanted} comments."),
    "alerts.none": M(ko="활성 알림 없음", en="no active alerts"),
    "alerts.evaluated": M(ko="알림 마지막 평가 시각: {time}", en="alerts last evaluated: {time}"),
    "alerts.stale": M(ko="주의: {time} 이후 알림을 평가하지 않았습니다. `opsplan serve`가 멈춘 것으로 보이며 "
                         "아래 상태는 최신이 아닐 수 있습니다.",
                      en="stale: alerts have not been evaluated since {time}; opsplan serve seems to be stopped "
                         "and the states below may be out of date"),
    "alerts.never_evaluated": M(ko="주의: 알림을 평가한 기록이 없습니다. `opsplan serve`가 실행된 적이 없으며 "
                                   "아래 상태는 최신이 아닐 수 있습니다.",
                                en="stale: no record of alerts ever being evaluated (opsplan serve has not run); "
                                   "the states below may be out of date"),
    "alerts.host": M(ko="호스트 전체", en="whole host"),
    "alerts.columns": M(ko="지문|알림|심각도|상태|값|임계값|시작|비고",
                        en="Fingerprint|Alert|Severity|State|Value|Threshold|Since|Notes"),
    "alerts.state.pending": M(ko="대기", en="pending"),
    "alerts.state.firing": M(ko="발생", en="firing"),
    "alerts.state.resolved": M(ko="해결", en="resolved"),
    "alerts.severity.critical": M(ko="Critical", en="critical"),
    "alerts.severity.warning": M(ko="Warning", en="warning"),
    "alerts.resolved.value": M(ko="값 정상", en="value"),
    "alerts.resolved.rule_removed": M(ko="규칙 삭제됨", en="rule removed"),
    "alerts.resolved.no_data": M(ko="데이터 없음", en="no data"),
    "alerts.resolved.upstream": M(ko="외부에서 해결됨", en="resolved upstream"),
    "alerts.error.no_matcher": M(ko="알림 중지에는 조건이 하나 이상 필요합니다 (예: --match alertname=DiskUsageHigh)",
                                 en="a silence needs at least one matcher (e.g. --match alertname=DiskUsageHigh)"),
    "alerts.error.duration": M(ko="--duration: 기간 형식이 잘못되었습니다: {value} (예: 30m, 2h, 1d)",
                               en="duration: invalid duration {value} (use e.g. 30m, 2h, 1d)"),
    "alerts.error.duration_zero": M(ko="--duration: 0초보다 길어야 합니다", en="duration: must be longer than 0s"),
    "alerts.error.matcher": M(ko="조건 {matcher}: name=value 또는 name=~regex 형식이어야 합니다",
                              en="matcher {matcher}: expected name=value or name=~regex"),
    "alerts.inhibited": M(ko="Critical 알림에 가려짐", en="inhibited by critical"),
    "alerts.silenced": M(ko="알림 중지 {ids}", en="silenced {ids}"),
    "alerts.acked": M(ko="확인: {by} {at}", en="acked by {by} {at}"),
    "alerts.acked_done": M(ko="알림 {fingerprint} 확인 처리함 (확인자: {by})",
                           en="alert {fingerprint} acknowledged by {by}"),
    "alerts.silence_added": M(ko="알림 중지 {id} 생성: {start} ~ {end}", en="silence {id} added: {start} to {end}"),
    "alerts.silence_expired": M(ko="알림 중지 {id} 만료", en="silence {id} expired"),
    "alerts.no_silences": M(ko="활성 알림 중지 없음", en="no active silences"),
    "alerts.silence_columns": M(ko="ID|조건|시작|종료|작성자|설명|상태",
                                en="ID|Matchers|Starts|Ends|Author|Comment|State"),
    "alerts.silence_state.active": M(ko="활성", en="active"),
    "alerts.silence_state.pending": M(ko="예정", en="pending"),
    "alerts.silence_state.expired": M(ko="만료", en="expired"),
    # runbooks (src/opsplan/runbooks/engine.py, cli/runbook_cmd.py)
    "runbook.start": M(ko="{title}: 실행 {id} 시작 ({actor})", en="{title}: run {id} started by {actor}"),
    "runbook.resume": M(ko="{title}: 실행 {id} 재개, {step}/{total} 단계부터",
                        en="{title}: resuming run {id} at step {step} of {total}"),
    "runbook.resume_undo": M(ko="{title}: 실행 {id:이} 되돌리는 중에 중단되었습니다. 남은 되돌리기를 계속합니다",
                             en="{title}: run {id} died while undoing: finishing the undo"),
    "runbook.step.ok": M(ko="{label}: 완료 ({seconds})", en="{label}: ok ({seconds})"),
    "runbook.step.failed": M(ko="{label}: 실패 ({seconds}): {reason}",
                             en="{label}: FAILED ({seconds}): {reason}"),
    "runbook.undo.label": M(ko="[되돌리기 {n}/{total}] {title}", en="[undo {n}/{total}] {title}"),
    "runbook.undo_failed": M(ko="되돌리기에 실패했습니다: {steps}. 시스템이 일부만 복구된 상태일 수 있으니 "
                                "직접 확인하십시오.",
                             en="UNDO FAILED: {steps}. The system may be half restored: check it by hand"),
    "runbook.confirm": M(ko="'{step}' 단계는 되돌리기 어려운 작업입니다. 계속하시겠습니까?",
                         en="Step '{step}' is destructive. Go ahead?"),
    "runbook.refused.no_tty": M(
        ko="'{step}' 단계는 확인이 필요한데 확인할 터미널이 없습니다. --yes를 붙여 다시 실행하십시오. "
           "아무 작업도 하지 않았습니다.",
        en="step '{step}' needs a confirmation and there is no terminal to ask on: run again with --yes "
           "(nothing was done)"),
    "runbook.refused.declined": M(ko="'{step}' 단계가 확인되지 않아 중단했습니다.",
                                  en="step '{step}' was not confirmed: stopped"),
    "runbook.dry_run.header": M(ko="{title}: 모의 실행 (실제 작업은 하지 않음)",
                                en="{title}: dry run (nothing is done)"),
    "runbook.dry_run.destructive": M(ko=" (확인 필요)", en=" (asks for confirmation)"),
    "runbook.dry_run.cannot_describe": M(ko="설명할 수 없음: {reason}", en="cannot describe: {reason}"),
    "runbook.dry_run.would_refuse": M(ko="실제 실행은 이 단계에서 거부됩니다: {reason}",
                                      en="the real run will be refused at this step: {reason}"),
    "runbook.finally_failed": M(ko="마무리 작업 실패: {reason}", en="clean-up failed: {reason}"),
    "runbook.outcome.ok": M(ko="실행 {id}: 성공", en="run {id}: ok"),
    "runbook.outcome.dry_run": M(ko="실행 {id}: 모의 실행 기록됨", en="run {id}: dry run journaled"),
    "runbook.outcome.failed": M(ko="실행 {id}: {step} 단계 실패: {reason}",
                                en="run {id}: FAILED at {step}: {reason}"),
    "runbook.outcome.rolled_back": M(ko="실행 {id}: {step} 단계 실패, 모두 되돌림: {reason}",
                                     en="run {id}: {step} failed, everything undone: {reason}"),
    "runbook.outcome.refused": M(ko="실행 {id}: {step} 단계에서 거부됨", en="run {id}: refused ({step})"),
    "runbook.kind.restore_db": M(ko="데이터베이스 복원", en="database restore"),
    "runbook.kind.restore_model": M(ko="모델 롤백", en="model rollback"),
    "runbook.kind.drill_db": M(ko="데이터베이스 백업 복구 테스트", en="database drill"),
    "runbook.kind.drill_model": M(ko="모델 복구 테스트", en="model drill"),
    "runbook.list.empty": M(ko="실행 기록 없음", en="no runbook runs"),
    "runbook.list.columns": M(ko="ID|종류|상태|시작|소요|실행자|실패 단계|사유",
                              en="ID|Kind|Status|Started|Took|Actor|Failed step|Reason"),
    "runbook.show.columns": M(ko="#|단계|상태|시작|소요|출력", en="#|Step|Status|Started|Took|Output"),
    "runbook.step_interrupted": M(ko="중단됨 (다시 실행)", en="interrupted (ran again)"),
    "runbook.status.ok": M(ko="성공", en="ok"),
    "runbook.status.failed": M(ko="실패", en="failed"),
    "runbook.status.rolled_back": M(ko="되돌림", en="rolled back"),
    "runbook.status.dry_run": M(ko="모의 실행", en="dry run"),
    "runbook.status.refused": M(ko="거부됨", en="refused"),
    "runbook.status.running": M(ko="실행 중", en="running"),
    "runbook.status.interrupted": M(ko="중단됨 (재개 가능)", en="interrupted (resumable)"),
    # database restore (src/opsplan/runbooks/restore/database.py)
    "restore.db.title": M(ko="데이터베이스 복원", en="Database restore"),
    "restore.db.no_control": M(
        ko="데이터베이스 서비스 제어 방식이 없음(none)으로 되어 있어 (recovery.database_service.kind) 제자리 복원을 "
           "위해 데이터베이스를 중지할 수 없습니다. 운영 계획서에 systemd 유닛, 컨테이너 또는 명령을 지정하거나 "
           "--target-datadir로 다른 위치에 복원하십시오.",
        en="recovery.database_service.kind is none: opsplan cannot stop the database for an in-place restore "
           "(name a systemd unit, container or commands in the plan, or restore elsewhere with --target-datadir)"),
    "restore.db.untouched": M(ko="복원 위치 {datadir}: 실행 중인 데이터베이스와 서비스는 변경하지 않습니다",
                              en="target {datadir}: the running database and its services are not touched"),
    "restore.db.restored": M(ko="백업 {id:을} {datadir}에 복원했습니다 (체인 {chain})",
                             en="backup {id} (chain {chain}) restored into {datadir}"),
    "restore.db.kept": M(ko="이전 데이터 디렉터리는 {path}에 보관합니다",
                         en="the previous datadir is kept at {path}"),
    "restore.db.put_back": M(ko="이전 데이터 디렉터리를 {datadir}에 되돌려 놓았습니다",
                             en="the previous datadir is back at {datadir}"),
    "restore.db.integrity": M(ko="백업 {id} 기록과 비교한 정합성: {summary}",
                              en="integrity against backup {id}: {summary}"),
    "restore.db.replayed": M(ko="보관된 바이너리 로그 {count}개를 {start}부터 {until}까지 재생했습니다",
                             en="replayed {count} archived binlog(s) from {start} up to {until}"),
    "restore.db.target_done": M(ko="{datadir}에 복원하고 검증했습니다. 시작 방법: {how}",
                                en="restored and verified in {datadir}; start it with: {how}"),
    "restore.db.healthy": M(ko="데이터베이스가 {user} 계정 로그인에 응답합니다", en="database answers as {user}"),
    "restore.db.pruned": M(ko="이전 데이터 디렉터리 삭제: {paths}", en="removed previous datadir(s): {paths}"),
    # why a runbook step failed (errors raised with errors.said, quoted in the plan's language)
    "reason.no_backup_to_drill": M(ko="카탈로그에 성공한 데이터베이스 백업이 없어 테스트할 수 없습니다. "
                                      "먼저 백업하십시오",
                                   en="no ok database backup in the catalog to drill; take a backup first"),
    "reason.no_backup_to_restore": M(ko="카탈로그에 복원할 성공한 데이터베이스 백업이 없습니다",
                                     en="no ok database backup in the catalog to restore"),
    "reason.chain_without_full": M(ko="백업 {id}: 백업 체인이 전체 백업으로 시작하지 않습니다",
                                   en="backup {id}: its chain does not start with a full backup"),
    "reason.model_no_version_to_drill": M(ko="모델 {model}: 테스트할 저장 버전이 없습니다",
                                          en="model {model} has no stored version to drill"),
    "reason.model_no_version_to_roll_back": M(ko="모델 {model}: 롤백할 저장 버전이 없습니다",
                                              en="model {model} has no stored version to roll back to"),
    "reason.model_no_older_version": M(ko="모델 {model}: 버전 {version}보다 오래된 저장 버전이 없습니다 "
                                          "(보관 중인 버전: {kept})",
                                       en="model {model}: no stored version older than {version} (kept: {kept})"),
    "reason.model_already_serving": M(ko="모델 {model}: 버전 {version:은} 이미 {path}에서 서비스 중입니다",
                                      en="model {model}: version {version} is already serving from {path}"),
    "reason.no_mariadbd": M(ko="mariadbd가 설치되어 있지 않습니다 (Debian 패키지 mariadb-server)",
                            en="mariadbd is not installed (Debian package mariadb-server)"),
    "reason.not_a_datadir": M(ko="{path:은} MariaDB 데이터 디렉터리가 아닙니다 (`mysql` 스키마 없음)",
                              en="{path} is not a MariaDB datadir (no mysql schema)"),
    "reason.target_not_empty": M(ko="--target-datadir {path:이} 비어 있지 않습니다. 새 디렉터리나 빈 디렉터리를 "
                                    "지정하십시오",
                                 en="--target-datadir {path} is not empty; name a new or empty directory"),
    "reason.no_run": M(ko="실행 기록 {id:이} 없습니다", en="no runbook run {id}"),
    "reason.still_running": M(ko="실행 {id:은} 아직 진행 중입니다 (pid {pid}). 두 번 재개할 수 없습니다",
                              en="run {id} is still running (pid {pid}); it cannot be resumed twice"),
    "reason.not_interrupted": M(ko="실행 {id:은} 이미 끝났습니다 ({status}). 중단된 실행만 재개할 수 있습니다",
                                en="run {id} finished as {status}: only an interrupted run can be resumed"),
    "reason.service_stop_failed": M(ko="서비스({service}) 중지 실패 (종료 코드 {code})\n상세: {detail}",
                                    en="{service} service: stop failed (exit {code}): {detail}"),
    "reason.service_start_failed": M(ko="서비스({service}) 시작 실패 (종료 코드 {code})\n상세: {detail}",
                                     en="{service} service: start failed (exit {code}): {detail}"),
    "reason.service_timeout": M(ko="서비스({service}): `{command}` 명령이 {timeout}초 안에 끝나지 않았습니다",
                                en="{service} service: {command} did not finish within {timeout}s"),
    "reason.scratch_exited": M(ko="임시 mariadbd가 {path}에서 시작하는 중에 종료되었습니다 (종료 코드 {code})\n"
                                  "상세: {detail}",
                               en="scratch mariadbd exited (rc={code}) while starting on {path}: {detail}"),
    "reason.scratch_not_ready": M(ko="{path}의 임시 mariadbd가 {timeout}초 안에 준비되지 않았습니다\n"
                                     "상세: {last}: {detail}",
                                  en="scratch mariadbd on {path} not ready after {timeout}s ({last}): {detail}"),
    "reason.failed": M(ko="실패", en="failed"),
    "reason.check_failed": M(ko="검증 실패", en="check failed"),
    "reason.interrupted": M(ko="운영자가 중단함 (Ctrl-C)", en="interrupted by the operator (Ctrl-C)"),
    "reason.interrupted_undoing": M(ko="되돌리는 중 중단됨", en="interrupted while undoing"),
    "reason.undo_failed": M(ko="{reason}; 되돌리기 실패: {steps}", en="{reason}; UNDO FAILED: {steps}"),
    # model rollback (src/opsplan/runbooks/rollback/model.py)
    "restore.model.title": M(ko="모델 롤백", en="Model rollback"),
    # plan check: what is wrong with the plan (src/opsplan/plan/loader.py); "file:line: key: " comes first
    "plan.error.no_file": M(ko="파일이 없습니다", en="no such file"),
    "plan.error.not_found": M(ko="운영 계획서를 찾을 수 없습니다 (찾아본 위치: {looked}). `opsplan init`으로 만들 수 "
                                 "있습니다",
                              en="not found (looked for {looked}; `opsplan init` writes one)"),
    "plan.error.empty": M(ko="운영 계획서가 비어 있습니다. `opsplan init`으로 기본 운영 계획서를 만들 수 있습니다",
                          en="the plan is empty (`opsplan init` writes the seed's plan)"),
    "plan.error.not_mapping": M(ko="운영 계획서는 섹션별 매핑이어야 합니다 (입력값: {value})",
                                en="the plan must be a mapping of sections, got {value}"),
    "plan.error.finite": M(ko="유한한 숫자여야 합니다 (입력값: {value})", en="expected a finite number, got {value}"),
    "plan.error.default_note": M(ko=" (기본값: 파일에 `{section}` 설정이 없음)",
                                 en=" (the seed's default: the file does not set {section})"),
    "plan.error.more": M(ko="문제 {n}개는 표시하지 않았습니다. 처음 {shown}개를 고친 뒤 다시 검증하십시오",
                         en="{n} more problems not shown (fix the first {shown} and check again)"),
    "plan.error.is_directory": M(ko="디렉터리입니다", en="is a directory"),
    "plan.error.exists": M(ko="파일이 이미 있습니다 (덮어쓰려면 --force)",
                           en="already exists (use --force to overwrite)"),
    # one line: a plan error is "file: reason"; the system's words follow their label
    "plan.error.cannot_write": M(ko="파일을 쓸 수 없습니다 (상세: {detail})", en="cannot write: {detail}"),
    "plan.check.ok": M(ko="{path}: 정상", en="{path}: ok"),
    "plan.check.groups": M(ko="할당 그룹 {n}개: {groups}", en="groups: {n}: {groups}"),
    "plan.check.gpus": M(ko="GPU {count}개 중 {allocated}개 할당 ({model})",
                         en="GPUs: {allocated} of {count} allocated ({model})"),
    "plan.check.services": M(ko="서비스 {n}개: {services}", en="services: {n}: {services}"),
    "init.written": M(ko="{path} 파일을 썼습니다 (언어: {lang}). 검증 방법: `opsplan plan check {path}`",
                      en="{path}: written ({lang}); check it with `opsplan plan check {path}`"),
    "plan.error.missing": M(ko="필수 키가 없습니다", en="required key is missing"),
    "plan.error.got": M(ko=" (입력값: {value})", en=", got {value}"),
    "plan.error.expected": M(ko="{expected} 형식이어야 합니다{got}", en="expected {expected}{got}"),
    "plan.error.one_of": M(ko="{expected} 중 하나여야 합니다{got}", en="expected {expected}{got}"),
    "plan.error.gt": M(ko="{bound}보다 커야 합니다{got}", en="must be greater than {bound}{got}"),
    "plan.error.ge": M(ko="{bound} 이상이어야 합니다{got}", en="must be at least {bound}{got}"),
    "plan.error.lt": M(ko="{bound}보다 작아야 합니다{got}", en="must be less than {bound}{got}"),
    "plan.error.le": M(ko="{bound} 이하여야 합니다{got}", en="must be at most {bound}{got}"),
    "plan.error.pattern": M(ko="{pattern} 형식과 일치해야 합니다{got}", en="must match {pattern}{got}"),
    "plan.error.unknown_key": M(ko="알 수 없는 키입니다", en="unknown key"),
    "plan.error.unknown_key_close": M(ko="알 수 없는 키입니다. '{close}' 키를 쓰려던 것인지 확인하십시오",
                                      en="unknown key (did you mean '{close}'?)"),
    "plan.error.unknown_key_known": M(ko="알 수 없는 키입니다 (사용할 수 있는 키: {known})",
                                      en="unknown key (expected one of: {known})"),
    "plan.error.duration_invalid": M(ko="기간 형식이 잘못되었습니다: {value} (예: 30s, 5m, 2h, 14d)",
                                     en="invalid duration {value} (use e.g. 30s, 5m, 2h, 14d)"),
    "plan.error.duration_long": M(ko="기간 {value:이} 너무 깁니다 (최대 {limit})",
                                  en="duration {value} is too long (at most {limit})"),
    "plan.error.duration_negative": M(ko="기간은 음수일 수 없습니다 (입력값: {value})",
                                      en="duration must not be negative, got {value}"),
    "plan.error.size_negative": M(ko="크기는 음수일 수 없습니다 (입력값: {value})",
                                  en="size must not be negative, got {value}"),
    "plan.error.size_invalid": M(ko="크기 형식이 잘못되었습니다: {value} (예: 128GB, 2TB, 512GiB)",
                                 en="invalid size {value} (use e.g. 128GB, 2TB, 512GiB)"),
    "plan.error.size_large": M(ko="크기 {value:이} 너무 큽니다 (최대 {limit})",
                               en="size {value} is too large (at most {limit})"),
    "plan.error.percent": M(ko="0에서 100 사이의 숫자여야 합니다 (입력값: {value})",
                            en="must be a number from 0 to 100, got {value}"),
    "plan.error.percent_range": M(ko="0에서 100 사이여야 합니다 (입력값: {value})",
                                  en="must be between 0 and 100, got {value}"),
    "plan.error.cron": M(ko="cron 표현식이 잘못되었습니다: {value} (다섯 필드: 분 시 일 월 요일)",
                         en="invalid cron expression {value} (five fields: minute hour day month weekday)"),
    # plan check: problems across fields (src/opsplan/plan/semantic.py)
    "plan.problem.gpu_taken": M(ko="GPU {gpu:은} 이미 '{group}' 그룹에 있습니다",
                                en="GPU {gpu} is already in group '{group}'"),
    "plan.problem.tls_cert_bad": M(ko="TLS 인증서 파일을 쓸 수 없습니다 ({path}). 상세: {reason}",
        en="TLS certificate file {path} {reason}"),
    "plan.problem.tls_key_bad": M(ko="TLS 키 파일을 쓸 수 없습니다 ({path}). 상세: {reason}",
        en="TLS key file {path} cannot be used: {reason}"),
    "plan.problem.tls_key_open": M(ko="TLS 키 파일은 소유자만 읽을 수 있어야 합니다 (chmod 600 {path})",
        en="TLS key file {path} is readable by others: chmod 600 it"),
    "serve.refused_no_tls": M(
        ko="{bind}에서 접속을 받지 않습니다: 루프백이 아닌 주소에는 TLS가 필요합니다. 운영 계획서에 인증서 파일"
           "(web.tls_cert_file)과 키 파일(web.tls_key_file)을 지정하십시오.",
        en="refusing to listen on {bind}: an address other than loopback needs TLS; set web.tls_cert_file and "
           "web.tls_key_file in the plan"),
    "serve.refused_no_users": M(
        ko="{bind}에서 접속을 받지 않습니다: 로그인할 콘솔 사용자가 없습니다. 먼저 첫 관리자를 만드십시오.",
        en="refusing to listen on {bind}: no console user exists to log in; create the first admin first"),
    "plan.problem.scratch_in_datadir": M(
        ko="복원용 임시 디렉터리 {scratch:이} 데이터베이스 데이터 디렉터리 {datadir} 안에 있습니다",
        en="the restore's scratch directory {scratch} is inside the database datadir {datadir}"),
    "plan.problem.unknown_group": M(ko="알 수 없는 할당 그룹입니다: '{group}' (운영 계획서의 그룹: {known})",
                                    en="unknown allocation group '{group}' (known: {known})"),
    "plan.problem.model_overlaps_backup": M(ko="모델 경로 {path:이} 백업 디렉터리 {directory:과} 겹칩니다",
                                            en="model path {path} overlaps the backup directory {directory}"),
    "plan.problem.gpu_beyond_count": M(ko="GPU {gpu:은} 서버의 GPU 수(server.gpu.count {count})를 넘습니다",
                                       en="GPU {gpu} is beyond server.gpu.count {count}"),
    "plan.problem.http_needs_url": M(ko="HTTP 상태 확인(`kind: http`)에는 `url`이 필요합니다",
                                     en="an http health probe needs url"),
    "plan.problem.tcp_needs_port": M(ko="TCP 상태 확인(`kind: tcp`)에는 `port`가 필요합니다",
                                     en="a tcp health probe needs port"),
    "plan.problem.systemd_needs_unit": M(ko="systemd 서비스 제어(`kind: systemd`)에는 `unit`이 필요합니다",
                                         en="a systemd service control needs unit"),
    "plan.problem.docker_needs_container": M(ko="Docker 서비스 제어(`kind: docker`)에는 `container`가 필요합니다",
                                             en="a docker service control needs container"),
    "plan.problem.commands_need_lists": M(ko="명령 방식 서비스 제어(`kind: commands`)에는 `stop`과 `start` 인자 "
                                             "목록이 모두 필요합니다",
                                          en="a commands service control needs both stop and start argument lists"),
    "plan.problem.service_source": M(ko="서비스에는 `url`, `metrics_url`, `access_log` 중 하나 이상이 필요합니다",
                                     en="a service needs at least one of url, metrics_url or access_log"),
    "plan.problem.warning_above": M(ko="Warning 임계값 {warning:은} Critical 임계값 {critical}보다 작아야 합니다",
                                    en="warning threshold {warning} must be below critical {critical}"),
    "plan.problem.channel_url": M(ko="알림 채널에는 `url_env` 또는 `url_file`이 필요합니다",
                                  en="a channel needs url_env or url_file"),
    "plan.problem.relative_path": M(ko="모델 경로 {path:은} 절대 경로여야 합니다",
                                    en="model path {path} must be absolute"),
    "plan.problem.relative_config_path": M(ko="설정 파일 경로 {path:은} 절대 경로여야 합니다",
                                           en="configuration path {path} must be absolute"),
    "plan.problem.duplicate": M(ko="{what} '{name}' 값이 중복됩니다 (처음 나온 곳: {first})",
                                en="duplicate {what} '{name}' (also {first})"),
    "plan.what.group_id": M(ko="그룹 ID", en="group id"),
    "plan.what.service_name": M(ko="서비스 이름", en="service name"),
    "plan.what.channel_name": M(ko="채널 이름", en="channel name"),
    "plan.what.model_name": M(ko="모델 이름", en="model name"),
    "plan.problem.timezone": M(ko="알 수 없는 시간대입니다: '{zone}'", en="unknown timezone '{zone}'"),
    "plan.problem.timezone_close": M(ko="알 수 없는 시간대입니다: '{zone}'. '{close}' 시간대를 쓰려던 것인지 "
                                        "확인하십시오",
                                     en="unknown timezone '{zone}' (did you mean '{close}'?)"),
    "plan.type.integer": M(ko="정수", en="an integer"),
    "plan.type.number": M(ko="숫자", en="a number"),
    "plan.type.bool": M(ko="true 또는 false", en="true or false"),
    "plan.type.string": M(ko="문자열", en="a string"),
    "plan.type.list": M(ko="목록", en="a list"),
    "plan.type.mapping": M(ko="매핑", en="a mapping"),
    "plan.type.path": M(ko="경로", en="a path"),
    "plan.type.null": M(ko="null", en="null"),
    # click's and typer's own words around --help and usage errors (src/opsplan/cli/language.py)
    "cli.usage": M(ko="사용법:", en="Usage:"),
    "cli.help_option": M(ko="이 도움말을 출력하고 종료합니다.", en="Show this message and exit."),
    "cli.no_such_command": M(ko="없는 명령입니다: {name!r}", en="No such command {name!r}."),
    # the command line's own one-line errors (src/opsplan/cli), in the command line's language
    "cli.error.full_or_incremental": M(ko="--full과 --incremental은 함께 쓸 수 없습니다",
                                       en="--full and --incremental exclude each other"),
    "cli.error.backup_id_or_all": M(ko="백업 ID 또는 --all을 지정하십시오", en="give a backup id or --all"),
    "cli.error.duration": M(ko="{option}: 기간 형식이 잘못되었습니다: {value} (예: 15s, 1m)",
                            en="{option}: invalid duration {value} (use e.g. 15s, 1m)"),
    "cli.error.backup_or_time": M(ko="--backup과 --time은 함께 쓸 수 없습니다",
                                  en="--backup and --time exclude each other"),
    "cli.error.port_needs_datadir": M(ko="--target-port에는 --target-datadir이 필요합니다",
                                      en="--target-port needs --target-datadir"),
    "cli.arguments": M(ko="인자", en="Arguments"),
    "cli.options": M(ko="옵션", en="Options"),
    "cli.commands": M(ko="명령", en="Commands"),
    "cli.error": M(ko="오류", en="Error"),
    "cli.aborted": M(ko="중단했습니다.", en="Aborted."),
    "cli.default": M(ko="[기본값: {}]", en="[default: {}]"),
    "cli.required": M(ko="[필수]", en="[required]"),
    "cli.try_help": M(ko="도움말: [blue]'{command_path} {help_option}'[/]",
                      en="Try [blue]'{command_path} {help_option}'[/] for help."),
    # --help texts (src/opsplan/cli, through cli/language.py help_text: the language is chosen once, at start-up)
    "help.alerts": M(
        ko='알림: 목록, 확인, 알림 중지 (운영 계획서 §3.2).', en='Alerts: list, acknowledge, silence (seed §3.2).'),
    "help.json": M(ko='스크립트용 JSON으로 출력합니다.', en='Print JSON for scripts.'),
    "help.alerts.all": M(ko='해결된 알림도 포함합니다.', en='Include resolved alerts.'),
    "help.alerts.state": M(ko='대기(pending), 발생(firing) 또는 해결(resolved).', en='pending, firing or resolved.'),
    "help.alerts.severity": M(ko='심각(critical) 또는 경고(warning).', en='critical or warning.'),
    "help.alerts.fingerprint": M(ko='`opsplan alerts list`에 나오는 지문.', en='From `opsplan alerts list`.'),
    "help.alerts.ack_by": M(ko='확인한 사람 (기본값: 로그인 이름).', en='Who acknowledges (default: the login name).'),
    "help.alerts.ack_comment": M(ko='사유 또는 진행 중인 조치.', en='Why, or what is being done.'),
    "help.alerts.matcher": M(
        ko='name=value 또는 name=~regex 형식이며 여러 번 지정할 수 있습니다.',
        en='name=value or name=~regex; repeatable.'),
    "help.alerts.silence_for": M(ko='기간 (예: 30m, 2h, 1d).', en='How long, e.g. 30m, 2h, 1d.'),
    "help.alerts.author": M(ko='작성자 (기본값: 로그인 이름).', en='Who (default: the login name).'),
    "help.alerts.silence_comment": M(ko='사유.', en='Why.'),
    "help.alerts.silences_all": M(ko='만료된 알림 중지도 포함합니다.', en='Include expired silences.'),
    "help.backup": M(
        ko='MariaDB, AI 모델, 설정 파일을 백업합니다 (운영 계획서 §4.1).',
        en='Back up MariaDB, AI models and configuration (seed §4.1).'),
    "help.backup.full": M(ko='전체 백업으로 새 백업 체인을 시작합니다.', en='Start a new chain with a full backup.'),
    "help.backup.incremental": M(ko='현재 체인에 증분 백업을 추가합니다.', en='Add an incremental to the chain.'),
    "help.backup.list_all": M(ko='삭제된 백업도 표시합니다.', en='Also show pruned backups.'),
    "help.backup.prune_dry_run": M(ko='삭제할 백업과 사유만 표시합니다.', en='Only list what would go, and why.'),
    "help.backup.verify_id": M(
        ko='검증할 백업 (`opsplan backup list` 참고).',
        en='The backup to verify (see `opsplan backup list`).'),
    "help.backup.verify_all": M(ko='보관 중인 모든 백업을 검증합니다.', en='Verify every kept backup.'),
    "help.backup.verify_deep": M(
        ko='사본에서 백업 체인의 압축 해제와 준비(prepare)까지 수행합니다.',
        en='Also unpack and prepare the chain on copies.'),
    "help.backup.binlogs_all": M(ko='삭제되거나 실패한 파일도 표시합니다.', en='Also show pruned and failed files.'),
    "help.backup.config": M(
        ko='Git에 보관하는 설정 파일: 지금 백업, 이력 보기, 변경 내용 보기.',
        en='Configuration files in Git: back up now, show the history, show a diff.'),
    "help.model_name": M(ko='backup.models.models에 있는 모델 이름.', en="The model's name in backup.models.models."),
    "help.backup.model_version": M(
        ko='이 버전 이름으로 저장합니다 (내용이 바뀌지 않아도 저장).',
        en='Declare this version name (stored even when the content did not change).'),
    "help.machine": M(ko='기계가 읽을 수 있는 형식으로 출력합니다.', en='Machine-readable output.'),
    "help.backup.config_log_count": M(ko='표시할 커밋 수 (최신 순).', en='How many commits, newest first.'),
    "help.backup.config_diff_since": M(
        ko='`log`에 나오는 커밋: 그 이후의 모든 변경을 표시합니다. 지정하지 않으면 최신 커밋의 변경을 표시합니다.',
        en='A commit from `log`: show every change since it. Without it: what the latest commit changed.'),
    "help.collect.once": M(
        ko='수집을 한 번 실행하고 종료합니다 (유일한 모드).', en='Run one cycle and exit (the only mode).'),
    "help.collect.json": M(ko='샘플을 JSON으로 출력합니다.', en='Print the samples as JSON.'),
    "help.drill": M(
        ko='RTO와 RPO를 측정하는 백업 복구 테스트 (운영 계획서 §2.2).',
        en='Restore drills that measure RTO and RPO (seed §2.2).'),
    "help.result_json": M(ko='결과를 스크립트용 JSON으로 출력합니다.', en='Print the result as JSON for scripts.'),
    "help.drill.keep": M(
        ko='임시 디렉터리를 남겨 둡니다 (<backup.directory>/.drill-<run>).',
        en='Keep the scratch directory (<backup.directory>/.drill-<run>).'),
    "help.drill.backup": M(
        ko='최신 백업 체인 대신 이 백업의 체인을 테스트합니다.',
        en="Drill this backup's chain instead of the newest one."),
    "help.dry_run": M(
        ko='실제 경로와 명령을 출력하고 아무것도 변경하지 않습니다.', en='Print the real paths and commands; change '
           'nothing.'),
    "help.drill.model_version": M(
        ko='저장된 버전 (기본값: 최신 버전).', en='The stored version (default: the newest).'),
    "help.machine_result": M(ko='결과를 기계가 읽을 수 있는 형식으로 출력합니다.', en='Machine-readable result.'),
    "help.export.out": M(
        ko='파일을 쓸 디렉터리 (없으면 만듭니다).', en='Directory to write into (created if missing).'),
    "help.export.force": M(
        ko='opsplan이 쓰지 않았거나 수정된 파일도 덮어씁니다.',
        en='Replace files opsplan did not write or that were edited.'),
    "help.export.opsplan_url": M(
        ko='Prometheus와 Alertmanager가 opsplan에 접속할 주소 (기본값: web.bind:port).',
        en='How Prometheus/Alertmanager reach opsplan (default: web.bind:port).'),
    "help.export.alertmanager_url": M(
        ko='Prometheus가 사용할 Alertmanager 주소 (기본값: monitoring.alertmanager_url, 없으면 http://127.0.0.1:9093).',
        en='Alertmanager for Prometheus (default: monitoring.alertmanager_url, else http://127.0.0.1:9093).'),
    "help.export.prometheus_url": M(
        ko='Grafana 데이터 소스로 쓸 Prometheus 주소 (기본값: monitoring.prometheus_url).',
        en="Prometheus for Grafana's datasource (default: monitoring.prometheus_url)."),
    "help.export.scrape_interval": M(ko='기본값: monitoring.interval.', en='Default: monitoring.interval.'),
    "help.export.evaluation_interval": M(ko='기본값: 수집 주기 (scrape interval).', en='Default: the scrape interval.'),
    "help.export.group_wait": M(
        ko='Alertmanager group_wait (기본값 30s).', en='Alertmanager group_wait (default 30s).'),
    "help.export.group_interval": M(
        ko='Alertmanager group_interval (기본값 5m).',
        en='Alertmanager group_interval (default 5m).'),
    "help.export.webhook_url": M(
        ko='Alertmanager가 알림을 보낼 주소 (기본값: opsplan 주소의 /api/v1/alertmanager).',
        en="Where Alertmanager posts alerts (default: the opsplan URL's /api/v1/alertmanager)."),
    "help.export.program": M(ko="systemd 유닛이 실행할 설치된 opsplan (기본값: 지금 실행 중인 것).",
                             en="The installed opsplan the systemd unit runs (default: this one)."),
    "help.export.token_file": M(
        ko='Alertmanager가 웹훅(webhook) 호출에 사용할 opsplan API 토큰 파일.',
        en="File with opsplan's API token, read by Alertmanager for its webhook."),
    "help.main": M(
        ko='AI 서버 운영 계획서를 실행합니다: 모니터링, 알림, 백업, 장애 대응, 점검.',
        en="Runs the AI server's operations plan: monitoring, alerts, backups, incidents, checks."),
    "help.main.plan": M(
        ko='운영 계획서 파일 (기본값: ./opsplan.yaml, 없으면 /etc/opsplan/opsplan.yaml).',
        en='Plan file (default ./opsplan.yaml, then /etc/opsplan/opsplan.yaml).'),
    "help.main.log_file": M(ko='로그를 표준 오류(stderr) 대신 이 파일에 씁니다.',
                            en='Write log lines here instead of stderr.'),
    "help.main.verbose": M(ko='디버그 로그를 출력합니다.', en='Debug logging.'),
    "help.main.version": M(ko='버전을 출력하고 종료합니다.', en='Print the version and exit.'),
    "help.notify": M(
        ko='알림 채널: 테스트 메시지 발송, 발송 대기 목록 보기.',
        en='Notification channels: send a test message, list the outbox.'),
    "help.notify.channel": M(ko='이 채널만 (운영 계획서의 채널 이름).', en='Only this channel (its name in the plan).'),
    "help.plan": M(
        ko='운영 계획서(opsplan.yaml)를 검증하거나 출력합니다.', en='Validate or print the plan (opsplan.yaml).'),
    "help.init.path": M(
        ko='운영 계획서를 쓸 위치 (기본값: --plan, 없으면 ./opsplan.yaml).',
        en='Where to write the plan (default: --plan, else ./opsplan.yaml).'),
    "help.init.lang": M(ko='주석과 `language:`에 쓸 언어.', en='Language of the comments and of `language:`.'),
    "help.init.force": M(ko='기존 파일을 덮어씁니다.', en='Overwrite an existing file.'),
    "help.init.keep": M(
        ko='파일이 이미 있으면 그대로 두고 그 언어를 알려 줍니다 (scripts/run.sh).',
        en='If the file exists, keep it and say its language (scripts/run.sh).'),
    "help.plan.check_path": M(ko='검증할 운영 계획서 (--plan보다 우선).', en='The plan to check (wins over --plan).'),
    "help.plan.show_path": M(ko='출력할 운영 계획서 (--plan보다 우선).', en='The plan to show (wins over --plan).'),
    "help.plan.show_json": M(ko='YAML 대신 JSON으로 출력합니다.', en='Print JSON instead of YAML.'),
    "help.restore": M(
        ko='데이터베이스를 복원하거나 모델을 롤백합니다 (운영 계획서 §4.2).',
        en='Restore the database or roll back a model (seed §4.2).'),
    "help.restore.backup": M(ko='이 백업(과 그 체인)을 복원합니다.', en='Restore this backup (its chain).'),
    "help.restore.until": M(
        ko='복구 시점 (예: "2026-11-20 14:00", 운영 계획서의 시간대): 그 전의 최신 백업에 그 시점까지 보관된 '
           '바이너리 로그를 재생합니다.',
        en='Point in time, e.g. "2026-11-20 14:00" in the plan\'s timezone: the newest backup before it plus the '
           'archived binlogs up to it.'),
    "help.restore.target_datadir": M(
        ko='이 새 디렉터리나 빈 디렉터리에 복원합니다. 실행 중인 데이터베이스는 변경하지 않습니다.',
        en='Restore into this new or empty directory instead; the running database is not touched.'),
    "help.restore.check_port": M(
        ko='복원한 사본을 127.0.0.1의 이 포트에서 검증합니다.',
        en='Check the restored copy on this 127.0.0.1 port.'),
    "help.yes_scripts": M(
        ko='되돌리기 어려운 단계를 묻지 않고 진행합니다 (스크립트용).',
        en='Confirm destructive steps without asking (scripts).'),
    "help.restore.model_version": M(
        ko='되돌릴 저장 버전 (기본값: 지금 서비스 중인 버전의 직전 버전).',
        en='The stored version to put back (default: the one before the version serving now).'),
    "help.restore.model_dry_run": M(
        ko='수행할 작업을 출력하고 아무것도 변경하지 않습니다.', en='Print what would be done; change nothing.'),
    "help.restore.model_yes": M(ko='묻지 않고 서비스 링크를 전환합니다.', en='Switch the serving link without asking.'),
    "help.audit": M(ko='감사 로그: 기록 목록과 변조 검증.',
        en='The audit log: list its entries, verify its hash chain.'),
    "help.cmd.audit_list": M(
        ko='감사 로그 목록 (최신 순): 시각, 사용자, 작업, 대상, 결과.',
        en='Audit entries, newest first: when, who, what, on which target, the outcome.'),
    "help.cmd.audit_verify": M(
        ko='감사 로그의 해시 체인을 처음부터 검증합니다. 깨진 첫 항목을 알리고 종료 코드 1로 끝납니다.',
        en='Walk the audit log\'s hash chain from the first entry; name the first broken entry and exit 1.'),
    "help.audit.since": M(ko='이 시점 이후의 기록만: 기간(예: 24h, 7d) 또는 날짜와 시각(예: 2026-11-30 10:00).',
        en='Only entries from then on: a span back from now (24h, 7d) or a date and time (2026-11-30 10:00).'),
    "help.audit.limit": M(ko='표시할 최근 기록 수.', en='How many of the newest entries.'),
    "audit.action.alert_ack": M(ko="알림 확인", en="acknowledge alert"),
    "audit.action.silence_add": M(ko="알림 중지", en="silence"),
    "audit.action.silence_expire": M(ko="알림 중지 종료", en="end silence"),
    "audit.action.backup_start": M(ko="백업 시작", en="start backup"),
    "audit.action.run": M(ko="복구 실행", en="run"),
    "audit.action.resume": M(ko="복구 재개", en="resume"),
    "audit.action.confirm": M(ko="확인 응답", en="confirm"),
    "audit.action.dry_run": M(ko="모의 실행", en="dry run"),
    "audit.outcome.started": M(ko="시작", en="started"),
    "audit.outcome.yes": M(ko="승인", en="yes"),
    "audit.outcome.no": M(ko="거절", en="no"),
    "audit.list.empty": M(ko='감사 기록 없음', en='no audit entries'),
    "audit.list.columns": M(ko='ID|시각|사용자|작업|대상|결과', en='ID|time|actor|action|target|outcome'),
    "audit.since_bad": M(ko="--since 값 '{value}'을 해석할 수 없습니다: 기간(예: 24h, 7d) 또는 날짜를 쓰십시오.",
        en="cannot read --since '{value}': give a span (24h, 7d) or a date"),
    "audit.verify.ok": M(ko='감사 로그가 온전합니다: 항목 {count}개의 해시 체인이 끊기지 않았습니다.',
        en='audit log intact: {count} entries, hash chain unbroken'),
    "audit.verify.changed": M(
        ko='감사 로그 항목 #{id}의 내용이 기록 후 바뀌었습니다 (해시 불일치). 그 앞의 항목 {count}개는 온전합니다.',
        en='audit entry #{id} was changed after it was written (its hash does not match); '
           'entries before it verified: {count}'),
    "audit.verify.link": M(
        ko='감사 로그 항목 #{id}의 바로 앞 항목이 삭제되었거나 바뀌었습니다 (이전 해시 불일치). '
           '그 앞의 항목 {count}개는 온전합니다.',
        en='the entry before audit entry #{id} was deleted or replaced (its prev_hash does not match); '
           'entries before it verified: {count}'),
    "audit.verify.tail": M(
        ko='감사 로그의 최신 항목이 삭제되었습니다: 남은 항목 {count}개는 온전하지만 '
           '체인의 마지막 해시와 맞지 않습니다.',
        en='the newest audit entries were deleted: the entries left verify ({count}), but the chain\'s head '
           'names a later one'),
    "help.runbook": M(
        ko='복구 실행 기록: 목록, 상세 보기, 중단된 실행 재개.',
        en='The journal of recovery runs: list, show one, resume an interrupted one.'),
    "help.runbook.limit": M(ko='표시할 최근 실행 수.', en='How many of the newest runs.'),
    "help.yes": M(ko='되돌리기 어려운 단계를 묻지 않고 진행합니다.', en='Confirm destructive steps without asking.'),
    "help.serve.bind": M(ko='접속을 받을 주소 (기본값: 운영 계획서의 web.bind).',
        en="Bind address (default: the plan's web.bind)."),
    "help.serve.port": M(
        ko='포트 (기본값: 운영 계획서의 web.port, 0은 빈 포트 아무거나).',
        en="Port (default: the plan's web.port; 0 = any free)."),
    "help.cmd.alerts_list": M(
        ko='대상별 알림 목록: 대기와 발생 (--all이면 해결된 알림도).',
        en='Alerts grouped by subject: pending and firing (with --all, resolved ones too).'),
    "help.cmd.alerts_ack": M(
        ko='발생 중인 알림을 확인합니다. 목록에는 남고 Critical 알림의 반복 발송이 멈춥니다.',
        en='Acknowledge a firing alert: it stays listed, its critical repeats stop.'),
    "help.cmd.alerts_silence": M(
        ko='조건에 맞는 알림을 일정 기간 중지합니다. 상태는 유지되지만 발송하지 않습니다.',
        en='Silence matching alerts for a while: they keep their state but send nothing.'),
    "help.cmd.alerts_unsilence": M(ko='알림 중지를 지금 끝냅니다.', en='End a silence now.'),
    "help.cmd.alerts_silences": M(
        ko='적용 중이거나 예정된 알림 중지 목록 (--all이면 만료된 것도).',
        en='Silences in force or scheduled (with --all, expired ones too).'),
    "help.cmd.backup_binlogs": M(
        ko='보관된 바이너리 로그 목록: 파일, 첫/마지막 이벤트 시각, 크기, 해시.',
        en='List archived binary logs: file, first/last event time, size, hash.'),
    "help.cmd.backup_archive_binlogs": M(
        ko='닫힌 바이너리 로그를 지금 보관합니다 (FLUSH BINARY LOGS 후 복사, 압축, 해시, 카탈로그 기록).',
        en='Archive closed binary logs now (FLUSH BINARY LOGS, then copy, compress, hash, catalog).'),
    "help.cmd.backup_db": M(
        ko='mariabackup으로 MariaDB를 백업합니다 (지정하지 않으면 운영 계획서에 따라 전체 또는 증분 백업).',
        en='Back up MariaDB with mariabackup (the plan decides full or incremental unless told).'),
    "help.cmd.backup_list": M(
        ko='데이터베이스 백업을 체인별로 표시합니다: 전체 백업 아래에 그 증분 백업.',
        en='Show database backups as chains: each full with its incrementals below it.'),
    "help.cmd.backup_prune": M(
        ko='데이터베이스 백업에 보관 기간 정책을 적용합니다.',
        en='Apply the retention policy (the recovery window) to database backups.'),
    "help.cmd.backup_verify": M(
        ko='저장된 파일의 해시를 카탈로그와 다시 비교합니다. --deep이면 사본에서 mariabackup --prepare도 실행합니다.',
        en='Re-hash stored files against the catalog; --deep also runs mariabackup --prepare on copies.'),
    "help.cmd.backup_capture": M(
        ko='백업의 준비된 사본에서 테이블별 행 수와 체크섬을 기록합니다 (`opsplan serve`는 백업 후 자동으로 실행).',
        en="Record per-table row counts and checksums from a backup's prepared copy (what serve does after a backup)."),
    "help.backup.capture_id": M(ko='기록할 백업 (기본값: 가장 최근의 정상 백업).',
                                en='The backup (default: the newest ok backup).'),
    "help.cmd.backup_check": M(
        ko='이 서버에서 데이터베이스 백업에 부족한 것을 알려 줍니다: 권한, 실행 파일, 공간, 파일 권한.',
        en='Tell what a database backup here lacks: privileges, binaries, space and permissions.'),
    "help.cmd.config_log": M(
        ko='설정 변경 이력: 커밋별 시각과 변경된 파일.',
        en='The configuration history: each commit with its time and changed files.'),
    "help.cmd.config_diff": M(
        ko='설정 변경 내용을 unified diff로 표시합니다.', en='Show configuration changes as a unified diff.'),
    "help.cmd.backup_model": M(
        ko='AI 모델 하나를 폴더가 바뀌었으면 지금 백업합니다 (또는 --version으로 지정한 버전으로).',
        en='Back up one AI model now when its folder changed (or as a declared --version).'),
    "help.cmd.backup_models": M(
        ko='모든 모델의 보관 중인 버전 목록 (오래된 순).',
        en='List the kept versions of every model, oldest first.'),
    "help.cmd.collect": M(
        ko='수집을 한 번 실행하고 모든 샘플을 출력합니다.', en='Run one collection cycle and print every sample.'),
    "help.cmd.drill_db": M(
        ko='최신 백업 체인을 임시 서버에 복원하고 모든 테이블을 검증하며 RTO와 RPO를 측정합니다.',
        en='Restore the newest backup chain into a scratch server, check every table, measure RTO and RPO.'),
    "help.cmd.drill_model": M(
        ko='저장된 모델 버전이 복원되고 검증되는지, 얼마나 걸리는지 확인합니다.',
        en='Prove a stored model version restores and validates, and how long that takes.'),
    "help.cmd.export": M(
        ko='운영 계획서를 Prometheus, Alertmanager, Grafana 설정으로 씁니다 (운영 계획서 §3.1).',
        en='Write the plan as Prometheus, Alertmanager and Grafana configuration (seed §3.1).'),
    "help.cmd.notify_test": M(
        ko='모든 채널(또는 한 채널)에 테스트 메시지를 지금 보냅니다. 하나라도 실패하면 종료 코드 1.',
        en='Send a test message to every channel (or one) now; exit 1 if any failed.'),
    "help.cmd.notify_outbox": M(
        ko='발송 대기 중이거나 포기한 알림 목록과 시도 횟수, 다음 시도 시각.',
        en='List notifications still pending or given up, with attempts and the next try.'),
    "help.cmd.init": M(
        ko='운영 계획서의 기본값으로 주석이 달린 opsplan.yaml을 씁니다.',
        en="Write a commented plan whose values are the seed's."),
    "help.cmd.plan_check": M(
        ko='운영 계획서를 검증합니다. 올바르면 종료 코드 0, 아니면 문제마다 한 줄씩 출력하고 종료 코드 2.',
        en='Validate the plan: exit 0 when it is valid, 2 with one line per problem when not.'),
    "help.cmd.plan_show": M(
        ko='적용되는 운영 계획서를 출력합니다: 모든 기본값을 채우고 기간과 크기는 읽기 쉬운 형식으로.',
        en='Print the effective plan: every default filled in, durations and sizes in human form.'),
    "help.cmd.restore_db": M(
        ko='데이터베이스를 복원합니다 (운영 계획서 §4.2): 서비스 중지, 복원, 검증, 재시작.',
        en='Restore the database (seed §4.2): stop the service, restore, verify, restart.'),
    "help.cmd.restore_model": M(
        ko='모델 버전을 복원하고 검증과 성능 테스트를 거쳐 서비스에 투입합니다. 어느 단계든 실패하면 서비스 중이던 '
           '버전으로 되돌립니다.',
        en='Restore a model version, validate it, test its performance, put it into service; any failure switches '
           'back to the version that was serving.'),
    "help.cmd.runbook_list": M(
        ko='복구 실행 목록 (최신 순). 프로세스가 종료된 실행은 중단됨(재개 가능)으로 표시합니다.',
        en='The newest runs first; a run whose process died shows as interrupted (resumable).'),
    "help.cmd.runbook_show": M(
        ko='실행 하나의 상세: 실행자, 인자, 각 단계와 되돌리기의 출력과 소요 시간.',
        en='One run: who ran it, the arguments, and every step and undo with its output and duration.'),
    "help.cmd.runbook_resume": M(
        ko='중단된 실행을 중단된 단계부터 계속합니다 (그 단계는 다시 실행하며, 단계는 여러 번 실행해도 안전합니다).',
        en='Continue an interrupted run from the step it was in (that step runs again: steps are idempotent).'),
    "help.cmd.serve": M(
        ko='운영 계획서의 주기로 수집하고 메트릭 저장소를 유지하며 /metrics, API, 상태 페이지를 제공합니다.',
        en="Collect on the plan's interval, keep the metrics store, serve /metrics, the API and the status page."),
    # --- identity: users, roles, sessions, API tokens (web/identity, cli/user_cmd.py) ---
    "help.user": M(
        ko='웹 콘솔과 API의 사용자: 추가, 비밀번호, 역할, 비활성화, 활성화, 목록, 사용자별 API 토큰.',
        en="The web console's and API's users: add, password, role, disable, enable, list; their API tokens."),
    "help.user.token": M(ko='사용자별 API 토큰: 발급, 목록, 폐기.', en='Per-user API tokens: create, list, revoke.'),
    "help.cmd.user_add": M(
        ko='사용자를 추가합니다. 첫 관리자는 이 명령으로만 만들 수 있습니다. 비밀번호는 터미널에서 묻거나 '
           '--password-stdin으로 읽습니다.',
        en='Add a user; the first admin can only be made with this command. The password is asked on the '
           'terminal or read with --password-stdin.'),
    "help.cmd.user_passwd": M(ko='비밀번호를 바꾸고 그 사용자의 세션을 모두 종료합니다.',
                              en="Change a password and end all of the user's sessions."),
    "help.cmd.user_role": M(ko='역할을 바꾸고 그 사용자의 세션을 모두 종료합니다.',
                            en="Change a role and end all of the user's sessions."),
    "help.cmd.user_disable": M(ko='사용자를 비활성화하고 세션과 API 토큰 사용을 막습니다.',
                               en='Disable a user: their sessions end and their API tokens stop working.'),
    "help.cmd.user_enable": M(ko='비활성화한 사용자를 다시 활성화합니다.', en='Enable a disabled user again.'),
    "help.cmd.user_list": M(ko='사용자 목록: 이름, 역할, 상태, TOTP 사용 여부.',
                            en='List users: name, role, state, whether TOTP is on.'),
    "help.cmd.user_totp": M(
        ko='TOTP 2단계 인증을 켜고 비밀 키와 복구 코드 10개를 한 번만 보여 줍니다 (기존 세션은 종료).',
        en='Turn on TOTP two-step login; shows the secret and 10 recovery codes once (ends existing sessions).'),
    "help.cmd.user_sessions": M(ko='유효한 로그인 세션 목록.', en='List the live login sessions.'),
    "help.cmd.user_session_end": M(ko='세션 하나를 번호로 종료합니다.', en='End one session by its number.'),
    "help.cmd.token_create": M(ko='API 토큰을 발급합니다. 토큰은 한 번만 표시합니다.',
                               en='Create an API token; it is shown only once.'),
    "help.cmd.token_list": M(ko='API 토큰 목록 (토큰 값은 표시하지 않음).',
                             en='List API tokens (never the tokens themselves).'),
    "help.cmd.token_revoke": M(ko='API 토큰을 번호로 폐기합니다.', en='Revoke an API token by its number.'),
    "help.user.name": M(ko='사용자 이름 (영문 소문자, 숫자, 점, 밑줄, 하이픈).',
                        en='User name (lower-case letters, digits, dot, underscore, hyphen).'),
    "help.user.role": M(ko='역할: 조회자 (viewer), 운영자 (operator), 관리자 (admin).',
                        en='Role: viewer, operator or admin.'),
    "help.user.password_stdin": M(ko='비밀번호를 표준 입력의 첫 줄에서 읽습니다 (스크립트용).',
                                  en="Read the password from standard input's first line (for scripts)."),
    "help.user.filter": M(ko='이 사용자만.', en='Only this user.'),
    "help.token.label": M(ko='토큰 이름 (용도 메모).', en="The token's name (what it is for)."),
    "help.token.scope": M(ko='권한 범위: 읽기 (read) 또는 쓰기 (write).', en='Scope: read or write.'),
    "help.token.expires": M(ko='유효 기간 (예: 90d, 12h). 지정하지 않으면 만료되지 않습니다.',
                            en='Lifetime (e.g. 90d, 12h); without it the token does not expire.'),
    "help.token.id": M(ko='토큰 번호 (목록의 번호).', en="The token's number (as listed)."),
    "help.session.id": M(ko='세션 번호 (목록의 번호).', en="The session's number (as listed)."),
    "identity.user_exists": M(ko='사용자 {name:이} 이미 있습니다.', en='User {name} already exists.'),
    "identity.no_user": M(ko='사용자 {name:이} 없습니다.', en='No user {name}.'),
    "identity.bad_name": M(
        ko="사용자 이름으로 쓸 수 없습니다: '{name}'. 영문 소문자나 숫자로 시작하고 64자 이하로 쓰십시오.",
        en="User name '{name}' cannot be used: start with a lower-case letter or digit, 64 characters at most."),
    "identity.bad_role": M(ko="없는 역할입니다: '{role}'. 다음 중 하나를 쓰십시오 ({roles}).",
                           en="No role '{role}': use one of {roles}."),
    "identity.password_short": M(ko='비밀번호가 너무 짧습니다: {least}자 이상으로 쓰십시오.',
                                 en='The password is too short: use at least {least} characters.'),
    "identity.password_long": M(ko='비밀번호가 너무 깁니다: {most}자 이하로 쓰십시오.',
                                en='The password is too long: use at most {most} characters.'),
    "identity.last_admin": M(
        ko='{name:은} 마지막 관리자입니다: 다른 관리자를 먼저 만들어야 역할을 바꾸거나 비활성화할 수 있습니다.',
        en='{name} is the last admin: make another admin before changing their role or disabling them.'),
    "identity.password_prompt": M(ko='비밀번호', en='Password'),
    "identity.password_confirm": M(ko='비밀번호 확인', en='Repeat the password'),
    "identity.password_mismatch": M(ko='두 비밀번호가 다릅니다.', en='The two passwords differ.'),
    "identity.no_password": M(
        ko='비밀번호를 읽을 수 없습니다: 터미널에서 실행하거나 --password-stdin으로 표준 입력에 주십시오.',
        en='No password: run this on a terminal, or give it on standard input with --password-stdin.'),
    "identity.bad_expiry": M(ko="유효 기간을 읽을 수 없습니다: '{name}' (예: 90d, 12h).",
                             en="Cannot read the lifetime '{name}' (e.g. 90d, 12h)."),
    "identity.bad_scope": M(ko="없는 권한 범위입니다: '{scope}'. 읽기 (read) 또는 쓰기 (write)를 쓰십시오.",
                            en="No scope '{scope}': use read or write."),
    "identity.no_token": M(ko='유효한 API 토큰 {id:이} 없습니다.', en='No live API token {id}.'),
    "identity.no_session": M(ko='유효한 세션 {id:이} 없습니다.', en='No live session {id}.'),
    "identity.cli.added": M(ko='사용자 {name:을} 추가했습니다 (역할: {role}).', en='Added user {name} (role: {role}).'),
    "identity.cli.first_admin": M(
        ko='첫 관리자입니다: {url}에서 로그인하십시오.', en='This is the first admin: log in at {url}.'),
    "identity.cli.password_set": M(ko='{name}의 비밀번호를 바꿨습니다. 종료한 세션: {count}개.',
                                   en="Changed {name}'s password; sessions ended: {count}."),
    "identity.cli.role_set": M(ko='{name}의 역할을 바꿨습니다: {role}. 종료한 세션: {count}개.',
                               en="Changed {name}'s role to {role}; sessions ended: {count}."),
    "identity.cli.disabled": M(ko='{name:을} 비활성화했습니다. 종료한 세션: {count}개.',
                               en='Disabled {name}; sessions ended: {count}.'),
    "identity.role.viewer": M(ko='조회자 (viewer)', en='viewer'),
    "identity.role.operator": M(ko='운영자 (operator)', en='operator'),
    "identity.role.admin": M(ko='관리자 (admin)', en='admin'),
    "identity.scope.read": M(ko='읽기 (read)', en='read'),
    "identity.scope.write": M(ko='쓰기 (write)', en='write'),
    "identity.cli.enabled": M(ko='{name:을} 활성화했습니다.', en='Enabled {name}.'),
    "identity.cli.no_users": M(
        ko='사용자가 없습니다. 첫 관리자를 만드십시오: `opsplan user add NAME --role admin`',
        en='No users yet. Make the first admin: `opsplan user add NAME --role admin`'),
    "identity.cli.user_columns": M(ko='이름|역할|상태|TOTP|추가 시각', en='name|role|state|TOTP|added'),
    "identity.cli.active": M(ko='활성', en='active'),
    "identity.cli.inactive": M(ko='비활성', en='disabled'),
    "identity.cli.yes": M(ko='사용', en='on'),
    "identity.cli.no": M(ko='-', en='-'),
    "identity.cli.totp_set": M(
        ko='{name}의 TOTP를 켰습니다. 인증 앱에 아래 주소를 등록하고 복구 코드는 안전한 곳에 보관하십시오. '
           '다시 표시하지 않습니다.',
        en="TOTP is on for {name}. Add the link below to an authenticator app and keep the recovery codes "
           "somewhere safe: they are not shown again."),
    "identity.cli.token_created": M(
        ko='API 토큰 {id:을} 발급했습니다 ({scope}). 다시 표시하지 않으니 지금 보관하십시오:',
        en='Created API token {id} ({scope}); it is not shown again, keep it now:'),
    "identity.cli.token_columns": M(ko='번호|사용자|이름|권한|발급 시각|만료|상태',
                                    en='id|user|name|scope|created|expires|state'),
    "identity.cli.token_live": M(ko='유효', en='live'),
    "identity.cli.token_revoked": M(ko='폐기됨', en='revoked'),
    "identity.cli.token_expired": M(ko='만료됨', en='expired'),
    "identity.cli.never": M(ko='없음', en='never'),
    "identity.cli.no_tokens": M(ko='API 토큰이 없습니다.', en='No API tokens.'),
    "identity.cli.token_revoked_done": M(ko='API 토큰 {id:을} 폐기했습니다.', en='Revoked API token {id}.'),
    "identity.cli.session_columns": M(ko='번호|사용자|주소|시작|마지막 요청', en='id|user|address|started|last seen'),
    "identity.cli.no_sessions": M(ko='유효한 세션이 없습니다.', en='No live sessions.'),
    # the alerts page (web/alerts_page.py)
    "console.alerts.title": M(ko="알림 관리", en="Alerts"),
    "console.nav.alerts": M(ko="알림 관리", en="Manage alerts"),
    "console.nav.overview": M(ko="상태 개요", en="Overview"),
    "console.logged_in_as": M(ko="로그인: {user} · {role}", en="Logged in: {user} · {role}"),
    "console.alerts.viewer_note": M(ko="조회자는 알림을 확인하거나 중지할 수 없습니다.",
                                    en="A viewer cannot acknowledge or silence alerts."),
    "console.alerts.open": M(ko="열린 알림 (발생·대기)", en="Open alerts (firing and pending)"),
    "console.alerts.actions": M(ko="조치", en="Actions"),
    "console.alerts.acked_by": M(ko="확인: {user}", en="acknowledged by {user}"),
    "console.alerts.ack": M(ko="확인", en="Acknowledge"),
    "console.alerts.silence_1h": M(ko="1시간 알림 중지", en="Silence for 1 hour"),
    "identity.web.title": M(ko='opsplan 로그인', en='Log in to opsplan'),
    "identity.web.name": M(ko='사용자 이름', en='User name'),
    "identity.web.password": M(ko='비밀번호', en='Password'),
    "identity.web.code": M(ko='인증 코드 또는 복구 코드', en='Authenticator code or recovery code'),
    "identity.web.submit": M(ko='로그인', en='Log in'),
    "identity.web.bad": M(ko='사용자 이름이나 비밀번호가 틀렸습니다.', en='Wrong user name or password.'),
    "identity.web.need_code": M(ko='인증 앱의 6자리 코드나 복구 코드를 입력하십시오.',
                                en="Enter the 6-digit code from your authenticator app, or a recovery code."),
    "identity.web.throttled": M(ko='로그인 실패가 너무 많습니다. {duration} 후에 다시 시도하십시오.',
                                en='Too many failed logins. Try again in {duration}.'),
    "identity.web.sessions": M(ko='로그인 세션', en='Login sessions'),
    "identity.web.end": M(ko='종료', en='End'),
    "identity.web.current": M(ko='현재 세션', en='this session'),
    "identity.web.logout": M(ko='로그아웃', en='Log out'),
    "identity.cli.session_ended": M(ko='세션 {id:을} 종료했습니다.', en='Ended session {id}.'),
    "identity.web.no_users": M(ko="아직 사용자가 없습니다. 서버에서 다음 명령으로 첫 관리자를 만드십시오: `{command}`",
                               en="No user exists yet. Make the first admin on the server: `{command}`"),
    # the console's frame (web/console/)
    "console.nav_label": M(ko="콘솔 메뉴", en="Console"),
    "console.skip": M(ko="본문으로 건너뛰기", en="Skip to the content"),
    "console.read_only": M(ko="읽기 전용 (로그인 기능 꺼짐: 상태 DB를 열 수 없음)",
                           en="Read-only (logins are off: the state database could not be opened)"),
    "console.logins_unavailable": M(ko="콘솔을 열 수 없습니다: 상태 DB를 열 수 없어 로그인할 수 없습니다.",
                                    en="The console is unavailable: the state database could not be opened, "
                                       "so nobody can log in."),
    # the Metrics page (web/console/charts.py, chart_specs.py, static/charts.js)
    "console.nav.charts": M(ko="지표", en="Metrics"),
    "console.charts.title": M(ko="지표", en="Metrics"),
    "console.charts.range": M(ko="기간", en="Range"),
    "console.charts.range.1h": M(ko="1시간", en="1 hour"),
    "console.charts.range.6h": M(ko="6시간", en="6 hours"),
    "console.charts.range.24h": M(ko="24시간", en="24 hours"),
    "console.charts.range.7d": M(ko="7일", en="7 days"),
    "console.charts.range.30d": M(ko="30일", en="30 days"),
    "console.charts.bad_range": M(ko="지원하지 않는 기간: '{range}' ({choices} 중 하나)",
                                  en="unsupported range '{range}' (one of {choices})"),
    "console.charts.intro": M(ko="점선은 운영 계획서의 알림 규칙 임계값입니다. 시각은 {timezone} 기준입니다.",
                              en="Dashed lines are the thresholds of the plan's alert rules. Times are in {timezone}."),
    "console.charts.needs_js": M(
        ko="차트를 그리려면 자바스크립트가 필요합니다. 임계값은 각 차트 제목 아래에 글로 표시됩니다.",
        en="Charts need JavaScript; each chart's thresholds are listed as text under its title."),
    "console.charts.thresholds": M(ko="임계값", en="Thresholds"),
    "console.charts.threshold": M(ko="{severity} {threshold} ({alert})", en="{severity} {threshold} ({alert})"),
    "console.charts.no_threshold": M(ko="알림 규칙의 임계값 없음", en="No threshold in the alert rules"),
    "console.charts.empty": M(ko="이 기간에는 아직 데이터가 없습니다.", en="No data in this range yet."),
    "console.charts.loading": M(ko="불러오는 중…", en="Loading…"),
    "console.charts.failed": M(ko="차트 데이터를 불러오지 못했습니다 (HTTP {status}).",
                               en="Could not load the chart's data (HTTP {status})."),
    "console.charts.summary": M(ko="{name}: 마지막 값 {value} ({time}), 최소 {low}, 최대 {high}",
                                en="{name}: last {value} at {time}, min {low}, max {high}"),
    "console.charts.time": M(ko="시각", en="Time"),
    "console.charts.server": M(ko="서버 전체", en="Whole server"),
    "console.charts.cpu": M(ko="CPU 사용률", en="CPU usage"),
    "console.charts.memory": M(ko="메모리 사용률", en="Memory usage"),
    "console.charts.memory_series": M(ko="메모리", en="memory"),
    "console.charts.group": M(ko="할당 그룹: {name} ({group})", en="Allocation group: {name} ({group})"),
    "console.charts.group_cpu": M(ko="CPU 사용량 (코어 수)", en="CPU use (cores)"),
    "console.charts.group_memory": M(ko="메모리 사용 / 할당 {size}", en="Memory used / budget of {size}"),
    "console.charts.no_members": M(ko="운영 계획서가 이 그룹의 구성원(members)을 지정하지 않아 측정하지 않습니다.",
                                   en="Not measured: the plan names no members for this group."),
    "console.charts.gpu": M(ko="GPU {gpu} · {name}", en="GPU {gpu} · {name}"),
    "console.charts.gpu_util": M(ko="GPU 사용률", en="GPU utilisation"),
    "console.charts.gpu_memory": M(ko="GPU 메모리 사용률", en="GPU memory use"),
    "console.charts.gpu_temperature": M(ko="GPU 온도", en="GPU temperature"),
    "console.charts.service": M(ko="서비스({service})", en="Service {service}"),
    "console.charts.services": M(ko="서비스", en="Services"),
    "console.charts.no_services": M(ko="운영 계획서에 감시할 서비스가 없습니다.",
                                    en="The plan names no services to watch."),
    "console.charts.p95": M(ko="p95 응답 시간", en="p95 response time"),
    "console.charts.errors": M(ko="에러율", en="Error rate"),
    "console.charts.throughput": M(ko="처리량 (초당 요청)", en="Throughput (requests per second)"),
    "console.charts.users": M(ko="동시접속자", en="Concurrent users"),
    "console.charts.connections": M(ko="연결 수", en="Connections"),
    "console.charts.connected": M(ko="연결", en="connected"),
    "console.charts.max_connections": M(ko="최대 연결", en="max_connections"),
    # the backups page (web/console/backups.py, backups_view.py)
    "console.nav.backups": M(ko="백업", en="Backups"),
    "console.backups.title": M(ko="백업", en="Backups"),
    "console.backups.viewer_note": M(ko="조회자는 백업을 시작하거나 검증할 수 없습니다.",
                                     en="A viewer cannot start or verify backups."),
    "console.backups.database": M(ko="데이터베이스 (MariaDB) 백업", en="Database (MariaDB) backups"),
    "console.backups.next": M(ko="다음 예약 백업: {time}", en="Next scheduled backup: {time}"),
    "console.backups.retention": M(
        ko="보관 기간: {days}일 (이 기간의 어느 시점으로든 복원할 수 있도록 기간 시작 전 마지막 전체 백업부터 보관)",
        en="Retention: {days} days (kept from the last full backup before the window, so any moment in it can be "
           "restored)"),
    "console.backups.chain_rule": M(ko="체인 하나에 증분 백업 최대 {n}개", en="At most {n} incrementals per chain"),
    "console.backups.running": M(ko="백업 진행 중입니다. 끝나면 이 목록에 표시됩니다.",
                                 en="A backup is running; it shows in this list when it ends."),
    "console.backups.reload": M(ko="새로 고침", en="Reload"),
    "console.backups.empty": M(ko="아직 백업이 없습니다. 첫 백업은 {time}에 실행됩니다.",
                               en="No backup yet: the first runs at {time}."),
    "console.backups.empty_operator": M(
        ko="아직 백업이 없습니다. 첫 백업은 {time}에 실행되며, 아래 버튼으로 지금 시작할 수도 있습니다.",
        en="No backup yet: the first runs at {time}, or now with the button below."),
    "console.backups.run": M(ko="지금 백업", en="Back up now"),
    "console.backups.run_note": M(ko="전체 백업인지 증분 백업인지는 계획서에 따라 정해집니다.",
                                  en="The plan decides whether it is a full or an incremental backup."),
    "console.backups.col.id": M(ko="번호", en="ID"),
    "console.backups.col.kind": M(ko="종류", en="Kind"),
    "console.backups.col.started": M(ko="시작", en="Started"),
    "console.backups.col.duration": M(ko="소요 시간", en="Took"),
    "console.backups.col.size": M(ko="크기", en="Size"),
    "console.backups.col.status": M(ko="상태", en="Status"),
    "console.backups.col.verify": M(ko="검증", en="Verified"),
    "console.backups.col.actions": M(ko="조치", en="Actions"),
    "console.backups.chain": M(ko="체인: 전체 백업 {id}부터", en="Chain from full backup {id}"),
    "console.backups.chain_gone": M(ko="체인: 전체 백업 {id}부터 (전체 백업은 보관 기간 밖)",
                                    en="Chain from full backup {id} (the full is no longer kept)"),
    "console.backups.chain_current": M(ko=" · 현재 체인", en=" · current chain"),
    "console.backups.lone_failed": M(ko="체인에 들어가지 않은 실패한 시도", en="A failed attempt, in no chain"),
    "console.backups.verifying": M(ko="검증 중", en="verifying"),
    "console.backups.not_verified": M(ko="검증 안 함", en="not verified"),
    "console.backups.verified_ok": M(ko="검증 통과 ({time})", en="verified ({time})"),
    "console.backups.verified_failed": M(ko="검증 실패 ({time})", en="verification failed ({time})"),
    "console.backups.verify": M(ko="검증", en="Verify"),
    "console.backups.verify_unfinished": M(ko="검증을 끝내지 못함 (결과 기록 없음)",
                                           en="the verify did not finish (no result recorded)"),
    "console.backups.reason.access_denied": M(ko="MariaDB 로그인 거부 (백업 사용자와 비밀번호 확인 필요)",
                                              en="MariaDB refused the login (check the backup user and password)"),
    "console.backups.reason.no_connection": M(ko="MariaDB에 접속할 수 없음", en="cannot connect to MariaDB"),
    "console.backups.reason.no_base": M(ko="증분 백업의 기준이 될 백업이 없음",
                                        en="no backup to build an incremental on"),
    "console.backups.reason.chain_rule": M(ko="백업 체인 규칙 위반 (LSN 불일치)",
                                           en="the chain rule was broken (the LSNs do not match)"),
    "console.backups.reason.mariabackup": M(ko="mariabackup 실행 오류", en="mariabackup failed"),
    "console.backups.verify_reason.hash": M(ko="저장된 파일이 기록된 해시와 다름 (손상 또는 변경)",
                                            en="a stored file does not match its recorded hash (damaged or changed)"),
    "console.backups.verify_reason.missing": M(ko="저장된 파일이 없음", en="a stored file is missing"),
    "console.backups.verify_reason.size": M(ko="저장된 파일의 크기가 기록과 다름",
                                            en="a stored file's size differs from the catalog"),
    "console.backups.verify_reason.no_files": M(ko="카탈로그에 저장된 파일 기록이 없음",
                                                en="the catalog lists no stored files"),
    "console.backups.verify_reason.not_ok": M(ko="정상 완료된 백업이 아님", en="the backup did not finish ok"),
    "console.backups.verify_reason.other": M(ko="검증 실패", en="verification failed"),
    "console.backups.notice.started": M(ko="백업을 시작했습니다. 끝나면 아래 목록에 표시됩니다.",
                                        en="Backup started; it shows in the list below when it ends."),
    "console.backups.notice.already": M(ko="백업이 이미 진행 중이어서 새로 시작하지 않았습니다.",
                                        en="A backup is already running; no new one was started."),
    "console.backups.notice.verifying": M(ko="백업 {id:을} 검증하고 있습니다. 끝나면 결과가 목록에 표시됩니다.",
                                          en="Verifying backup {id}; the result shows in the list when it ends."),
    "console.backups.notice.verify_already": M(ko="백업 {id:은} 이미 검증 중입니다.",
                                               en="Backup {id} is already being verified."),
    "console.backups.binlogs": M(ko="바이너리 로그 보관과 목표 복구 시점 (RPO)", en="Binary log archive and RPO"),
    "console.backups.binlogs_off_plan": M(
        ko="계획서에서 바이너리 로그 보관이 꺼져 있습니다 (backup.database.binlog_archive). "
           "마지막 백업 시점까지만 복원할 수 있습니다.",
        en="Binary log archiving is off in the plan (backup.database.binlog_archive): restores reach the last "
           "backup only."),
    "console.backups.log_bin_off": M(
        ko="서버가 바이너리 로그를 기록하지 않아 (log_bin OFF) 시점 복구를 할 수 없습니다.",
        en="The server writes no binary logs (log_bin OFF): point-in-time recovery is not possible."),
    "console.backups.binlog_files": M(ko="보관 중인 바이너리 로그: 파일 {count}개, {size}",
                                      en="Archived binary logs: {count} files, {size}"),
    "console.backups.binlog_newest": M(ko="가장 최근 이벤트: {time}", en="newest event: {time}"),
    "console.backups.binlog_last_pass": M(ko="마지막 보관: {time}", en="last archived: {time}"),
    "console.backups.binlog_none": M(ko="아직 보관한 바이너리 로그가 없습니다.", en="No binary log archived yet."),
    "console.backups.binlog_failed": M(ko="마지막 바이너리 로그 보관 실패: {time}",
                                       en="The last binary log archiving failed: {time}"),
    "console.backups.restorable": M(ko="복원할 수 있는 가장 최근 시점: {time}", en="Newest restorable moment: {time}"),
    "console.backups.models": M(ko="AI 모델 백업", en="AI model backups"),
    "console.backups.keep_versions": M(ko="모델마다 최근 버전 {n}개 보관 (버전이 바뀌면 백업)",
                                       en="The newest {n} versions of each model are kept (backed up when it changes)"),
    "console.backups.versions_kept": M(ko="보관 중인 버전 {count}개 (최대 {n}개)",
                                       en="{count} of at most {n} versions kept"),
    "console.backups.models_none": M(ko="계획서에 백업할 모델이 없습니다 (backup.models.models).",
                                     en="The plan lists no model to back up (backup.models.models)."),
    "console.backups.model_empty": M(ko="아직 백업된 버전이 없습니다.", en="No version backed up yet."),
    "console.backups.last_failed": M(ko="마지막 백업 실패 ({time}): {reason}",
                                     en="The last backup failed ({time}): {reason}"),
    "console.backups.col.version": M(ko="버전", en="Version"),
    "console.backups.col.created": M(ko="백업 시각", en="Backed up"),
    "console.backups.col.files": M(ko="파일 수", en="Files"),
    "console.backups.config": M(ko="설정 백업 (Git)", en="Configuration backups (Git)"),
    "console.backups.config_rule": M(
        ko="{duration}마다 변경을 확인하여 바뀌면 커밋하고, 매일 한 번 전체를 확인합니다 (다음: {time}). "
           "기록은 영구 보관합니다.",
        en="Checked for changes every {duration} and committed when something changed; a full pass daily "
           "(next: {time}). The history is kept forever."),
    "console.backups.config_none": M(ko="계획서에 설정 경로가 없습니다 (backup.config.paths).",
                                     en="The plan lists no configuration path (backup.config.paths)."),
    "console.backups.config_empty": M(ko="아직 설정 커밋이 없습니다. 다음 전체 확인은 {time}에 실행됩니다.",
                                      en="No configuration commit yet: the next daily pass runs at {time}."),
    "console.backups.config_files": M(ko="변경 파일 {count}개", en="files changed: {count}"),
    "console.backups.config_unreadable": M(ko="설정 기록을 읽을 수 없음",
                                           en="The configuration history cannot be read"),
    "console.backups.paths": M(ko="대상 경로", en="Paths"),
    "console.backups.col.commit": M(ko="커밋", en="Commit"),
    "console.backups.col.time": M(ko="시각", en="Time"),
    "console.backups.col.changes": M(ko="변경", en="Changes"),
    # the runbooks page (web/console/runbooks.py)
    "console.nav.runbooks": M(ko="복구 절차", en="Runbooks"),
    "console.runbooks.title": M(ko="복구 절차", en="Runbooks"),
    "console.runbooks.runs": M(ko="실행 기록", en="Runs"),
    "console.runbooks.empty": M(ko="아직 실행 기록이 없습니다.", en="No runbook has run yet."),
    "console.runbooks.live": M(ko="진행 중인 실행은 몇 초마다 새로 고칩니다.",
                               en="Runs in progress refresh every few seconds."),
    "console.runbooks.reload": M(ko="새로 고침", en="Reload"),
    "console.runbooks.col.run": M(ko="실행", en="Run"),
    "console.runbooks.col.kind": M(ko="종류", en="Kind"),
    "console.runbooks.col.actor": M(ko="실행자", en="Started by"),
    "console.runbooks.col.started": M(ko="시작", en="Started"),
    "console.runbooks.col.finished": M(ko="종료", en="Finished"),
    "console.runbooks.col.status": M(ko="상태", en="Status"),
    "console.runbooks.col.took": M(ko="소요", en="Took"),
    "console.runbooks.col.steps": M(ko="단계", en="Steps"),
    "console.runbooks.col.step": M(ko="단계", en="Step"),
    "console.runbooks.col.output": M(ko="출력", en="Output"),
    "console.runbooks.col.reason": M(ko="사유", en="Reason"),
    "console.runbooks.steps_done": M(ko="단계 {count}개 완료", en="{count} steps done"),
    "console.runbooks.now_in": M(ko="진행 중: {step}", en="now: {step}"),
    "console.runbooks.run_title": M(ko="실행 {id}", en="Run {id}"),
    "console.runbooks.arguments": M(ko="실행 인자", en="Arguments"),
    "console.runbooks.steps": M(ko="단계별 진행", en="Steps"),
    "console.runbooks.no_steps": M(ko="아직 기록된 단계가 없습니다.", en="No step is recorded yet."),
    "console.runbooks.back": M(ko="실행 기록으로 돌아가기", en="Back to the runs"),
    "console.runbooks.phase.undo": M(ko="되돌리기", en="undo"),
    "console.runbooks.phase.finally": M(ko="마무리 작업", en="clean-up"),
    "console.runbooks.measured": M(ko="백업 복구 테스트 측정 결과", en="What the drill measured"),
    "console.runbooks.measure.figure": M(ko="항목", en="Figure"),
    "console.runbooks.measure.value": M(ko="측정값", en="Measured"),
    "console.runbooks.measure.target": M(ko="목표", en="Target"),
    "console.runbooks.measure.result": M(ko="결과", en="Result"),
    "console.runbooks.measure.rto": M(ko="RTO (검증된 복원까지 걸린 시간)", en="RTO (time to a verified restore)"),
    "console.runbooks.measure.rpo": M(ko="RPO (복원한 가장 최근 시점의 경과 시간)",
                                      en="RPO (age of the newest restored point)"),
    "console.runbooks.measure.service": M(ko="서비스 가능까지 걸린 시간", en="Time to service"),
    "console.runbooks.measure.met": M(ko="목표 충족", en="target met"),
    "console.runbooks.measure.missed": M(ko="목표 미달", en="target missed"),
    "console.runbooks.measure.none": M(ko="측정 안 됨 (복원이 끝나지 않음)",
                                       en="not measured (the restore did not finish)"),
    "console.runbooks.measure.tables": M(ko="테이블 {checked}개 검사, 실패 {failed}개",
                                         en="{checked} tables checked, {failed} failed"),
    "console.runbooks.actions": M(ko="실행", en="Start"),
    "console.runbooks.viewer_note": M(ko="조회자는 복구 절차를 실행할 수 없습니다.",
                                      en="A viewer cannot start a runbook."),
    "console.runbooks.operator_note": M(ko="데이터베이스 복원은 관리자만 시작할 수 있습니다.",
                                        en="Only an admin can start a database restore."),
    "console.runbooks.drill_now": M(ko="지금 백업 복구 테스트 실행", en="Run a drill now"),
    "console.runbooks.drill_note": M(
        ko="최신 백업을 임시 서버에 복원해 검증하고 RTO와 RPO를 측정합니다. "
           "운영 중인 데이터베이스는 건드리지 않습니다.",
        en="Restores the newest backup into a scratch server, checks it and measures RTO and RPO; the running "
           "database is not touched."),
    "console.runbooks.drill_started": M(ko="백업 복구 테스트를 시작했습니다. 몇 초 안에 실행 기록에 나타납니다.",
                                        en="The drill has started; it appears in the runs within a few seconds."),
    "console.runbooks.drill_already": M(ko="백업 복구 테스트가 이미 실행 중이어서 새로 시작하지 않았습니다.",
                                        en="A drill is already running; no new one was started."),
    "console.runbooks.drill_unavailable": M(ko="이 서버는 데이터베이스 백업 복구 테스트를 실행하지 않습니다.",
                                            en="This server runs no database drill."),
    "console.runbooks.restore_title": M(ko="데이터베이스 복원", en="Restore the database"),
    "console.runbooks.restore_warning": M(
        ko="운영 중인 데이터베이스를 중지하고 백업으로 교체합니다. 복원 위치를 지정하면 그 디렉터리에 복원하고 "
           "운영 중인 데이터베이스는 건드리지 않습니다.",
        en="Stops the running database and replaces it with a backup. With a target directory the backup is "
           "restored there instead and the running database is not touched."),
    "console.runbooks.restore.backup": M(ko="백업 번호 (비우면 최신 백업)", en="Backup ID (empty: the newest)"),
    "console.runbooks.restore.target": M(ko="복원 위치 디렉터리 (비우면 운영 중인 데이터 디렉터리)",
                                         en="Target data directory (empty: the live one, in place)"),
    "console.runbooks.restore.password": M(ko="본인 비밀번호 (다시 입력)", en="Your password, again"),
    "console.runbooks.restore.confirm": M(ko="확인을 위해 서버 이름 {name:을} 그대로 입력하십시오",
                                          en="To confirm, type the server's name, {name}, exactly"),
    "console.runbooks.restore.start": M(ko="복원 시작", en="Start the restore"),
    "console.runbooks.refused.password": M(ko="비밀번호가 틀려 복원을 시작하지 않았습니다.",
                                           en="Wrong password: the restore was not started."),
    "console.runbooks.refused.throttled": M(
        ko="비밀번호 확인 실패가 너무 많아 복원을 시작하지 않았습니다. 잠시 후 다시 시도하십시오.",
        en="Too many wrong passwords: the restore was not started. Try again later."),
    "console.runbooks.refused.confirmation": M(ko="입력한 이름이 서버 이름과 달라 복원을 시작하지 않았습니다.",
                                               en="The name typed is not the server's name: the restore was not "
                                                  "started."),
    "console.runbooks.refused.backup": M(ko="백업 번호는 양의 정수여야 합니다.",
                                         en="The backup ID must be a positive whole number."),
    "console.runbooks.refused.target": M(ko="복원 위치는 절대 경로여야 합니다.",
                                         en="The target directory must be an absolute path."),
    "console.runbooks.refused.busy": M(ko="이 콘솔에서 시작한 복원(실행 {id})이 아직 진행 중입니다.",
                                       en="A restore started from this console (run {id}) is still running."),
    "console.runbooks.refused.cannot": M(ko="복원을 시작할 수 없습니다.", en="The restore cannot start."),
    "console.runbooks.detail": M(ko="상세: {detail}", en="Detail: {detail}"),
    "console.runbooks.actor.console": M(ko="{user} (콘솔에서 요청)", en="{user} (from the console)"),
    "console.runbooks.actor.schedule": M(ko="정기 일정 (opsplan serve)", en="the schedule (opsplan serve)"),
    # --- the Plan page (web/console/plan_page.py), the API docs link, the Account page (web/identity/account.py) ---
    "console.nav.plan": M(ko="운영 계획", en="Plan"),
    "console.nav.api_docs": M(ko="API 문서", en="API docs"),
    "console.plan.title": M(ko="운영 계획", en="Operations plan"),
    "console.plan.read_only": M(ko="이 서버가 실행 중인 운영 계획서입니다 (읽기 전용). "
                                   "바꾸려면 서버의 계획 파일을 고치고 `opsplan plan check` 후 "
                                   "`opsplan serve`를 다시 시작하십시오.",
                                en="The plan this server runs (read-only). To change it, edit the plan file on the "
                                   "server, run `opsplan plan check`, then restart `opsplan serve`."),
    "console.plan.check": M(ko="검증 결과", en="Validation"),
    "console.plan.valid": M(ko="운영 계획에 문제가 없습니다.", en="The plan is valid."),
    "console.plan.problems": M(ko="문제 {count}개를 찾았습니다.", en="Problems found: {count}."),
    "console.plan.check_note": M(
        ko="`opsplan plan check`와 같은 검사를 이 서버의 환경 변수와 파일로 지금 실행한 결과입니다.",
        en="The checks of `opsplan plan check`, run now against this server's environment and files."),
    "console.plan.summary": M(ko="요약", en="Summary"),
    "console.plan.server": M(ko="서버", en="Server"),
    "console.plan.server_name": M(ko="이름", en="Name"),
    "console.plan.server_kind": M(ko="유형", en="Kind"),
    "console.plan.server_cpu": M(ko="CPU", en="CPU"),
    "console.plan.server_gpu": M(ko="GPU", en="GPUs"),
    "console.plan.gpu_count": M(ko="{model} {count}개", en="{count} × {model}"),
    "console.plan.server_memory": M(ko="메모리", en="Memory"),
    "console.plan.server_storage": M(ko="스토리지", en="Storage"),
    "console.plan.server_timezone": M(ko="시간대", en="Time zone"),
    "console.plan.groups": M(ko="리소스 할당", en="Resource allocation"),
    "console.plan.col_group": M(ko="그룹", en="Group"),
    "console.plan.col_memory": M(ko="메모리 할당량", en="Memory budget"),
    "console.plan.col_storage": M(ko="스토리지 할당량", en="Storage budget"),
    "console.plan.col_paths": M(ko="경로", en="Paths"),
    "console.plan.services": M(ko="감시 대상 서비스", en="Services watched"),
    "console.plan.col_service": M(ko="서비스", en="Service"),
    "console.plan.col_probe": M(ko="상태 확인 주소", en="Health probe"),
    "console.plan.col_timeout": M(ko="제한 시간", en="Timeout"),
    "console.plan.no_services": M(ko="감시 대상 서비스가 없습니다.", en="No services are watched."),
    "console.plan.backups": M(ko="백업과 점검 일정", en="Backup and check schedules"),
    "console.plan.col_target": M(ko="대상", en="Target"),
    "console.plan.col_schedule": M(ko="일정", en="Schedule"),
    "console.plan.col_retention": M(ko="보관 기간", en="Retention"),
    "console.plan.backup_db_incremental": M(ko="MariaDB 증분 백업", en="MariaDB incremental backup"),
    "console.plan.backup_db_full": M(ko="MariaDB 전체 백업", en="MariaDB full backup"),
    "console.plan.backup_models": M(ko="모델 백업", en="Model backup"),
    "console.plan.backup_config": M(ko="설정 백업", en="Configuration backup"),
    "console.plan.on_change": M(ko="버전이 바뀔 때 ({duration}마다 확인)",
                                en="on version change (checked every {duration})"),
    "console.plan.on_change_daily": M(ko="바뀔 때 ({duration}마다 확인), 매일 `{cron}`",
                                      en="on change (checked every {duration}), daily at `{cron}`"),
    "console.plan.keep_versions": M(ko="버전 {count}개", en="{count} versions"),
    "console.plan.keep_forever": M(ko="영구", en="forever"),
    "console.plan.check_daily": M(ko="일일 점검", en="Daily check"),
    "console.plan.check_weekly": M(ko="주간 점검", en="Weekly check"),
    "console.plan.check_monthly": M(ko="월간 점검", en="Monthly check"),
    "console.plan.check_quarterly": M(ko="분기 점검", en="Quarterly check"),
    "console.plan.thresholds": M(ko="임계값", en="Thresholds"),
    "console.plan.col_item": M(ko="항목", en="Item"),
    "console.plan.col_for": M(ko="지속 시간", en="For"),
    "console.plan.th_cpu": M(ko="CPU 사용률", en="CPU usage"),
    "console.plan.th_memory": M(ko="메모리 사용률", en="Memory usage"),
    "console.plan.th_disk": M(ko="디스크 사용률", en="Disk usage"),
    "console.plan.th_gpu_temperature": M(ko="GPU 온도", en="GPU temperature"),
    "console.plan.th_gpu_memory": M(ko="GPU 메모리 사용률", en="GPU memory usage"),
    "console.plan.th_group_memory": M(ko="그룹 메모리 (할당량 대비)", en="Group memory (of its budget)"),
    "console.plan.th_api_error_rate": M(ko="API 에러율", en="API error rate"),
    "console.plan.th_api_response_time": M(ko="API 응답시간", en="API response time"),
    "console.plan.secrets": M(ko="비밀 값의 출처", en="Where secrets come from"),
    "console.plan.secrets_note": M(
        ko="비밀 값은 환경 변수 이름과 파일 경로로만 표시합니다. 값은 이 페이지에서 읽지도 표시하지도 않습니다.",
        en="Secrets are shown by the name of their variable or file only; their values are neither read for "
           "this page nor shown."),
    "console.plan.col_secret": M(ko="비밀 값", en="Secret"),
    "console.plan.col_env": M(ko="환경 변수", en="Environment variable"),
    "console.plan.col_file": M(ko="파일", en="File"),
    "console.plan.col_state": M(ko="상태", en="State"),
    "console.plan.secret_db_password": M(ko="MariaDB 비밀번호", en="MariaDB password"),
    "console.plan.secret_api_token": M(ko="공유 API 토큰 (사용 중단 예정)", en="Shared API token (deprecated)"),
    "console.plan.secret_state_db_url": M(ko="상태 DB 접속 주소", en="State database URL"),
    "console.plan.secret_tls_key": M(ko="TLS 개인 키", en="TLS private key"),
    "console.plan.secret_channel": M(ko="알림 채널 {channel}의 주소", en="URL of notification channel {channel}"),
    "console.plan.secret_from_env": M(ko="환경 변수에 설정됨", en="set in the environment"),
    "console.plan.secret_from_file": M(ko="파일 있음", en="file present"),
    "console.plan.secret_file_missing": M(ko="파일 없음", en="file missing"),
    "console.plan.secret_unset": M(ko="설정 안 됨", en="not set"),
    "console.plan.effective": M(ko="적용 중인 운영 계획", en="Effective plan"),
    "console.plan.effective_note": M(
        ko="`opsplan plan show`가 출력하는 내용과 같습니다: 기본값을 모두 채웠고, "
           "주소에 들어 있는 비밀번호와 토큰은 ***로 가렸습니다.",
        en="What `opsplan plan show` prints: every default filled in; a password or token inside a URL is "
           "masked as ***."),
    "console.account.title": M(ko="계정 설정", en="Account"),
    "console.account.open": M(ko="계정 설정", en="Account settings"),
    "console.account.language": M(ko="콘솔 언어", en="Console language"),
    "console.account.language_legend": M(ko="페이지를 표시할 언어", en="The language pages are shown in"),
    "console.account.language_default": M(ko="운영 계획서의 언어 따르기 (지금은 {plan_lang})",
                                          en="The plan's language (now {plan_lang})"),
    "console.account.save": M(ko="저장", en="Save"),
    "console.account.done_language": M(ko="콘솔 언어를 저장했습니다.", en="Console language saved."),
    "console.account.password": M(ko="비밀번호 변경", en="Change password"),
    "console.account.password_note": M(
        ko="새 비밀번호는 12자 이상이어야 합니다. 바꾸면 이 세션을 뺀 다른 세션은 모두 종료됩니다.",
        en="The new password needs at least 12 characters. Changing it ends every other session of yours; "
           "this one stays."),
    "console.account.current_password": M(ko="현재 비밀번호", en="Current password"),
    "console.account.new_password": M(ko="새 비밀번호", en="New password"),
    "console.account.repeat_password": M(ko="새 비밀번호 확인", en="Repeat the new password"),
    "console.account.change_password": M(ko="비밀번호 변경", en="Change password"),
    "console.account.done_password": M(ko="비밀번호를 바꿨습니다. 다른 세션은 모두 종료했습니다.",
                                       en="Password changed; your other sessions were ended."),
    "console.account.totp": M(ko="2단계 인증 (TOTP)", en="Two-step login (TOTP)"),
    "console.account.totp_is_off": M(ko="2단계 인증을 사용하지 않습니다. 켜려면 현재 비밀번호를 입력하십시오.",
                                     en="Two-step login is off. Enter your current password to turn it on."),
    "console.account.totp_is_on": M(ko="2단계 인증을 사용 중입니다. 끄려면 현재 비밀번호와 인증 코드를 입력하십시오.",
                                    en="Two-step login is on. To turn it off, enter your password and a code."),
    "console.account.totp_start": M(ko="2단계 인증 켜기", en="Turn on two-step login"),
    "console.account.totp_scan": M(
        ko="인증 앱으로 QR 코드를 찍거나 아래 비밀 키를 입력한 뒤, 앱에 나온 6자리 코드로 확인하십시오. "
           "10분 안에 확인하지 않으면 처음부터 다시 시작해야 합니다.",
        en="Scan the QR code with an authenticator app, or type the secret below into it, then confirm with "
           "the 6-digit code it shows. Confirm within 10 minutes, or start again."),
    "console.account.totp_secret": M(ko="비밀 키", en="Secret"),
    "console.account.totp_qr": M(ko="인증 앱에 등록할 QR 코드", en="QR code for an authenticator app"),
    "console.account.totp_link": M(ko="등록 주소", en="Link"),
    "console.account.totp_code": M(ko="인증 앱의 6자리 코드", en="The 6-digit code from the app"),
    "console.account.totp_confirm": M(ko="확인하고 켜기", en="Confirm and turn on"),
    "console.account.totp_start_again": M(ko="등록 시간이 지났거나 시작하지 않았습니다. 처음부터 다시 시작하십시오.",
                                          en="No enrolment is waiting (it expired, or was never started): "
                                             "start again."),
    "console.account.totp_on_now": M(ko="2단계 인증을 켰습니다", en="Two-step login is on"),
    "console.account.recovery_note": M(
        ko="복구 코드입니다. 인증 앱을 쓸 수 없을 때 코드 대신 한 번씩 쓸 수 있습니다. 다시 표시하지 않으니 "
           "지금 안전한 곳에 보관하십시오. 다른 세션은 모두 종료했습니다.",
        en="Your recovery codes: each works once instead of a code when the app is not at hand. They are not "
           "shown again: keep them somewhere safe now. Your other sessions were ended."),
    "console.account.totp_disable": M(ko="2단계 인증 끄기", en="Turn off two-step login"),
    "console.account.done_totp_off": M(ko="2단계 인증을 껐습니다. 복구 코드는 더 이상 쓸 수 없습니다.",
                                       en="Two-step login is off; the recovery codes no longer work."),
    "identity.bad_language": M(ko="없는 언어입니다: '{lang}'. 다음 중 하나를 쓰십시오 ({known}).",
                               en="No language '{lang}': use one of {known}."),
    "identity.wrong_password": M(ko="현재 비밀번호가 틀렸습니다.", en="The current password is wrong."),
    "identity.password_throttled": M(ko="비밀번호를 너무 많이 틀렸습니다. 잠시 후 다시 시도하십시오.",
                                     en="Too many wrong passwords. Try again later."),
    "identity.wrong_code": M(ko="인증 코드가 틀렸거나 이미 사용한 코드입니다.",
                             en="The code is wrong, or was already used."),
    "identity.totp_not_on": M(ko="2단계 인증을 사용하고 있지 않습니다.", en="Two-step login is not on."),
    "help.cmd.user_language": M(ko="사용자의 콘솔 언어를 정합니다: `ko`, `en`, `default` (운영 계획서의 언어).",
                                en="Set a user's console language: ko, en, or default (the plan's)."),
    "help.user.language": M(ko="언어: `ko`, `en`, `default`", en="Language: ko, en or default"),
    "identity.cli.language_set": M(ko="{name}의 콘솔 언어를 정했습니다: {lang}.",
                                   en="Set {name}'s console language: {lang}."),
    # the periodic checks (opsplan/checks/)
    "checks.not_run": M(ko="실행하지 못함", en="not run"),
    "checks.reason.no_evaluator": M(ko="점검 항목 `{item}`의 평가기가 없습니다",
                                    en="no evaluator for check item {item}"),
    "checks.reason.evaluator_error": M(ko="평가 중 오류: {error}", en="the evaluation failed: {error}"),
    "checks.plan.unknown_item": M(ko="알 수 없는 점검 항목 `{item}` (가능한 항목: {known})",
                                  en="unknown check item {item!r} (known: {known})"),
    # the state database command (opsplan/cli/db_cmd.py) and its length checks (issue 15)
    "help.db": M(ko="상태 데이터베이스: 스키마를 최신 리비전으로 올리고, 스키마의 현재 리비전을 봅니다.",
                 en="The state database: migrate its schema to the newest revision, see where it stands."),
    "help.cmd.db_migrate": M(ko="상태 데이터베이스의 모든 스키마 가지를 최신 리비전으로 올립니다.",
                             en="Migrate every branch of the state database's schema to its newest revision."),
    "help.cmd.db_status": M(ko="스키마 가지마다 현재 리비전과 최신 리비전을 출력합니다. "
                               "하나라도 뒤처져 있으면 종료 코드 3입니다.",
                            en="Print each schema branch's current and newest revision; exit 3 if one is behind."),
    "db.cli.where": M(ko="상태 데이터베이스: {url}", en="State database: {url}"),
    "db.cli.migrated": M(ko="스키마 가지 {n}개가 모두 최신 리비전입니다.",
                         en="All {n} schema branches are at their newest revision."),
    "db.cli.columns": M(ko="가지|현재 리비전|최신 리비전|상태", en="branch|current|newest|state"),
    "db.cli.none": M(ko="(없음)", en="(none)"),
    "db.cli.at_head": M(ko="최신", en="up to date"),
    "db.cli.behind": M(ko="뒤처짐", en="behind"),
    "db.cli.behind_hint": M(ko="`opsplan db migrate`로 스키마를 최신 리비전으로 올리십시오.",
                            en="Run `opsplan db migrate` to bring the schema up to date."),
    "alerts.error.ack_by_too_long": M(ko="확인한 사람 이름(--by)은 {n}자 이하여야 합니다.",
                                      en="An acknowledgement's name (--by) is at most {n} characters."),
    "alerts.error.author_too_long": M(ko="알림 중지 작성자 이름은 {n}자 이하여야 합니다.",
                                      en="A silence's author is at most {n} characters."),
}


# --- particles ------------------------------------------------------------------------------------
# A Korean particle depends on the sound the word before it ends with (KOREAN.md rule 2): a
# placeholder names the particle as its format spec, `{host:이}`, and `t` writes the value with the
# right one of each pair (`{host:이}` -> "db1이", "gpu가"). The first of a pair follows a final consonant.
PARTICLES: Final = {"을": ("을", "를"), "이": ("이", "가"), "은": ("은", "는"), "과": ("과", "와"),
                    "으로": ("으로", "로")}
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # the final ㄹ, after which 으로 is written 로
# How a digit or a Latin letter is read aloud, by its final consonant: None (a vowel), "ㄹ" or "other".
_DIGIT_FINAL = {"0": "other", "1": "ㄹ", "3": "other", "6": "other", "7": "ㄹ", "8": "ㄹ"}
_LETTER_FINAL = {"l": "ㄹ", "r": "ㄹ", "m": "other", "n": "other"}
_TRAILING = " )]}'\"`.,:;!?%"


def _final_consonant(word: str) -> str | None:
    """The final consonant the last readable character of `word` is said with: None, "ㄹ" or "other"."""
    stripped = word.rstrip(_TRAILING) or word
    last = stripped[-1:] if stripped else ""
    if not last:
        return None
    code = ord(last)
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        final = (code - _HANGUL_FIRST) % 28
        return None if final == 0 else ("ㄹ" if final == _RIEUL else "other")
    if last.isdigit():
        return _DIGIT_FINAL.get(last)
    return _LETTER_FINAL.get(last.lower())


def particle(word: object, which: str) -> str:
    """`word` with the particle `which` (을, 이, 은, 과 or 으로) in the form its last sound takes:
    particle("MariaDB", "이") -> "MariaDB가", particle("서버", "을") -> "서버를",
    particle("1시간", "으로") -> "1시간으로", particle("파일", "으로") -> "파일로"."""
    try:
        after_consonant, after_vowel = PARTICLES[which]
    except KeyError:
        raise ValueError(f"unknown particle {which!r}: one of {', '.join(PARTICLES)}") from None
    text = str(word)
    final = _final_consonant(text)
    if which == "으로":
        return text + (after_consonant if final == "other" else after_vowel)
    return text + (after_consonant if final is not None else after_vowel)


class _CatalogueFormatter(string.Formatter):
    """str.format, plus a particle as a format spec: `{name:을}`."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec in PARTICLES:
            return particle(value, format_spec)
        return super().format_field(value, format_spec)


_FORMATTER: Final = _CatalogueFormatter()


def t(key: str, language: str = "en", **values: object) -> str:
    """The text of `key` in `language` ("ko" or "en"), with `values` filled into its placeholders.

    An unknown key raises `UnknownMessage` (a KeyError naming the key): there is no silent
    fallback to another key or language. Any language other than "ko" or "en" raises ValueError;
    the plan (`language`) and the status page (`?lang=`) only ever pass those two.
    Without values the text is returned as written (no `str.format`).
    """
    try:
        entry = MESSAGES[key]
    except KeyError:
        raise UnknownMessage(key) from None
    text = entry.get(language)
    return _FORMATTER.vformat(text, (), values) if values else text


def template(key: str, language: str = "en") -> str:
    """The text of `key` as written, its placeholders unfilled: for a library that fills them
    itself (typer's "No such command {name!r}.")."""
    return t(key, language)
