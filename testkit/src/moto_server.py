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
import os
import sys

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

import moto.iam.access_control as access_control  # noqa: E402

access_control.IAMRequestBase.check_signature = lambda self: None

_IAM_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _with_iam_action_names(check):
    def run(self, resource):
        self._action = _IAM_ACTION_OF.get(self._action, self._action)
        return check(self, resource)

    return run


access_control.IAMRequestBase.check_action_permitted = _with_iam_action_names(
    access_control.IAMRequestBase.check_action_permitted
)

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


def _condition_holds(operator, wanted, fact):
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
            if not _condition_holds(operator, wanted, facts.get(key)):
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

from moto.server import main  # noqa: E402

sys.argv[0] = "moto_server"
sys.exit(main())
