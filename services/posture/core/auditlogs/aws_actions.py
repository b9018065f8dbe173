"""CloudTrail's eventSource + eventName -> the IAM action(s) that authorise the call.

Most calls map mechanically ("s3.amazonaws.com" + "GetObject" -> "s3:GetObject"). The
exceptions below are where a service's IAM prefix is not the first label of its
endpoint, where an API version is appended to the event name (Lambda's
"ListFunctions20150331"), and where a service authorises an operation with an action
of another name (Amazon S3's table of "API operations and the permissions they
require"; Lambda's Invoke; KMS ReEncrypt needing two actions)."""
from __future__ import annotations

import re

_PREFIXES = {
    "monitoring.amazonaws.com": "cloudwatch",
    "email.amazonaws.com": "ses",
    "tagging.amazonaws.com": "tag",
    "streams.dynamodb.amazonaws.com": "dynamodb",
    "runtime.lex.amazonaws.com": "lex",
    "models.lex.amazonaws.com": "lex",
    "runtime.sagemaker.amazonaws.com": "sagemaker",
}
_RENAMED: dict[str, dict[str, tuple[str, ...]]] = {
    "s3": {
        "HeadObject": ("GetObject",), "HeadBucket": ("ListBucket",),
        "ListObjects": ("ListBucket",), "ListObjectsV2": ("ListBucket",),
        "ListObjectVersions": ("ListBucketVersions",), "ListBuckets": ("ListAllMyBuckets",),
        "CopyObject": ("PutObject",), "CreateMultipartUpload": ("PutObject",), "UploadPart": ("PutObject",),
        "UploadPartCopy": ("PutObject",), "CompleteMultipartUpload": ("PutObject",),
        "DeleteObjects": ("DeleteObject",), "ListMultipartUploads": ("ListBucketMultipartUploads",),
        "ListParts": ("ListMultipartUploadParts",),
        "GetBucketEncryption": ("GetEncryptionConfiguration",), "PutBucketEncryption": ("PutEncryptionConfiguration",),
        "DeleteBucketEncryption": ("PutEncryptionConfiguration",),
        "GetBucketLifecycle": ("GetLifecycleConfiguration",),
        "GetBucketLifecycleConfiguration": ("GetLifecycleConfiguration",),
        "PutBucketLifecycle": ("PutLifecycleConfiguration",),
        "PutBucketLifecycleConfiguration": ("PutLifecycleConfiguration",),
        "DeleteBucketLifecycle": ("PutLifecycleConfiguration",),
        "GetBucketReplication": ("GetReplicationConfiguration",),
        "PutBucketReplication": ("PutReplicationConfiguration",),
        "DeleteBucketReplication": ("PutReplicationConfiguration",), "DeleteBucketTagging": ("PutBucketTagging",),
        "GetBucketCors": ("GetBucketCORS",), "PutBucketCors": ("PutBucketCORS",),
        "DeleteBucketCors": ("PutBucketCORS",),
        "GetBucketNotificationConfiguration": ("GetBucketNotification",),
        "PutBucketNotificationConfiguration": ("PutBucketNotification",),
    },
    "lambda": {"Invoke": ("InvokeFunction",), "InvokeWithResponseStream": ("InvokeFunction",)},
    "kms": {"ReEncrypt": ("ReEncryptFrom", "ReEncryptTo")},
}
_API_VERSION = re.compile(r"^([A-Za-z]+?)(\d{8}(v\d+)?)$")
_NOT_AUTHORISED = {("sts", "GetCallerIdentity")}   # calls IAM does not authorise


def iam_prefix(event_source: str) -> str:
    return _PREFIXES.get(event_source, event_source.split(".", 1)[0])


def iam_actions(event_source: str, event_name: str) -> tuple[str, ...]:
    """The IAM actions for a call; () when the call needs none or the input is empty."""
    if not event_source or not event_name:
        return ()
    prefix = iam_prefix(event_source)
    name = match.group(1) if (match := _API_VERSION.match(event_name)) else event_name
    if (prefix, name) in _NOT_AUTHORISED:
        return ()
    return tuple(f"{prefix}:{action}" for action in _RENAMED.get(prefix, {}).get(name, (name,)))
