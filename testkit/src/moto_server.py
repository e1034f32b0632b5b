# moto_server, with what real AWS does and moto 5.2.5 does not (yet).
#
# S3 checksums: see _verified_checksum below (BadDigest).
#
# S3 ExpectedBucketOwner: real S3 answers 403 AccessDenied when the bucket
# belongs to another account than the request's x-amz-expected-bucket-owner;
# moto ignores the header and serves any account's bucket. With the check the
# two-account bucket-sniping test can tell a guarded client from a naive one.
#
# CloudFormation rollback: when a change set's execution fails, real
# CloudFormation rolls the stack back (UPDATE_ROLLBACK_COMPLETE, or
# ROLLBACK_COMPLETE for a create) and ExecuteChangeSet itself succeeded;
# moto raises from ExecuteChangeSet and leaves the status as it was.
#
# S3 IAM action names: moto authorises HeadBucket as "s3:HeadBucket" (IAM has
# no such action: it is s3:ListBucket), and PutPublicAccessBlock and
# PutBucketEncryption as "s3:CreateBucket"; real IAM checks
# s3:PutBucketPublicAccessBlock and s3:PutEncryptionConfiguration.
#
# Signatures under IAM enforcement: moto recomputes SigV4 from the request as
# it re-parsed it and gets long form bodies (a CloudFormation TemplateBody)
# wrong, answering SignatureDoesNotMatch to a correctly signed request. The
# access key is still looked up (an unknown one is refused); the signature
# check itself is what the real service does and moto cannot.
#
# SQS batch calls: IAM authorises SendMessageBatch as sqs:SendMessage (and
# likewise DeleteMessageBatch, ChangeMessageVisibilityBatch); moto asks for
# actions IAM does not have.
#
# CloudFormation outputs after a change set: real CloudFormation shows a
# stack's outputs as soon as its change set is executed; moto 5.2.5 keeps
# the output map of the template the stack was created with, which for a
# stack created through a change set is empty, so DescribeStacks never shows
# outputs. Build them from the executed template, as an UpdateStack does.
#
# Lambda concurrency: an account has 1,000 concurrent executions and
# reservations must leave 100 unreserved; moto checks that only in
# PutFunctionConcurrency and only with MOTO_LAMBDA_CONCURRENCY_QUOTA set, and
# not at all when CloudFormation updates ReservedConcurrentExecutions.
#
# EventBridge targets: moto 5.2.5 raises NotImplementedError for an SNS
# target (PutEvents then answers 500 whenever a rule aimed at a topic
# matches), and puts an event for a bus in another region through PutEvents
# again, which gives it a new id and time and the receiving region. Real
# EventBridge publishes the event (JSON) to the topic, and routes it to the
# other bus as it is: its region stays the one it happened in.
#
# Account ListRegions: not in moto 5.2.5. Real AWS lists the regions of the
# caller's partition with their opt-in status (ENABLED_BY_DEFAULT, ENABLED,
# DISABLED, ENABLING, DISABLING), filtered by RegionOptStatusContains, in
# pages of MaxResults (1-50). Here: the partition's regions as botocore knows
# them; opt-in regions are DISABLED; without MaxResults a page holds 10, so a
# caller that does not follow NextToken misses regions.
#
# EventBridge bus policies: a rule's target on another account's bus
# delivers only when that bus's resource policy lets the sending account put
# events there (EventBridge's cross-account rule); moto delivers regardless.
# Here a statement allows when its Effect is Allow, its Action covers
# events:PutEvents, its Principal is "*" or the sender's account, and each
# condition it has is one of aws:PrincipalOrgID / aws:PrincipalAccount
# (StringEquals) or aws:PrincipalArn (ArnLike, StringLike: the target's
# RoleArn, the role EventBridge puts the event as; the account's root
# without one) or events:source (StringEquals: the event's source, as the
# EventBridge service authorization reference documents the key for
# PutEvents) and holds for the sender; anything else does not allow.
# moto's CloudFormation does not model AWS::Events::EventBusPolicy: here it
# adds (and on delete removes) its statement on the bus, as PutPermission
# with a Policy statement does.
#
# Delegated administrators: AWS Organizations registers one for StackSets
# (member.org.stacksets.cloudformation.amazonaws.com), which moto 5.2.5 does
# not know. ListRoots and ListAccounts answer the management account or a
# delegated administrator, and refuse (AccessDeniedException) any other
# member; moto answered every member's ListRoots and gave a delegated
# administrator an empty ListAccounts. A StackSet call with CallAs
# DELEGATED_ADMIN from an account not registered for StackSets is refused
# ("Account used is not a delegated administrator"); a delegated
# administrator's service-managed StackSet reaches the organization's
# accounts (moto looked for them in the administrator's own, empty,
# organization backend).
#
# Service-managed StackSets: real StackSets never deploy an instance to the
# organization's management account, even when its OU (or the root) is
# targeted, and they honour DeploymentTargets.AccountFilterType (NONE,
# INTERSECTION, DIFFERENCE, UNION) with DeploymentTargets.Accounts, over the
# targeted OUs and every OU below them. moto 5.2.5 deploys to the management
# account, ignores the filter and looks one OU level down. DeleteStackInstances
# of a service-managed StackSet names its instances by DeploymentTargets;
# moto reads only Accounts, so it deleted nothing and DeleteStackSet then
# refused the StackSet as not empty.
#
# SQS queues updated by CloudFormation: every AWS::SQS::Queue property but
# its name and FifoQueue is updated in place (SetQueueAttributes; "Update
# requires: No interruption" in the resource reference). moto 5.2.5 applies
# only VisibilityTimeout and ReceiveMessageWaitTimeSeconds, so a changed
# MessageRetentionPeriod or RedrivePolicy (maxReceiveCount) was left as
# created.
#
# DynamoDB conditional writes: DynamoDB applies a ConditionExpression and the
# write atomically, whatever else writes the item at the same time. moto's
# server is threaded and evaluates the condition, then writes, with no lock:
# two concurrent UpdateItems on one item could both pass the same condition
# (a 21st slot in a window of the shared send budget). Not observed in a
# race of forty clients, but nothing in moto rules it out. Here every item
# read and write is one critical section, as DynamoDB's per-item
# serialization makes it.
import os
import sys
import threading

os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")

import moto.awslambda.models as lambda_models  # noqa: E402
import moto.cloudformation.models as cfn_models  # noqa: E402

import moto.s3.responses as s3_responses
from moto.s3.exceptions import S3AccessDeniedError
from moto.s3.models import s3_backends


def _expect_owner(handler):
    def guarded(self, request, full_url):
        owner = request.headers.get("x-amz-expected-bucket-owner")
        if owner:
            name = self.parse_bucket_name_from_url(request, full_url)
            where = s3_backends.bucket_accounts.get(name)
            if where is not None and where[1] != owner:
                raise S3AccessDeniedError()
        return handler(self, request, full_url)

    return guarded


_bucket_actions = s3_responses.ACTION_MAP["BUCKET"]
_bucket_actions["HEAD"]["DEFAULT"] = "ListBucket"
_bucket_actions["GET"].update(
    {"encryption": "GetEncryptionConfiguration", "publicAccessBlock": "GetBucketPublicAccessBlock"}
)
_bucket_actions["PUT"].update(
    {"encryption": "PutEncryptionConfiguration", "publicAccessBlock": "PutBucketPublicAccessBlock"}
)
_bucket_actions["DELETE"].update(
    {"encryption": "PutEncryptionConfiguration", "publicAccessBlock": "PutBucketPublicAccessBlock"}
)

# S3 additional checksums: real S3 computes the checksum of the body a
# PutObject carries and answers 400 BadDigest when it differs from the
# x-amz-checksum-<algorithm> value the client sent (header or aws-chunked
# trailer); moto 5.2.5 stores the client's value unchecked, so an object
# could claim a checksum its bytes do not have.
from moto.s3.exceptions import S3ClientError  # noqa: E402
from moto.s3.utils import compute_checksum  # noqa: E402


def _verified_checksum(get_checksum):
    def run(self, response_headers):
        algorithm, value = get_checksum(self, response_headers)
        if not algorithm and self.headers.get("x-amz-checksum-sha256"):
            algorithm, value = "SHA256", self.headers.get("x-amz-checksum-sha256")
        if algorithm and value:
            actual = compute_checksum(self.body or b"", algorithm=algorithm.upper())
            actual = actual.decode("utf-8") if isinstance(actual, bytes) else actual
            if actual != value:
                raise S3ClientError(
                    "BadDigest",
                    f"The {algorithm.upper()} you specified did not match the calculated checksum.",
                )
        return algorithm, value

    return run


s3_responses.S3Response._get_checksum = _verified_checksum(s3_responses.S3Response._get_checksum)

s3_responses.S3Response._bucket_response = _expect_owner(s3_responses.S3Response._bucket_response)
s3_responses.S3Response._key_response = _expect_owner(s3_responses.S3Response._key_response)



def _execute_or_roll_back(execute):
    def run(self, change_set_name, stack_name=None):
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name),
            None,
        )
        try:
            result = execute(self, change_set_name, stack_name)
            if change_set is not None:
                stack = self.stacks[change_set.stack_id]
                stack._parse_template()
                stack.output_map = stack._create_output_map()
            return result
        except Exception as err:  # what real CloudFormation turns into a rollback
            if change_set is None:
                raise
            stack = self.stacks[change_set.stack_id]
            kind = change_set.change_set_type
            reason = getattr(err, "message", None) or str(err)
            failed = "ROLLBACK" if kind == "CREATE" else "UPDATE_ROLLBACK"
            stack._add_stack_event(f"{failed}_IN_PROGRESS", resource_status_reason=reason)
            stack._add_stack_event(f"{failed}_COMPLETE")
            stack.status = f"{failed}_COMPLETE"
            change_set.execution_status = "EXECUTE_FAILED"

    return run


cfn_models.CloudFormationBackend.execute_change_set = _execute_or_roll_back(
    cfn_models.CloudFormationBackend.execute_change_set
)


def _update_with_concurrency(update):
    def run(self, config_updates):
        reserved = config_updates.get("ReservedConcurrentExecutions")
        if reserved is not None:
            backend = lambda_models.lambda_backends[self.account_id][self.region]
            backend.put_function_concurrency(self.function_name, str(reserved))
        return update(self, config_updates)

    return run


lambda_models.LambdaFunction.update_configuration = _update_with_concurrency(
    lambda_models.LambdaFunction.update_configuration
)

import moto.sqs.models as sqs_models  # noqa: E402

_SQS_UPDATABLE_NUMBERS = {
    "DelaySeconds": "delay_seconds",
    "KmsDataKeyReusePeriodSeconds": "kms_data_key_reuse_period_seconds",
    "MaximumMessageSize": "maximum_message_size",
    "MessageRetentionPeriod": "message_retention_period",
}


def _update_queue_in_place(update):
    def run(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        queue = update.__func__(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        properties = cloudformation_json["Properties"]
        for key, attribute in _SQS_UPDATABLE_NUMBERS.items():
            if key in properties:
                setattr(queue, attribute, int(properties[key]))
        if "RedrivePolicy" in properties:
            queue._setup_dlq(properties["RedrivePolicy"])
        return queue

    return classmethod(run)


sqs_models.Queue.update_from_cloudformation_json = _update_queue_in_place(
    sqs_models.Queue.update_from_cloudformation_json
)

import moto.iam.access_control as access_control  # noqa: E402

access_control.IAMRequestBase.check_signature = lambda self: None

import copy  # noqa: E402
import fnmatch  # noqa: E402
import json  # noqa: E402

import moto.events.models as events_models  # noqa: E402
from moto.utilities.arns import parse_arn  # noqa: E402
from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp  # noqa: E402


def _event_for_delivery(event):
    event = copy.deepcopy(event)
    if isinstance(event.get("time"), (int, float)):
        event["time"] = iso_8601_datetime_without_milliseconds(
            utcfromtimestamp(float(event["time"]))
        )
    event.pop("ingestion-time", None)
    return event


from moto.core.common_models import CloudFormationModel  # noqa: E402
import moto.cloudformation.parsing as cfn_parsing  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402


def _org_of(account, partition):
    """The organization id of `account`, or None."""
    backend = organizations_backends[account][partition]
    if backend.org:
        return backend.org.id
    owner = organizations_backends.master_accounts.get(account)
    if owner:
        org = organizations_backends[owner[0]][owner[1]].org
        return org.id if org else None
    return None


def _bus_condition_holds(operator, wanted, fact):
    if fact is None:
        return False
    if operator == "StringEquals":
        return fact in wanted
    if operator in ("ArnLike", "StringLike"):
        return any(fnmatch.fnmatchcase(fact, w) for w in wanted)
    return False


def _statement_allows(statement, sender, partition, role_arn=None, event=None):
    st = statement.describe()
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    if st["Effect"] != "Allow" or not any(a in ("events:PutEvents", "events:*", "*") for a in actions):
        return False
    principal = st["Principal"]
    aws = principal.get("AWS") if isinstance(principal, dict) else principal
    allowed = aws if isinstance(aws, list) else [aws]
    if not any(p == "*" or p == sender or p == f"arn:{partition}:iam::{sender}:root" for p in allowed):
        return False
    facts = {
        "aws:PrincipalOrgID": _org_of(sender, partition),
        "aws:PrincipalAccount": sender,
        "aws:PrincipalArn": role_arn or f"arn:{partition}:iam::{sender}:root",
        "events:source": (event or {}).get("source"),
    }
    for operator, tests in (st.get("Condition") or {}).items():
        for key, wanted in tests.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if not _bus_condition_holds(operator, wanted, facts.get(key)):
                return False
    return True


def _bus_accepts(bus, sender, partition, role_arn=None, event=None):
    return any(
        _statement_allows(st, sender, partition, role_arn, event)
        for st in bus._statements.values()
    )


class _EventBusPolicy(CloudFormationModel):
    # moto's model registry reads the service from the module name.
    __module__ = "moto.events.models"

    def __init__(self, account_id, region_name, bus_name, statement_id):
        self.account_id = account_id
        self.region_name = region_name
        self.bus_name = bus_name
        self.statement_id = statement_id

    @staticmethod
    def cloudformation_name_type():
        return "StatementId"

    @staticmethod
    def cloudformation_type():
        return "AWS::Events::EventBusPolicy"

    @property
    def physical_resource_id(self):
        return self.statement_id

    @classmethod
    def has_cfn_attr(cls, attr):
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        bus_name = props.get("EventBusName", "default")
        statement = dict(props["Statement"], Sid=props["StatementId"])
        bus = events_models.events_backends[account_id][region_name].describe_event_bus(bus_name)
        bus._statements[props["StatementId"]] = events_models.EventBusPolicyStatement.from_dict(statement)
        return cls(account_id, region_name, bus_name, props["StatementId"])

    def delete(self, account_id, region_name):
        bus = events_models.events_backends[account_id][region_name].describe_event_bus(self.bus_name)
        bus.remove_statement(self.statement_id)


# CloudFormation's Ref of an AWS::Events::EventBus is its name; moto 5.2.5
# gives the model object itself, which no property can use.
events_models.EventBus.physical_resource_id = property(lambda self: self.name)

for _cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
    _cached.cache_clear()


def _with_sns_and_bus_targets(send):
    def run(self, original_event, transform_input=True):
        if not self.event_pattern.matches_event(original_event):
            return
        ours, others = [], []
        for target in self.targets:
            arn = parse_arn(target["Arn"])
            if arn.service == "sns" or (
                arn.service == "events" and arn.resource_type == "event-bus"
            ):
                ours.append((target, arn))
            else:
                others.append(target)
        for target, arn in ours:
            if arn.service == "sns":
                from moto.sns.models import sns_backends

                sns_backends[arn.account][arn.region].publish(
                    json.dumps(_event_for_delivery(original_event)), arn=target["Arn"]
                )
            else:
                backend = events_models.events_backends[arn.account][arn.region]
                bus = backend.describe_event_bus(arn.resource_id)
                if arn.account != self.account_id and not _bus_accepts(
                    bus,
                    self.account_id,
                    get_partition(arn.region),
                    target.get("RoleArn"),
                    original_event,
                ):
                    continue  # EventBridge counts a FailedInvocation; nothing arrives
                for rule in list(bus.rules.values()):
                    rule.send_to_targets(copy.deepcopy(original_event))
        if others:
            saved = self.targets
            self.targets = others
            try:
                send(self, original_event, transform_input)
            finally:
                self.targets = saved

    return run


events_models.Rule.send_to_targets = _with_sns_and_bus_targets(
    events_models.Rule.send_to_targets
)

import moto.account.responses as account_responses  # noqa: E402
import moto.account.urls as account_urls  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.ec2.models.availability_zones_and_regions import (  # noqa: E402
    RegionsAndZonesBackend,
)
from moto.core.exceptions import JsonRESTError  # noqa: E402
from boto3 import Session  # noqa: E402


def _partition_regions(partition):
    names = Session().get_available_regions("ec2", partition_name=partition)
    default = RegionsAndZonesBackend.regions_opt_in_not_required
    return [
        {
            "RegionName": name,
            "RegionOptStatus": "ENABLED_BY_DEFAULT"
            if partition != "aws" or name in default
            else "DISABLED",
        }
        for name in sorted(names)
    ]


def _list_regions(self):
    wanted = self._get_param("RegionOptStatusContains") or []
    size = self._get_param("MaxResults")
    if size is not None and not 1 <= int(size) <= 50:
        raise JsonRESTError(
            "ValidationException", "MaxResults must be between 1 and 50"
        )
    size = int(size) if size is not None else 10
    start = int(self._get_param("NextToken") or 0)
    regions = [
        r
        for r in _partition_regions(self.partition)
        if not wanted or r["RegionOptStatus"] in wanted
    ]
    result = {"Regions": regions[start : start + size]}
    if start + size < len(regions):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


account_responses.AccountResponse.list_regions = _list_regions
account_urls.url_paths["{0}/listRegions$"] = (
    account_responses.AccountResponse.dispatch
)

import moto.cloudformation.responses as cfn_responses  # noqa: E402


def _org_accounts(instances, targets):
    """The accounts DeploymentTargets names, as service-managed StackSets read them."""
    org = instances.org_backend
    ous = set(targets.get("OrganizationalUnitIds") or [])
    grown = True
    while grown:
        below = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in ous}
        grown = not below <= ous
        ous |= below
    in_ous = [a.id for a in org.accounts if a.parent_id in ous]
    listed = targets.get("Accounts") or []
    kind = targets.get("AccountFilterType") or "NONE"
    if kind == "INTERSECTION":
        chosen = [a for a in in_ous if a in listed]
    elif kind == "DIFFERENCE":
        chosen = [a for a in in_ous if a not in listed]
    elif kind == "UNION":
        chosen = in_ous + [a for a in listed if a not in in_ous]
    else:
        chosen = in_ous
    management = org.org.master_account_id if org.org else None
    return [a for a in chosen if a != management]


def _create_by_targets(create):
    def run(self, accounts, regions, parameters, deployment_targets, permission_model):
        if permission_model == "SERVICE_MANAGED" and deployment_targets:
            accounts = _org_accounts(self, deployment_targets)
            deployment_targets = {}
        return create(self, accounts, regions, parameters, deployment_targets, permission_model)

    return run


cfn_models.StackInstances.create_instances = _create_by_targets(
    cfn_models.StackInstances.create_instances
)


def _delete_by_targets(delete):
    def run(self):
        targets = self._get_params().get("DeploymentTargets")
        name = self._get_param("StackSetName")
        stackset = self.cloudformation_backend.describe_stack_set(name)
        if not targets or stackset.permission_model != "SERVICE_MANAGED":
            return delete(self)
        accounts = _org_accounts(stackset.instances, targets)
        stackset.delete_stack_instances(accounts, self._get_param("Regions", []))
        return ActionResult({"OperationId": stackset.operations[-1]["OperationId"]})

    return run


cfn_responses.CloudFormationResponse.delete_stack_instances = _delete_by_targets(
    cfn_responses.CloudFormationResponse.delete_stack_instances
)

import moto.organizations.models as org_models  # noqa: E402
import moto.organizations.responses as org_responses  # noqa: E402
from moto.organizations.exceptions import OrganizationsClientError  # noqa: E402

org_models.FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(
    "member.org.stacksets.cloudformation.amazonaws.com"
)


def _management_backend(account, partition):
    """The organization backend that holds `account`'s organization."""
    owner = organizations_backends.master_accounts.get(account)
    if owner:
        return organizations_backends[owner[0]][owner[1]]
    return organizations_backends[account][partition]


def _delegated_for(account, partition, principal=None):
    backend = _management_backend(account, partition)
    return any(
        admin.account.id == account and (principal is None or principal in admin.services)
        for admin in backend.admins
    )


def _management_or_delegated(handler):
    def run(self):
        account, partition = self.current_account, self.partition
        owner = organizations_backends.master_accounts.get(account)
        if owner and owner[0] != account:
            if not _delegated_for(account, partition):
                raise OrganizationsClientError(
                    "AccessDeniedException",
                    "You don't have permissions to access this resource.",
                )
            self.current_account = owner[0]
            try:
                return handler(self)
            finally:
                self.current_account = account
        return handler(self)

    return run


for _name in ("list_roots", "list_accounts"):
    setattr(
        org_responses.OrganizationsResponse,
        _name,
        _management_or_delegated(getattr(org_responses.OrganizationsResponse, _name)),
    )

cfn_models.StackInstances.org_backend = property(
    lambda self: _management_backend(self.account_id, self.partition)
)

_STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"


def _as_delegated_admin(handler):
    def run(self):
        if self._get_param("CallAs") == "DELEGATED_ADMIN" and not _delegated_for(
            self.current_account, self.partition, _STACKSETS
        ):
            raise cfn_models.ValidationError(
                message="Account used is not a delegated administrator"
            )
        return handler(self)

    return run


for _name in (
    "create_stack_set",
    "describe_stack_set",
    "update_stack_set",
    "delete_stack_set",
    "create_stack_instances",
    "delete_stack_instances",
    "list_stack_instances",
    "describe_stack_set_operation",
    "list_stack_set_operation_results",
):
    setattr(
        cfn_responses.CloudFormationResponse,
        _name,
        _as_delegated_admin(getattr(cfn_responses.CloudFormationResponse, _name)),
    )


# IAM policy evaluation. moto 5.2.5 asks about the resource only for S3, SQS
# and IAM roles ("*" for the rest), evaluates no condition keys, and turns an
# Allow statement whose condition it cannot evaluate into a Deny. Real IAM:
# an explicit Deny wins, else an Allow whose action, resource and every
# condition match, else an implicit deny; a condition on a key the request
# does not carry is false (true for negated operators, ...IfExists and
# ForAllValues; Null tests presence). Here each request gets its resource ARN
# and the condition keys the Service Authorization Reference lists for it,
# for the calls this project makes and refuses:
# - aws:ResourceTag/* of Lambda functions, SNS topics, SQS queues, log
#   groups, CloudFormation stacks and StackSets; aws:ResourceAccount of S3;
# - aws:RequestTag/* and aws:TagKeys of CreateChangeSet, CreateStackSet,
#   CreateFunction, CreateTopic, CreateQueue;
# - cloudformation:ResourceTypes, cloudformation:ImportResourceTypes,
#   cloudformation:RoleArn (CreateChangeSet); sns:Protocol, sns:Endpoint
#   (Subscribe); events:source, events:detail-type (PutEvents);
#   events:TargetArn and the rule's aws:ResourceTag/* (PutTargets);
#   iam:PermissionsBoundary and the role's ARN (CreateRole); the model or
#   inference profile ARN of bedrock:InvokeModel;
# - aws:CalledVia / aws:CalledViaFirst from the request header
#   X-Testkit-Called-Via: it stands in for a forward access session (a
#   service such as CloudFormation calling on with the caller's
#   credentials), which a client cannot produce. Nothing else sends it.
# A request whose resource is not worked out here matches any Resource (as
# before); a key not worked out here is absent. IAM action names: IAM
# authorises SendMessageBatch as sqs:SendMessage (and likewise
# DeleteMessageBatch, ChangeMessageVisibilityBatch), moto asked for actions
# IAM does not have.
import fnmatch as _fnmatch  # noqa: E402
import json as _json  # noqa: E402
from urllib.parse import unquote as _unquote  # noqa: E402

_IAM_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _tag_dict(tags):
    if not tags:
        return {}
    if isinstance(tags, dict):
        return dict(tags)
    out = {}
    for t in tags:
        key = t.get("Key", t.get("key"))
        if key is not None:
            out[key] = t.get("Value", t.get("value", ""))
    return out


def _param(req, name):
    v = req._data.get(name)
    return v[0] if isinstance(v, list) and v else (v if isinstance(v, str) else None)


def _members(req, prefix):
    """awsQuery lists: `prefix.member.N` (strings) or `prefix.member.N.Field`."""
    items = {}
    for key, value in req._data.items():
        if not key.startswith(prefix + ".member."):
            continue
        rest = key[len(prefix) + 8 :]
        index, _, field = rest.partition(".")
        value = value[0] if isinstance(value, list) else value
        if field:
            items.setdefault(int(index), {})[field] = value
        else:
            items[int(index)] = value
    return [items[i] for i in sorted(items)]


def _body(req):
    try:
        body = _json.loads(req._body or b"{}")
        return body if isinstance(body, dict) else {}
    except (ValueError, TypeError):
        return {}


def _tagged(ctx, tags, kind):
    for k, v in _tag_dict(tags).items():
        ctx[f"aws:{kind}tag/{k}".lower()] = [v]
    if kind == "Request" and tags:
        ctx["aws:tagkeys"] = list(_tag_dict(tags))


def _arn_prefix(req, service):
    return f"arn:{get_partition(req._region)}:{service}:{req._region}:{req.account_id}"


def _facts_cloudformation(req, name, ctx):
    backend = cfn_models.cloudformation_backends[req.account_id][req._region]
    if name in ("CreateStackSet",):
        _tagged(ctx, _members(req, "Tags"), "Request")
        return None
    if "StackSet" in name or name in ("ListStackInstances", "ListStackSetOperationResults"):
        wanted = _param(req, "StackSetName")
        found = next(
            (s for s in backend.stacksets.values() if wanted in (s.name, s.id, s.arn)), None
        )
        if found is not None:
            _tagged(ctx, found.tags, "Resource")
            return found.arn
        return None
    if name == "ListStacks":
        return "*"
    stack = None
    change_set = _param(req, "ChangeSetName")
    if change_set and name != "CreateChangeSet":
        found = backend.change_sets.get(change_set) or next(
            (c for c in backend.change_sets.values() if c.change_set_name == change_set), None
        )
        stack = backend.stacks.get(found.stack_id) if found is not None else None
    wanted = _param(req, "StackName")
    if stack is None and wanted:
        stack = next(
            (s for s in backend.stacks.values() if wanted in (s.name, s.stack_id)), None
        ) or backend.deleted_stacks.get(wanted)
    if name == "CreateChangeSet":
        _tagged(ctx, _members(req, "Tags"), "Request")
        types = _members(req, "ResourceTypes")
        if types:
            ctx["cloudformation:resourcetypes"] = types
        imports = [r.get("ResourceType") for r in _members(req, "ResourcesToImport")]
        if imports:
            ctx["cloudformation:importresourcetypes"] = imports
        if _param(req, "RoleARN"):
            ctx["cloudformation:rolearn"] = [_param(req, "RoleARN")]
        if change_set:
            ctx["cloudformation:changesetname"] = [change_set]
    if stack is not None:
        _tagged(ctx, stack.tags, "Resource")
        return stack.stack_id
    if wanted:
        return f"{_arn_prefix(req, 'cloudformation')}:stack/{wanted}/*"
    return None


def _facts_lambda(req, name, ctx):
    parts = [_unquote(p) for p in req._path.split("?")[0].split("/")]
    if "functions" not in parts:
        return None
    fn_name = parts[parts.index("functions") + 1] if len(parts) > parts.index("functions") + 1 else ""
    if not fn_name:
        if name == "CreateFunction":
            body = _body(req)
            _tagged(ctx, body.get("Tags"), "Request")
            return f"{_arn_prefix(req, 'lambda')}:function:{body.get('FunctionName', '')}"
        return None
    backend = lambda_models.lambda_backends[req.account_id][req._region]
    try:
        fn = backend.get_function(fn_name)
    except Exception:  # unknown function: Lambda answers ResourceNotFound after IAM
        return f"{_arn_prefix(req, 'lambda')}:function:{fn_name.split(':')[-1]}"
    _tagged(ctx, fn.tags, "Resource")
    return fn.function_arn


def _facts_sns(req, name, ctx):
    from moto.sns.models import sns_backends

    backend = sns_backends[req.account_id][req._region]
    if name == "CreateTopic":
        _tagged(ctx, _members(req, "Tags"), "Request")
        return f"{_arn_prefix(req, 'sns')}:{_param(req, 'Name')}"
    arn = _param(req, "TopicArn")
    if name == "Subscribe":
        if _param(req, "Protocol") is not None:
            ctx["sns:protocol"] = [_param(req, "Protocol")]
        if _param(req, "Endpoint") is not None:
            ctx["sns:endpoint"] = [_param(req, "Endpoint")]
    if arn and arn in backend.topics:
        _tagged(ctx, backend.topics[arn]._tags, "Resource")
    return arn


def _facts_sqs(req, name, ctx, resource):
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[req.account_id][req._region]
    if name == "CreateQueue":
        body = _body(req)
        _tagged(ctx, body.get("tags"), "Request")
        return f"{_arn_prefix(req, 'sqs')}:{body.get('QueueName', '')}"
    if resource and resource != "*":
        try:
            _tagged(ctx, backend.get_queue(resource.split(":")[-1]).tags, "Resource")
        except Exception:  # QueueDoesNotExist: SQS answers that after IAM
            pass
        return resource
    return None


def _facts_events(req, name, ctx):
    body = _body(req)
    if name == "PutTargets":
        # events:TargetArn: the ARN of every target in the request (IAM's
        # reference); the resource is the rule, with its tags.
        ctx["events:targetarn"] = [t.get("Arn", "") for t in body.get("Targets") or []]
        backend = events_models.events_backends[req.account_id][req._region]
        bus_name = (body.get("EventBusName") or "default").split("event-bus/")[-1]
        bus = backend.event_buses.get(bus_name)
        rule = bus.rules.get(body.get("Rule", "")) if bus else None
        if rule is not None:
            _tagged(ctx, backend.tagger.list_tags_for_resource(rule.arn)["Tags"], "Resource")
            return rule.arn
        path = "" if bus_name == "default" else f"{bus_name}/"
        return f"{_arn_prefix(req, 'events')}:rule/{path}{body.get('Rule', '')}"
    if name == "PutEvents":
        entries = body.get("Entries") or []
        ctx["events:source"] = [e.get("Source", "") for e in entries]
        ctx["events:detail-type"] = [e.get("DetailType", "") for e in entries]
        buses = {e.get("EventBusName") or "default" for e in entries}
        bus = buses.pop() if len(buses) == 1 else None
        if bus is None:
            return None
        return bus if bus.startswith("arn:") else f"{_arn_prefix(req, 'events')}:event-bus/{bus}"
    return None


def _facts_logs(req, name, ctx):
    body = _body(req)
    group = body.get("logGroupName") or body.get("logGroupIdentifier")
    if not group:
        return None
    if group.startswith("arn:"):
        return group
    return f"{_arn_prefix(req, 'logs')}:log-group:{group}"


def _facts_iam(req, name, ctx, resource):
    if name != "CreateRole":
        return resource if resource != "*" else None
    boundary = _param(req, "PermissionsBoundary")
    if boundary is not None:
        ctx["iam:permissionsboundary"] = [boundary]
    path = _param(req, "Path") or "/"
    partition = get_partition(req._region)
    return f"arn:{partition}:iam::{req.account_id}:role{path}{_param(req, 'RoleName') or ''}"


def _facts_bedrock(req, name, ctx):
    # InvokeModel's resource: the foundation model, or the inference profile
    # a profile id (us.…, eu.…, apac.…) names, or the ARN given as model id.
    parts = [_unquote(p) for p in req._path.split("?")[0].split("/")]
    if "model" not in parts or len(parts) <= parts.index("model") + 1:
        return None
    model = parts[parts.index("model") + 1]
    if model.startswith("arn:"):
        return model
    partition = get_partition(req._region)
    if model.split(".")[0] in ("us", "eu", "apac", "us-gov", "jp", "au", "ca", "global"):
        return f"arn:{partition}:bedrock:{req._region}:{req.account_id}:inference-profile/{model}"
    return f"arn:{partition}:bedrock:{req._region}::foundation-model/{model}"


def _request_facts(req, resource):
    """(resource ARN or None, condition context: lower-case key -> values)."""
    service, _, name = req._action.partition(":")
    ctx = {}
    via = req._headers.get("X-Testkit-Called-Via")
    if via:
        ctx["aws:calledviafirst"] = [via]
        ctx["aws:calledvia"] = [via]
    if service == "s3":
        bucket = resource.split(":::", 1)[-1].split("/", 1)[0]
        owner = s3_backends.bucket_accounts.get(bucket)
        # A bucket that does not exist (yet): S3 answers NoSuchBucket, or
        # CreateBucket makes it in the caller's account.
        ctx["aws:resourceaccount"] = [owner[1] if owner is not None else req.account_id]
        return resource, ctx
    facts = {
        "cloudformation": lambda: _facts_cloudformation(req, name, ctx),
        "lambda": lambda: _facts_lambda(req, name, ctx),
        "sns": lambda: _facts_sns(req, name, ctx),
        "sqs": lambda: _facts_sqs(req, name, ctx, resource),
        "events": lambda: _facts_events(req, name, ctx),
        "logs": lambda: _facts_logs(req, name, ctx),
        "iam": lambda: _facts_iam(req, name, ctx, resource),
        "bedrock": lambda: _facts_bedrock(req, name, ctx),
    }.get(service)
    if facts is None:
        return (resource if resource != "*" else None), ctx
    return facts(), ctx


def _glob(pattern, value, case=True):
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return _fnmatch.fnmatchcase(value, pattern)


def _element_matches(element, value, case):
    patterns = element if isinstance(element, list) else [element]
    return any(_glob(p, value, case) for p in patterns)


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _one_value_matches(operator, value, wanted):
    base = {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
    }.get(operator, operator)
    if base == "StringEquals":
        hit = value in wanted
    elif base == "StringEqualsIgnoreCase":
        hit = value.lower() in [w.lower() for w in wanted]
    elif base in ("StringLike", "ArnLike", "ArnEquals"):
        hit = any(_glob(w, value) for w in wanted)
    elif base == "Bool":
        hit = value.lower() in [w.lower() for w in wanted]
    else:
        return False  # an operator not modelled here never matches
    return not hit if operator in _NEGATED else hit


def _condition_holds(operator, key, wanted, ctx):
    wanted = [str(w).lower() if isinstance(w, bool) else str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
    values = ctx.get(key.lower())
    if operator == "Null":
        return (values is None) == (wanted[0].lower() == "true")
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator[: -len("IfExists")] if if_exists else operator
    if values is None:
        return if_exists or qualifier == "ForAllValues" or (not qualifier and operator in _NEGATED)
    results = [_one_value_matches(operator, v, wanted) for v in values]
    if qualifier == "ForAllValues":
        return all(results)
    if qualifier == "ForAnyValue":
        return any(results)
    return len(results) == 1 and results[0]


def _statement_applies(st, action, resource, ctx):
    if "Action" in st and not _element_matches(st["Action"], action, case=False):
        return False
    if "NotAction" in st and _element_matches(st["NotAction"], action, case=False):
        return False
    if resource is not None:
        if "Resource" in st and not _element_matches(st["Resource"], resource, case=True):
            return False
        if "NotResource" in st and _element_matches(st["NotResource"], resource, case=True):
            return False
    for operator, tests in (st.get("Condition") or {}).items():
        for key, wanted in tests.items():
            if not _condition_holds(operator, key, wanted, ctx):
                return False
    return True


def _check_action_permitted(self, resource):
    self._action = _IAM_ACTION_OF.get(self._action, self._action)
    if self._action == "sts:GetCallerIdentity":  # IAM never refuses it
        return
    arn, ctx = _request_facts(self, resource)
    allowed = False
    for policy in self._access_key.collect_policies():
        doc = access_control.IAMPolicy(policy)._policy_json
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for st in statements:
            if not _statement_applies(st, self._action, arn, ctx):
                continue
            if st["Effect"] == "Deny":
                self._raise_access_denied()
            allowed = True
    if self._is_assuming_role_operation(resource):
        allowed = allowed and self._check_role_trust_relationship(resource)
    if not allowed:
        self._raise_access_denied()


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted



# CloudFormation tags: real CloudFormation tags every taggable resource it
# creates with the stack's tags and the resource's own Tags (values
# resolved). moto 5.2.5 drops the Tags of an SNS topic and a Lambda function
# and never applies the stack's tags, so a policy conditioned on
# aws:ResourceTag would see untagged resources.
def _with_stack_tags(make):
    def run(logical_id, resource_json, resources_map, account_id, region_name):
        resource = make(logical_id, resource_json, resources_map, account_id, region_name)
        if resource is None:
            return resource
        own = (resource_json.get("Properties") or {}).get("Tags") or []
        tags = {k: v for k, v in (resources_map.tags or {}).items() if not k.startswith("aws:")}
        for tag in own if isinstance(own, list) else []:
            value = cfn_parsing.clean_json(tag.get("Value"), resources_map)
            if isinstance(tag.get("Key"), str) and isinstance(value, str):
                tags[tag["Key"]] = value
        kind = resource_json.get("Type")
        if kind == "AWS::SNS::Topic":
            resource._tags = {**(resource._tags or {}), **tags}
        elif kind == "AWS::Lambda::Function":
            resource.tags = {**_tag_dict(resource.tags), **tags}
        elif kind == "AWS::SQS::Queue":
            resource.tags = {**(resource.tags or {}), **tags}
        return resource

    return run


cfn_parsing.parse_and_create_resource = _with_stack_tags(cfn_parsing.parse_and_create_resource)


# moto 5.2.5 registers a stack's exports only in CreateStack, not when a
# change set creates or updates the stack, and DeleteStack then fails with
# a KeyError (HTTP 500) after it deleted the stack; the SDK's retry then
# meets a deleted stack. CloudFormation lists a change set stack's exports
# (ListExports, Fn::ImportValue) like any other.
def _with_exports(method):
    def run(self, change_set_name, stack_name=None):
        method(self, change_set_name, stack_name)
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        stack = self.stacks.get(change_set.stack_id) if change_set is not None else None
        if stack is not None:
            for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
                del self.exports[name]
            for export in stack.exports:
                self.exports[export.name] = export

    return run


cfn_models.CloudFormationBackend.execute_change_set = _with_exports(
    cfn_models.CloudFormationBackend.execute_change_set
)
cfn_parsing.parse_and_update_resource = _with_stack_tags(cfn_parsing.parse_and_update_resource)


# CloudFormation's DeleteStack only starts a deletion: a resource that cannot
# be deleted leaves the stack in DELETE_FAILED, with that resource's event
# naming the reason, and DeleteStack itself answers 200. moto 5.2.5 deletes
# inline, drops the stack from its list first, and answers with the
# resource's own error: for Lambda, Events, Logs ... a JSON body that the
# CloudFormation client reads as "HTTP 400 without an error code".
def _delete_or_fail(delete):
    def run(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        try:
            return delete(self, name_or_stack_id)
        except Exception as err:
            if stack is None:
                raise
            reason = getattr(err, "message", None) or str(err)
            print(f"testkit: DeleteStack {stack.name}: {type(err).__name__}: {reason}", file=sys.stderr, flush=True)
            resources = stack.resource_map
            left = [
                name
                for name in resources._parsed_resources
                if name in resources._resource_json_map
                and resources._resource_json_map[name].get("DeletionPolicy") != "Retain"
            ]
            for name in left:
                parsed = resources._parsed_resources[name]
                stack.events.append(
                    cfn_models.Event(
                        stack_id=stack.stack_id,
                        stack_name=stack.name,
                        logical_resource_id=name,
                        physical_resource_id=getattr(parsed, "physical_resource_id", None) or name,
                        resource_type=resources._resource_json_map[name].get("Type", ""),
                        resource_status="DELETE_FAILED",
                        resource_status_reason=reason,
                        resource_properties=None,
                    )
                )
            stack._add_stack_event(
                "DELETE_FAILED",
                resource_status_reason="The following resource(s) failed to delete: ["
                + ", ".join(left)
                + "]. ",
            )
            stack.status = "DELETE_FAILED"
            self.stacks[stack.stack_id] = stack

    return run


cfn_models.CloudFormationBackend.delete_stack = _delete_or_fail(
    cfn_models.CloudFormationBackend.delete_stack
)


import re  # noqa: E402


def _references(node, names, found):
    """The logical ids a template fragment points at (Ref, Fn::GetAtt, Fn::Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found.update(m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text))
                if isinstance(value, list) and len(value) > 1:
                    _references(value[1], names, found)
            else:
                _references(value, names, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, names, found)
    return found & names


def _deletion_order(resource_json_map):
    """Dependents before what they depend on, as CloudFormation deletes."""
    names = set(resource_json_map)
    needs = {}
    for name, resource in resource_json_map.items():
        depends = resource.get("DependsOn") or []
        depends = {depends} if isinstance(depends, str) else set(depends)
        found = _references(resource.get("Properties", {}), names, set())
        needs[name] = (found | (depends & names)) - {name}
    order, left = [], set(names)
    while left:
        ready = sorted(n for n in left if not any(n in needs[m] for m in left if m != n))
        if not ready:  # a cycle CloudFormation would have refused; moto's own way
            ready = sorted(left)
        order += ready
        left -= set(ready)
    return order


# CloudFormation deletes a stack's resources in reverse dependency order: an
# event bus policy or rule before its bus, a metric filter before its log
# group. moto 5.2.5 deletes them in the order of a Python set, so a stack
# whose bus went first failed to delete its bus policy ("Event bus ... does
# not exist"), now and then.
def _delete_in_dependency_order(self):
    kept = {
        name for name, value in self._resource_json_map.items()
        if value.get("DeletionPolicy") != "Retain"
    }
    remaining = [n for n in _deletion_order(self._resource_json_map) if n in kept]
    last_error = None
    previous = len(remaining) + 1
    while remaining and len(remaining) < previous:
        previous = len(remaining)
        for name in list(remaining):
            parsed = self._parsed_resources.get(name)
            try:
                if not isinstance(parsed, str) and parsed is not None:
                    self._delete_resource(parsed, self._resource_json_map[parsed.logical_resource_id])
                    self._parsed_resources.pop(parsed.logical_resource_id)
            except Exception as err:  # tried again after the others, as moto does
                last_error = err
            else:
                remaining.remove(name)
    if remaining:
        raise last_error


cfn_parsing.ResourceMap.delete = _delete_in_dependency_order


import moto.dynamodb.models as ddb_models  # noqa: E402

_item_lock = threading.RLock()


def _atomic(method):
    def run(self, *args, **kwargs):
        with _item_lock:
            return method(self, *args, **kwargs)

    return run


for _name in ("put_item", "get_item", "update_item", "delete_item", "transact_write_items"):
    setattr(
        ddb_models.DynamoDBBackend,
        _name,
        _atomic(getattr(ddb_models.DynamoDBBackend, _name)),
    )

# The journal (Moto::journal): one line per call moto answers, in order,
# "service:Action" and the sorted names of a JSON body's top-level
# parameters (never their values). Not an AWS behaviour: the tests' view of
# the order of calls (the webhook secret gets its value only after its
# resource policy).
import moto.core.responses as core_responses  # noqa: E402

_journal_lock = threading.Lock()


def _journaled(call_action):
    def run(self):
        path = os.environ.get("TESTKIT_MOTO_JOURNAL")
        if path:
            try:
                body = json.loads(self.body) if self.body else {}
            except (TypeError, ValueError):
                body = {}
            names = ",".join(sorted(body)) if isinstance(body, dict) else ""
            line = f"{self.service_name}:{self._get_action()} {names}".rstrip()
            with _journal_lock, open(path, "a") as journal:
                journal.write(line + "\n")
        return call_action(self)

    return run


core_responses.BaseResponse.call_action = _journaled(core_responses.BaseResponse.call_action)

from moto.server import main  # noqa: E402

sys.argv[0] = "moto_server"
sys.exit(main())
