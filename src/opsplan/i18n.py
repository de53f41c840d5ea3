"""One message catalogue for everything opsplan says to a person, in Korean and English.

Program output (CLI lines, runbook step output and titles, notifications, the status page,
reports) is looked up here by key with `t(key, language, **values)`; nothing else in the source
pairs Korean and English inline. What the operator writes in the plan (alert rule summaries,
allocation group names, recovery step titles) is plan data, the plan's own `Text` type, and
stays in the plan.

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
    "status.never": M(ko="아직 없음", en="not yet"),
    "status.groups": M(ko="리소스 할당 그룹", en="Allocation groups"),
    "status.gpus": M(ko="GPU", en="GPUs"),
    "status.gpu_missing": M(ko="보이지 않음", en="missing"),
    "status.utilization": M(ko="사용률", en="Utilization"),
    "status.memory": M(ko="메모리", en="Memory"),
    "status.storage": M(ko="스토리지", en="Storage"),
    "status.temperature": M(ko="온도", en="Temperature"),
    "status.power": M(ko="전력", en="Power"),
    "status.system": M(ko="시스템", en="System"),
    "status.cpu": M(ko="CPU", en="CPU"),
    "status.swap": M(ko="스왑", en="Swap"),
    "status.alerts": M(ko="알림", en="Alerts"),
    "status.no_alerts": M(ko="발생 중인 알림 없음", en="No alert is firing"),
    "status.acknowledged": M(ko="확인됨", en="acknowledged"),
    "status.silenced": M(ko="알림 중지", en="silenced"),
    "status.backups": M(ko="백업", en="Backups"),
    "status.no_backups": M(ko="아직 백업 없음", en="No backup yet"),
    "status.backup_ok": M(ko="성공", en="ok"),
    "status.backup_failed": M(ko="실패", en="failed"),
    "status.network": M(ko="네트워크", en="Network"),
    "status.gpus_seen": M(ko="보이는 GPU / 계획상 GPU", en="GPUs visible / in the plan"),
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
    "serve.started": M(ko="opsplan 실행 중: {url}", en="opsplan serving on {url}"),
    "serve.stopped": M(ko="opsplan 종료", en="opsplan stopped"),
    "serve.degraded": M(ko="상태 데이터베이스를 열 수 없어 모니터링 전용 모드로 시작합니다. "
                           "알림은 메모리에서 계속 처리합니다.\n상세: {reason}",
                        en="the state database cannot be opened: starting in monitoring-only mode "
                           "(alerts go on from memory): {reason}"),
    "serve.public_bind": M(
        ko="경고: {bind}에서 접속을 받습니다. 조회에는 인증이 없으므로 이 주소에 접속할 수 있는 누구나 상태를 볼 수 있습니다.",
        en="warning: binding to {bind}; reading needs no authentication, anyone who reaches it can read the status.",
    ),
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
    "drill.step.prepare": M(ko="전체 백업 준비와 증분 백업 적용 (prepare)", en="Prepare the full and apply each incremental"),
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
        ko="보관 기간 {days}일 밖: 기간 시작 시점은 전체 백업 {base}({when})로 복구할 수 있음",
        en="outside the {days}-day recovery window: full backup {base} ({when}) covers its start"),
    "backup.prune.none": M(ko="삭제할 백업 없음", en="nothing to prune"),
    "backup.prune.would": M(ko="삭제 예정", en="would remove"),
    "backup.prune.removed": M(ko="삭제함", en="removed"),
    "backup.db.done": M(ko="데이터베이스 백업 {id} ({kind}) 완료: {size}, {seconds:.0f}초",
                        en="database backup {id} ({kind}) ok: {size} in {seconds:.0f}s"),
    "backup.list.empty": M(ko="데이터베이스 백업 없음", en="no database backups"),
    "backup.list.title": M(ko="데이터베이스 백업 체인", en="Database backup chains"),
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
    "backup.verify.deep": M(ko="해시 + prepare", en="hashes + prepare"),
    "backup.check.ok": M(ko="정상", en="ok"),
    "backup.check.problem": M(ko="문제", en="problem"),
    "export.done": M(ko="{out}에 파일 {n}개를 썼습니다. 이전 내보내기에서 남은 파일 {removed}개는 삭제했습니다.",
                     en="wrote {n} files under {out} ({removed} left over from an earlier export removed)"),
    # notifications (src/opsplan/notify)
    "notify.severity.critical": M(ko="Critical", en="CRITICAL"),
    "notify.severity.warning": M(ko="Warning", en="WARNING"),
    # {alert} is the rule's name: a Korean title leads with the rule's summary and names the rule in
    # parentheses (KOREAN.md rule 5); an English one names the rule (notify/render.py picks by language).
    "notify.headline.summary_first": M(ko="{summary} ({alert}{subject})", en="{summary} ({alert}{subject})"),
    "notify.headline.name_first": M(ko="{alert}{subject}", en="{alert}{subject}"),
    "notify.headline.resolved": M(ko="{alert}{subject} 알림 해결", en="{alert}{subject}"),
    "notify.title.firing": M(ko="[{severity}] {headline} ({host})",
                             en="[{severity}] {headline} ({host})"),
    "notify.title.repeat": M(ko="[{severity}] (반복, 미확인) {headline} ({host})",
                             en="[{severity}] (repeat, unacknowledged) {headline} ({host})"),
    "notify.title.resolved": M(ko="[해결] {headline} ({host})",
                               en="[RESOLVED] {headline} ({host})"),
    # A resolved notice says so in its own words: never the firing summary (KOREAN.md rule 7).
    "notify.resolved.body": M(ko="{alert:이} 해결되어 정상 범위로 돌아왔습니다.",
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
    "notify.ack_hint": M(ko="확인할 때까지 알림을 반복해서 보냅니다. 확인 방법: 콘솔 또는 opsplan alerts ack",
                         en="Repeats until acknowledged: in the console or with opsplan alerts ack"),
    "notify.test.title": M(ko="[opsplan] 알림 채널 테스트: {channel}", en="[opsplan] channel test: {channel}"),
    "notify.test.body": M(ko="{host}의 opsplan이 보낸 테스트 메시지입니다. 시각: {time}\n콘솔: {url}",
                          en="A test message from opsplan on {host} at {time}.\nConsole: {url}"),
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
    "alerts.stale": M(ko="주의: {time} 이후 알림을 평가하지 않았습니다. opsplan serve가 멈춘 것으로 보이며 "
                         "아래 상태는 최신이 아닐 수 있습니다.",
                      en="stale: alerts have not been evaluated since {time}; opsplan serve seems to be stopped "
                         "and the states below may be out of date"),
    "alerts.never_evaluated": M(ko="주의: 알림을 평가한 기록이 없습니다. opsplan serve가 실행된 적이 없으며 "
                                   "아래 상태는 최신이 아닐 수 있습니다.",
                                en="stale: no record of alerts ever being evaluated (opsplan serve has not run); "
                                   "the states below may be out of date"),
    "alerts.host": M(ko="호스트 전체", en="whole host"),
    "alerts.columns": M(ko="지문|알림|심각도|상태|값|임계값|시작|비고",
                        en="Fingerprint|Alert|Severity|State|Value|Threshold|Since|Notes"),
    "alerts.state.pending": M(ko="대기", en="pending"),
    "alerts.state.firing": M(ko="발생", en="firing"),
    "alerts.state.resolved": M(ko="해결", en="resolved"),
    "alerts.inhibited": M(ko="Critical 알림에 가려짐", en="inhibited by critical"),
    "alerts.silenced": M(ko="알림 중지 {ids}", en="silenced {ids}"),
    "alerts.acked": M(ko="확인: {by} {at}", en="acked by {by} {at}"),
    "alerts.acked_done": M(ko="알림 {fingerprint} 확인 처리함 (확인자: {by})", en="alert {fingerprint} acknowledged by {by}"),
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
    "runbook.resume_undo": M(ko="{title}: 실행 {id} 되돌리기 중 중단됨: 남은 되돌리기를 계속합니다",
                             en="{title}: run {id} died while undoing: finishing the undo"),
    "runbook.step.ok": M(ko="{label}: 완료 ({seconds:.1f}초)", en="{label}: ok ({seconds:.1f}s)"),
    "runbook.step.failed": M(ko="{label}: 실패 ({seconds:.1f}초): {reason}",
                             en="{label}: FAILED ({seconds:.1f}s): {reason}"),
    "runbook.undo.label": M(ko="[되돌리기 {n}/{total}] {title}", en="[undo {n}/{total}] {title}"),
    "runbook.undo_failed": M(ko="되돌리기에 실패했습니다: {steps}. 시스템이 일부만 복구된 상태일 수 있으니 "
                                "직접 확인하십시오.",
                             en="UNDO FAILED: {steps}. The system may be half restored: check it by hand"),
    "runbook.confirm": M(ko="'{step}' 단계는 되돌리기 어려운 작업입니다. 계속할까요?",
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
    "restore.db.healthy": M(ko="데이터베이스가 {user:으로} 로그인에 응답합니다", en="database answers as {user}"),
    "restore.db.pruned": M(ko="이전 데이터 디렉터리 삭제: {paths}", en="removed previous datadir(s): {paths}"),
    # why a runbook step failed (errors raised with errors.said, quoted in the plan's language)
    "reason.no_backup_to_drill": M(ko="카탈로그에 성공한 데이터베이스 백업이 없어 테스트할 수 없습니다. 먼저 백업하십시오",
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
    "reason.not_a_datadir": M(ko="{path:은} MariaDB 데이터 디렉터리가 아닙니다 (mysql 스키마 없음)",
                              en="{path} is not a MariaDB datadir (no mysql schema)"),
    "reason.target_not_empty": M(ko="--target-datadir {path:이} 비어 있지 않습니다. 새 디렉터리나 빈 디렉터리를 "
                                    "지정하십시오",
                                 en="--target-datadir {path} is not empty; name a new or empty directory"),
    "reason.failed": M(ko="실패", en="failed"),
    "reason.check_failed": M(ko="검증 실패", en="check failed"),
    "reason.interrupted": M(ko="운영자가 중단함 (Ctrl-C)", en="interrupted by the operator (Ctrl-C)"),
    "reason.interrupted_undoing": M(ko="되돌리는 중 중단됨", en="interrupted while undoing"),
    "reason.undo_failed": M(ko="{reason}; 되돌리기 실패: {steps}", en="{reason}; UNDO FAILED: {steps}"),
    # model rollback (src/opsplan/runbooks/rollback/model.py)
    "restore.model.title": M(ko="모델 롤백", en="Model rollback"),
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
