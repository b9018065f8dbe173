"""What a GuardDuty finding says happened, as OCSF evidences: the principal, the
action (one evidence per action type), the runtime process and its container, and
the actors and endpoints of an attack sequence."""
from __future__ import annotations

from weft.detect.core import kubernetes, ocsf
from weft.detect.core.fields import dig, integer, items, millis, obj, text

_USER_TYPES = {"Root": ocsf.ADMIN, "IAMUser": ocsf.USER, "AssumedRole": ocsf.SERVICE, "Role": ocsf.SERVICE,
               "FederatedUser": ocsf.USER, "AWSService": ocsf.SYSTEM}


def principal(r: dict) -> dict | None:
    """The AWS principal (access key details) or, for Kubernetes findings, the Kubernetes user."""
    key = obj(r, "resource", "accessKeyDetails")
    if key:
        user_type = text(key, "userType")
        return ocsf.user(name=text(key, "userName"), uid=text(key, "principalId"), type=user_type,
                         type_id=_USER_TYPES.get(user_type or ""), credential_uid=text(key, "accessKeyId"),
                         account=ocsf.account(text(r, "accountId"), ocsf.AWS_ACCOUNT))
    k8s_user = obj(r, "resource", "kubernetesDetails", "kubernetesUserDetails")
    return ocsf.user(name=text(k8s_user, "username"), uid=text(k8s_user, "uid"), type="Kubernetes User",
                     groups=[g for g in items(k8s_user, "groups") if isinstance(g, str)])


def remote(details: dict, port: int | None = None) -> dict | None:
    asn = integer(details, "organization", "asn")
    return ocsf.endpoint(ip=text(details, "ipAddressV4") or text(details, "ipAddressV6"), port=port,
                         country=text(details, "country", "countryCode"), city=text(details, "city", "cityName"),
                         place=text(details, "country", "countryName"),
                         asn=asn, asn_org=text(details, "organization", "asnOrg"),
                         isp=text(details, "organization", "isp"))


def action(act: dict, user: dict | None) -> list[dict | None]:
    """One evidence per action the finding carries (normally one)."""
    out: list[dict | None] = []
    actor = ocsf.actor(user=user)
    call = obj(act, "awsApiCallAction")
    if call:
        out.append(ocsf.evidence(
            actor=actor, api=ocsf.api(text(call, "api"), service=text(call, "serviceName"),
                                      error=text(call, "errorCode")),
            src_endpoint=remote(obj(call, "remoteIpDetails")) or
            ocsf.endpoint(domain=text(call, "domainDetails", "domain"))))
    conn = obj(act, "networkConnectionAction")
    if conn:
        local = ocsf.endpoint(ip=text(conn, "localIpDetails", "ipAddressV4") or
                              text(conn, "localIpDetails", "ipAddressV6"),
                              port=integer(conn, "localPortDetails", "port"))
        far = remote(obj(conn, "remoteIpDetails"), integer(conn, "remotePortDetails", "port"))
        inbound = text(conn, "connectionDirection") == "INBOUND"
        out.append(ocsf.evidence(connection_info=ocsf.connection(text(conn, "connectionDirection"),
                                                                 text(conn, "protocol")),
                                 src_endpoint=far if inbound else local, dst_endpoint=local if inbound else far))
    for probe in items(act, "portProbeAction", "portProbeDetails"):
        out.append(ocsf.evidence(
            connection_info=ocsf.connection("INBOUND", None), src_endpoint=remote(obj(probe, "remoteIpDetails")),
            dst_endpoint=ocsf.endpoint(ip=text(probe, "localIpDetails", "ipAddressV4"),
                                       port=integer(probe, "localPortDetails", "port"))))
    dns = obj(act, "dnsRequestAction")
    if text(dns, "domain"):
        out.append(ocsf.evidence(query={"hostname": text(dns, "domain")},
                                 connection_info=ocsf.connection(None, text(dns, "protocol"))))
    out.append(_kubernetes_call(obj(act, "kubernetesApiCallAction"), actor))
    login = obj(act, "rdsLoginAttemptAction")
    if login:
        out.append(ocsf.evidence(actor=actor, src_endpoint=remote(obj(login, "remoteIpDetails"))))
    return out


def _kubernetes_call(call: dict, actor: dict | None) -> dict | None:
    if not call:
        return None
    source_ips = items(call, "sourceIps") or items(call, "sourceIPs")
    source = remote(obj(call, "remoteIpDetails")) or ocsf.endpoint(ip=next(iter(source_ips), None))
    return ocsf.evidence(actor=actor, api=ocsf.api(text(call, "verb"), service="kubernetes",
                                                  code=integer(call, "statusCode")),
                         src_endpoint=source, url=ocsf.compact(path=text(call, "requestUri")) or None)


def kubernetes_api_target(call: dict) -> list[dict | None]:
    """The object a Kubernetes API call was made on ("pods" "planner-1" in "agents")."""
    if not (text(call, "resource") and text(call, "resourceName")):
        return []
    return [kubernetes.k8s_object(text(call, "resource"), text(call, "resourceName"),
                                  namespace=text(call, "namespace"), role_id=ocsf.ROLE_TARGET)]


def runtime(service: dict, resource: dict) -> dict | None:
    """The process Runtime Monitoring saw, in its container, with the rest of its context."""
    details = obj(service, "runtimeDetails")
    if not details:
        return None
    p = obj(details, "process")
    workload = obj(resource, "kubernetesDetails", "kubernetesWorkloadDetails")
    container_details = obj(resource, "containerDetails") or dig(workload, "containers", 0) or {}
    lineage = [text(a, "executablePath") or text(a, "name") or text(a, "ancestorName") for a in items(p, "lineage")]
    process = ocsf.process(
        name=text(p, "name"), pid=integer(p, "pid"), path=text(p, "executablePath"),
        sha256=text(p, "executableSha256"), uid=text(p, "uuid"), cwd=text(p, "pwd"),
        created_time=millis(p, "startTime"), namespace_pid=integer(p, "namespacePid"),
        user=ocsf.user(name=text(p, "user"), uid=text(p, "userId")),
        lineage=[name for name in lineage if name],
        parent=ocsf.process(uid=text(p, "parentUuid")))
    return ocsf.evidence(process=process, container=_container(container_details, workload),
                         data=obj(details, "context") or None)


def _container(c: dict, workload: dict) -> dict | None:
    return ocsf.container(uid=text(c, "id"), name=text(c, "name"), runtime=text(c, "containerRuntime"),
                          image=ocsf.image(text(c, "image"), text(c, "imageUid")),
                          orchestrator="Kubernetes" if workload else None)


def sequence(seq: dict) -> list[dict | None]:
    """Extended Threat Detection: each actor (principal and session) and each endpoint."""
    out: list[dict | None] = []
    for a in items(seq, "actors"):
        u, s = obj(a, "user"), obj(a, "session")
        user = ocsf.user(name=text(u, "name"), uid=text(u, "uid"), type=text(u, "type"),
                         credential_uid=text(u, "credentialUid"),
                         account=ocsf.account(text(u, "account", "uid"), ocsf.AWS_ACCOUNT,
                                              text(u, "account", "account")))
        mfa = text(s, "mfaStatus")
        session = ocsf.session(issuer=text(s, "issuer"), uid=text(s, "uid"), created_time=millis(s, "createdTime"),
                               is_mfa=None if mfa is None else mfa == "ENABLED")
        proc = obj(a, "process")
        # OCSF wants a pid or uid for a process; a sequence actor's process has neither
        process = ocsf.process(name=text(proc, "name"), path=text(proc, "path"), sha256=text(proc, "sha256"))
        out.append(ocsf.evidence(actor=ocsf.actor(user=user, session=session, process=process),
                                 uid=text(a, "id")))
    for e in items(seq, "endpoints"):
        point = ocsf.endpoint(ip=text(e, "ip"), domain=text(e, "domain"), port=integer(e, "port"),
                              country=text(e, "location", "country"), city=text(e, "location", "city"),
                              asn=integer(e, "autonomousSystem", "number"),
                              asn_org=text(e, "autonomousSystem", "name"))
        out.append(ocsf.evidence(src_endpoint=point, uid=text(e, "id"),
                                 connection_info=ocsf.connection(text(e, "connection", "direction"), None)))
    return out


def sequence_resources(seq: dict) -> list[dict | None]:
    return [ocsf.resource(uid=text(r, "uid"), name=text(r, "name"), type=text(r, "resourceType"),
                          region=text(r, "region"), cloud_partition=text(r, "cloudPartition"),
                          role_id=ocsf.ROLE_AFFECTED)
            for r in items(seq, "resources")]
