"""SCRAM users and ACLs on the cluster, through the Kafka admin API.

The broker denies everything that no ACL allows; these helpers are how the platform
(never a person at a console) grants each principal exactly what it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from corridor.exceptions import CorridorError

SCRAM_ITERATIONS = 8192


class ProvisioningError(CorridorError):
    """A user or ACL change was refused by the cluster."""


@dataclass(frozen=True, slots=True)
class Grant:
    """Allow ``principal`` to do ``operation`` on a resource (a name or a name prefix)."""

    principal: str
    resource_type: ResourceType
    name: str
    operation: AclOperation
    prefixed: bool = False

    def binding(self) -> AclBinding:
        return AclBinding(
            self.resource_type,
            self.name,
            ResourcePatternType.PREFIXED if self.prefixed else ResourcePatternType.LITERAL,
            f"User:{self.principal}",
            "*",
            self.operation,
            AclPermissionType.ALLOW,
        )


def upsert_scram_user(admin: AdminClient, user: str, password: str, timeout: float = 30.0) -> None:
    upsertion = UserScramCredentialUpsertion(
        user,
        ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
        password.encode("utf-8"),
    )
    for name, future in admin.alter_user_scram_credentials([upsertion]).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            raise ProvisioningError(f"could not set the SCRAM credential of {name}: {exc}") from exc


def delete_scram_user(admin: AdminClient, user: str, timeout: float = 30.0) -> None:
    deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
    for name, future in admin.alter_user_scram_credentials([deletion]).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if "RESOURCE_NOT_FOUND" in str(exc):
                continue
            raise ProvisioningError(f"could not delete the SCRAM user {name}: {exc}") from exc


def create_grants(admin: AdminClient, grants: Iterable[Grant], timeout: float = 30.0) -> None:
    bindings = [g.binding() for g in grants]
    if not bindings:
        return
    for binding, future in admin.create_acls(bindings, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            raise ProvisioningError(f"could not create the ACL {binding}: {exc}") from exc


def _filter_for(principal: str) -> AclBindingFilter:
    # None is the admin API's wildcard for name and host; the stubs do not say so.
    return AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        f"User:{principal}",
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def grants_of(admin: AdminClient, principal: str, timeout: float = 30.0) -> list[AclBinding]:
    flt = _filter_for(principal)
    result: list[AclBinding] = admin.describe_acls(flt, request_timeout=timeout).result(
        timeout=timeout
    )
    return result


def revoke_all(admin: AdminClient, principal: str, timeout: float = 30.0) -> int:
    """Remove every ACL of ``principal``; returns how many went."""
    flt = _filter_for(principal)
    removed = 0
    for future in admin.delete_acls([flt], request_timeout=timeout).values():
        removed += len(future.result(timeout=timeout))
    return removed
