"""Amazon GuardDuty findings (the GetFindings / EventBridge `detail` shape) to OCSF.

What was touched comes from `resource` (EC2 instance, EKS cluster and workload, access
key, S3 bucket, RDS, Lambda, ECS, AI models and guardrails); what happened comes from
`service`: the action (API call, network connection, port probe, DNS request,
Kubernetes API call, RDS login), the runtime process, and an Extended Threat Detection
attack sequence. Any finding type converts: unknown types simply map fewer evidences.
"""
from __future__ import annotations

from weft.detect.adapters import guardduty_evidence as evidence
from weft.detect.adapters.registry import Adapter, register
from weft.detect.core import attack, fields, kubernetes, ocsf, severity
from weft.detect.core.fields import dig, items, obj, text
from weft.detect.core.finding import Detection, Product

_ROLES = {"TARGET": ocsf.ROLE_TARGET, "ACTOR": ocsf.ROLE_ACTOR}


@register("guardduty")
class GuardDutyAdapter(Adapter):
    source = "GUARDDUTY"
    title = "GuardDuty finding"

    def recognises(self, record: dict) -> bool:
        service = record.get("service")
        return isinstance(service, dict) and (
            service.get("serviceName") == "guardduty" or ":guardduty:" in str(record.get("arn", "")))

    def convert(self, r: dict) -> Detection:
        finding_type = fields.required_text(r, "type", what="the finding type")
        value = r.get("severity")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or \
                severity.guardduty(value).id == severity.UNKNOWN:
            raise fields.RecordInvalid("/severity", "expected the severity (a number from 1.0 to 10.0), "
                                                    f"found {fields.found_at(r, ('severity',))}")
        service = obj(r, "service")
        archived = service.get("archived") is True
        role = _ROLES.get(str(service.get("resourceRole", "")).upper(), ocsf.ROLE_TARGET)
        resource = obj(r, "resource")
        sequence = obj(service, "detection", "sequence")
        actor = evidence.principal(r)
        return Detection(
            uid=fields.required_text(r, "id", what="the finding id"),
            title=text(r, "title") or finding_type,
            desc=text(r, "description"),
            time=fields.required_millis(r, ("service", "eventFirstSeen"), ("createdAt",), ("updatedAt",),
                                        what="when the activity was first seen"),
            severity=severity.guardduty(value),
            product=Product(self.name, "Amazon GuardDuty", "AWS", text(service, "featureName")),
            event_code=finding_type, uid_alt=text(r, "arn"), types=[finding_type],
            first_seen=fields.millis(service, "eventFirstSeen"), last_seen=fields.millis(service, "eventLastSeen"),
            created=fields.millis(r, "createdAt"), modified=fields.millis(r, "updatedAt"),
            count=fields.integer(service, "count"),
            activity_id=ocsf.ACTIVITY_CLOSE if archived else ocsf.ACTIVITY_CREATE,
            status_id=ocsf.STATUS_ARCHIVED if archived else ocsf.STATUS_NEW,
            cloud=ocsf.cloud("AWS", region=text(r, "region"), partition=text(r, "partition"),
                             account=ocsf.account(text(r, "accountId"), ocsf.AWS_ACCOUNT)),
            actor=ocsf.actor(user=actor),
            device=_device(resource, text(r, "region")),
            resources=[*resources(resource, role, text(r, "region")),
                       *evidence.kubernetes_api_target(obj(service, "action", "kubernetesApiCallAction")),
                       *evidence.sequence_resources(sequence)],
            evidences=[*evidence.action(obj(service, "action"), actor),
                       evidence.runtime(service, resource),
                       *evidence.sequence(sequence)],
            attacks=_attacks(finding_type, sequence),
            raw=r,
        )


def resources(resource: dict, role: int, region: str | None) -> list[dict | None]:
    out: list[dict | None] = []
    instance = obj(resource, "instanceDetails")
    if instance:
        tag_names = {t.get("key"): t.get("value") for t in items(instance, "tags") if isinstance(t, dict)}
        out.append(ocsf.resource(uid=text(instance, "instanceId"), name=tag_names.get("Name"),
                                 type="AWS::EC2::Instance", region=region, role_id=role))
    eks = obj(resource, "eksClusterDetails")
    if eks:
        out.append(kubernetes.cluster(text(eks, "name"), uid=text(eks, "arn"), region=region, role_id=role))
    out.extend(_workload(obj(resource, "kubernetesDetails", "kubernetesWorkloadDetails"), role))
    out.append(kubernetes.service_account_user(text(resource, "kubernetesDetails", "kubernetesUserDetails",
                                                    "username"), ocsf.ROLE_ACTOR))
    key = obj(resource, "accessKeyDetails")
    if resource.get("resourceType") == "AccessKey" and key:
        out.append(ocsf.resource(uid=text(key, "accessKeyId"), name=text(key, "userName"),
                                 type="AWS::IAM::AccessKey", role_id=role))
    for bucket in items(resource, "s3BucketDetails"):
        out.append(ocsf.resource(uid=text(bucket, "arn"), name=text(bucket, "name"), type="AWS::S3::Bucket",
                                 region=region, role_id=role))
    rds = obj(resource, "rdsDbInstanceDetails")
    if rds:
        out.append(ocsf.resource(uid=text(rds, "dbInstanceArn"), name=text(rds, "dbInstanceIdentifier"),
                                 type="AWS::RDS::DBInstance", region=region, role_id=role))
    function = obj(resource, "lambdaDetails")
    if function:
        out.append(ocsf.resource(uid=text(function, "functionArn"), name=text(function, "functionName"),
                                 type="AWS::Lambda::Function", region=region, role_id=role))
    ecs = obj(resource, "ecsClusterDetails")
    if ecs:
        out.append(ocsf.resource(uid=text(ecs, "arn"), name=text(ecs, "name"), type="AWS::ECS::Cluster",
                                 region=region, role_id=role))
    for model in items(resource, "modelDetails"):
        out.append(ocsf.resource(uid=text(model, "modelId"), type="AI Model", region=region, role_id=role))
    guardrails = obj(resource, "bedrockGuardrailDetails")
    for rail in items(guardrails, "guardrails") or [{"arn": guardrails.get("guardrailArn")}]:
        out.append(ocsf.resource(uid=text(rail, "arn"), type="AWS::Bedrock::Guardrail", region=region,
                                 role_id=ocsf.ROLE_RELATED))
    return out


def _workload(workload: dict, role: int) -> list[dict | None]:
    """The workload, its pod when the workload is one, and its service account."""
    namespace = text(workload, "namespace")
    kind = text(workload, "type")
    out = [kubernetes.k8s_object(kind or "Workload", text(workload, "name"), namespace=namespace,
                                 uid=text(workload, "uid"), role_id=role)] if workload else []
    if namespace:
        out.append(kubernetes.k8s_object(kubernetes.NAMESPACE, namespace, role_id=ocsf.ROLE_RELATED))
    account = text(workload, "serviceAccountName")
    if account:
        out.append(kubernetes.k8s_object(kubernetes.SERVICE_ACCOUNT, account, namespace=namespace,
                                         role_id=ocsf.ROLE_RELATED))
    return out


def _device(resource: dict, region: str | None) -> dict | None:
    """The EC2 instance (or EKS node) the finding is about or the process ran on."""
    instance = obj(resource, "instanceDetails")
    interface = dig(instance, "networkInterfaces", 0) or {}
    return ocsf.device(instance_uid=text(instance, "instanceId"), hostname=text(interface, "privateDnsName"),
                       ip=text(interface, "privateIpAddress"), region=region, type_id=6)


def _attacks(finding_type: str, sequence: dict) -> list[dict]:
    """The tactic a finding type's threat purpose names ("CredentialAccess:IAMUser/..."),
    and for an attack sequence the tactics and techniques of its indicators."""
    tactics, techniques = [finding_type.split(":", 1)[0]], []
    for indicator in items(sequence, "sequenceIndicators"):
        values = [v for v in items(indicator, "values") if isinstance(v, str)]
        if indicator.get("key") == "ATTACK_TACTIC":
            tactics.extend(values)
        elif indicator.get("key") == "ATTACK_TECHNIQUE":
            techniques.extend(values)
    return attack.attacks(tactics, techniques)
