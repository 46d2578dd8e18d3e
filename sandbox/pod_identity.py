"""EKS Pod Identity, as the EKS Auth service assumes a role for a pod (a stand-in for
CreatePodIdentityAssociation + the Pod Identity Agent + AssumeRoleForPodIdentity, which moto lacks).

An association names (cluster, namespace, service account, role). When a pod of that service
account asks for credentials, the service principal `pods.eks.amazonaws.com` calls
sts:AssumeRole and sts:TagSession on the role, so the role's trust policy must allow both
for that principal (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html). The
request carries six session tags, usable as `aws:RequestTag/...` in the trust policy's
conditions: eks-cluster-arn, eks-cluster-name, kubernetes-namespace, kubernetes-service-account,
kubernetes-pod-name, kubernetes-pod-uid (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html),
and, as for any service acting for an account, aws:SourceAccount (the cluster's account) and
aws:SourceArn (the cluster's ARN)
(https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). An association with
session tags disabled sends none of the six (docs: `disableSessionTags`,
https://docs.aws.amazon.com/eks/latest/APIReference/API_PodIdentityAssociation.html).

The decision is the sandbox's policy evaluation (`iam_decision`) of the role's trust policy as a
resource-based policy for a service principal; allowed, moto's STS makes the session.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sandbox.iam_decision import Caller, Policies, decide
from sandbox.iam_eval import Request

PRINCIPAL = "pods.eks.amazonaws.com"
_CLUSTER_ARN = re.compile(r"^arn:aws[a-z-]*:eks:([a-z0-9-]+):(\d{12}):cluster/([\w-]{1,100})$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

Answer = tuple[int, dict[str, Any]]


def session_context(
    cluster_arn: str, namespace: str, service_account: str, pod: str, tags: bool = True
) -> dict[str, tuple[str, ...]]:
    """The condition keys of the AssumeRole/TagSession request EKS makes for one pod."""
    match = _CLUSTER_ARN.match(cluster_arn)
    if match is None:
        raise ValueError(f"cluster_arn: not an EKS cluster ARN: {cluster_arn!r}")
    for field, value in (("namespace", namespace), ("service_account", service_account)):
        if not _K8S_NAME.match(value):
            raise ValueError(f"{field}: not a Kubernetes name: {value!r}")
    context: dict[str, tuple[str, ...]] = {
        "aws:sourceaccount": (match[2],),
        "aws:sourcearn": (cluster_arn,),
        "aws:securetransport": ("true",),
    }
    if not tags:
        return context
    session = {
        "eks-cluster-arn": cluster_arn,
        "eks-cluster-name": match[3],
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": service_account,
        "kubernetes-pod-name": pod,
        "kubernetes-pod-uid": str(uuid.uuid5(uuid.NAMESPACE_URL, cluster_arn + "/" + pod)),
    }
    context.update({f"aws:requesttag/{k}": (v,) for k, v in session.items()})
    context["aws:tagkeys"] = tuple(session)
    return context


def _trust_policy(role_arn: str) -> tuple[dict[str, Any] | None, str]:
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ValueError(f"role_arn: not an IAM role ARN: {role_arn!r}")
    account, name = match[1], match[2]
    try:
        role = iam_backends[account]["aws"].get_role(name)
    except Exception:  # no such role: nothing to assume
        return None, account
    document = role.assume_role_policy_document
    return (json.loads(document) if isinstance(document, str) else document), account


def assume_for_pod(settings: dict[str, Any], region: str) -> Answer:
    """POST /_sandbox/eks/pod-identity {cluster_arn, namespace, service_account, role_arn
    [, pod_name][, session_tags: false]}: credentials for the pod, or 403 AccessDenied."""
    role_arn = str(settings.get("role_arn") or "")
    cluster_arn = str(settings.get("cluster_arn") or "")
    context = session_context(
        cluster_arn,
        str(settings.get("namespace") or ""),
        str(settings.get("service_account") or ""),
        str(settings.get("pod_name") or "pod-0"),
        tags=settings.get("session_tags", True) is not False,
    )
    trust, account = _trust_policy(role_arn)
    if trust is None:
        return 403, {"code": "AccessDenied", "error": f"role {role_arn} cannot be assumed"}
    policies = Policies(resource=trust, resource_account=account)
    caller = Caller(PRINCIPAL, context["aws:sourceaccount"][0], service=True)
    for action in ("sts:AssumeRole", "sts:TagSession"):
        verdict = decide(policies, caller, Request(action, role_arn, context))
        if verdict.decision != "allow":
            message = f"{PRINCIPAL} is not authorized to perform {action} on {role_arn}"
            return 403, {"code": "AccessDenied", "error": message}
    return 200, {"Credentials": _session(account, region, role_arn, settings)}


def _session(account: str, region: str, role_arn: str, settings: dict[str, Any]) -> dict[str, str]:
    from moto.sts.models import sts_backends

    name = f"eks-{settings.get('pod_name') or 'pod-0'!s}"[:64]
    assumed = sts_backends[account]["aws"].assume_role(region, name, role_arn, "", 3600, "")
    return {
        "AccessKeyId": assumed.access_key_id,
        "SecretAccessKey": assumed.secret_access_key,
        "SessionToken": assumed.session_token,
    }
