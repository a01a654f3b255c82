"""Topics, SCRAM users and ACLs derived from the directory, converged idempotently.

Each agency may write only to the inbound topics, read only its own delivery topic
and the (public) directory, and use only consumer groups named ``<ID>.*``. The
processors read the inbound topics and write the delivery, audit, dead-letter and link
topics; operators read audit and dead letters and describe everything. Running this
twice changes nothing; removing an agency removes its user and every ACL it had.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from corridor.config import Settings
from corridor.domain import AGENCY_ID, AgencyStatus, Directory
from corridor.logs import log_event
from corridor.principals import (
    Grant,
    create_grants,
    delete_scram_user,
    grants_of,
    revoke_all,
    upsert_scram_user,
)
from corridor.topics import (
    ACKS_INBOUND,
    AUDIT,
    DELIVERY_PREFIX,
    DIRECTORY,
    DLQ,
    INBOUND,
    LINKS,
    TopicSpec,
    delivery_topic,
    ensure_topics,
    platform_topics,
)
from corridor.workspace import OPERATOR_PRINCIPAL, PROCESSOR_PRINCIPAL, Workspace, agency_principal

LOG = logging.getLogger("corridor.provisioning")
T, G, X, C = (
    ResourceType.TOPIC,
    ResourceType.GROUP,
    ResourceType.TRANSACTIONAL_ID,
    ResourceType.BROKER,
)
R, W, D = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE


def agency_group_prefix(agency_id: str) -> str:
    return f"{agency_id}."


def agency_grants(agency_id: str) -> list[Grant]:
    user = agency_principal(agency_id)
    grants = [Grant(user, T, topic, op) for topic in (INBOUND, ACKS_INBOUND) for op in (W, D)]
    grants += [Grant(user, T, delivery_topic(agency_id), op) for op in (R, D)]
    grants += [Grant(user, T, DIRECTORY, op) for op in (R, D)]
    grants += [Grant(user, G, agency_group_prefix(agency_id), R, prefixed=True)]
    return grants


def processor_grants(app_id: str) -> list[Grant]:
    user = PROCESSOR_PRINCIPAL
    grants = [Grant(user, T, t, op) for t in (INBOUND, ACKS_INBOUND, DIRECTORY) for op in (R, D)]
    grants += [Grant(user, T, DELIVERY_PREFIX, op, prefixed=True) for op in (W, D)]
    grants += [Grant(user, T, t, op) for t in (DLQ, AUDIT, LINKS) for op in (W, D)]
    # faust keeps its tables in changelog topics named after the app, and its groups.
    grants += [Grant(user, T, app_id, AclOperation.ALL, prefixed=True)]
    grants += [Grant(user, G, app_id, AclOperation.ALL, prefixed=True)]
    grants += [Grant(user, G, f"{PROCESSOR_PRINCIPAL}.", R, prefixed=True)]
    grants += [Grant(user, X, app_id, op, prefixed=True) for op in (W, D)]
    grants += [Grant(user, C, "kafka-cluster", AclOperation.IDEMPOTENT_WRITE)]
    grants += [Grant(user, C, "kafka-cluster", AclOperation.DESCRIBE_CONFIGS)]
    return grants


def operator_grants() -> list[Grant]:
    user = OPERATOR_PRINCIPAL
    grants = [
        Grant(user, T, t, op) for t in (AUDIT, DLQ, LINKS, DIRECTORY, ACKS_INBOUND) for op in (R, D)
    ]
    grants += [Grant(user, T, "corridor", D, prefixed=True)]
    grants += [Grant(user, G, "*", D)]
    grants += [Grant(user, G, f"{OPERATOR_PRINCIPAL}.", R, prefixed=True)]
    return grants


@dataclass
class ProvisionReport:
    topics_created: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    users_removed: list[str] = field(default_factory=list)
    acls_removed: int = 0
    suspended: list[str] = field(default_factory=list)


def _key(b: AclBinding) -> tuple[object, ...]:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.operation, b.permission_type)


def _converge_acls(admin: AdminClient, principal: str, grants: Iterable[Grant]) -> int:
    """Create what is missing and delete what is no longer wanted; returns deletions."""
    wanted = {_key(g.binding()): g for g in grants}
    existing = {_key(b): b for b in grants_of(admin, principal)}
    create_grants(admin, [g for k, g in wanted.items() if k not in existing])
    stale = [b for k, b in existing.items() if k not in wanted]
    if stale:
        filters = [
            AclBindingFilter(
                b.restype,
                b.name,
                b.resource_pattern_type,
                b.principal,
                b.host,
                b.operation,
                b.permission_type,
            )
            for b in stale
        ]
        for future in admin.delete_acls(filters).values():
            future.result(timeout=30)
    return len(stale)


def _existing_agency_users(admin: AdminClient) -> set[str]:
    described = admin.describe_user_scram_credentials()
    users = described.result(timeout=30) if hasattr(described, "result") else described
    return {str(user) for user in users if AGENCY_ID.match(str(user))}


def replication_for(admin: AdminClient, settings: Settings) -> tuple[int, int]:
    replicas = settings.topics.replication_factor
    if replicas <= 0:
        brokers = len(admin.list_topics(timeout=10).brokers)
        replicas = 3 if brokers >= 3 else 1
    return replicas, (2 if replicas >= 3 else 1)


def provision(
    admin: AdminClient, workspace: Workspace, directory: Directory, settings: Settings
) -> ProvisionReport:
    """Bring the cluster in line with ``directory``."""
    report = ProvisionReport()
    replicas, min_isr = replication_for(admin, settings)
    specs = platform_topics(partitions=settings.topics.partitions) + [
        TopicSpec(
            delivery_topic(agency_id),
            settings.topics.delivery_partitions,
            {"retention.ms": str(30 * 86400000)},
        )
        for agency_id in directory.agencies
    ]
    report.topics_created = ensure_topics(
        admin, specs, replication_factor=replicas, min_insync_replicas=min_isr
    )

    principals = [
        (
            PROCESSOR_PRINCIPAL,
            workspace.principal_path(PROCESSOR_PRINCIPAL),
            processor_grants(settings.processor.app_id),
        ),
        (OPERATOR_PRINCIPAL, workspace.principal_path(OPERATOR_PRINCIPAL), operator_grants()),
    ]
    for agency in directory.agencies.values():
        active = agency.status is AgencyStatus.ACTIVE
        if not active:
            report.suspended.append(agency.id)
        principals.append(
            (
                agency_principal(agency.id),
                workspace.agency_connection_path(agency.id),
                agency_grants(agency.id) if active else [],
            )
        )
    for user, path, grants in principals:
        password = workspace.password_for(path)
        upsert_scram_user(admin, user, password)
        workspace.save_principal(path, user, password)
        report.acls_removed += _converge_acls(admin, user, grants)
        report.users.append(user)

    for gone in sorted(_existing_agency_users(admin) - set(directory.agencies)):
        report.acls_removed += revoke_all(admin, gone)
        delete_scram_user(admin, gone)
        workspace.agency_connection_path(gone).unlink(missing_ok=True)
        report.users_removed.append(gone)
        log_event(LOG, "agency_removed", agency=gone)
    return report


__all__ = [
    "ProvisionReport",
    "ResourcePatternType",
    "agency_grants",
    "agency_group_prefix",
    "operator_grants",
    "processor_grants",
    "provision",
]
