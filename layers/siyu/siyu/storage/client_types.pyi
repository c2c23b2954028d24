"""The boto3 client types (boto3-stubs, a development dependency): a stub module only, for the type
checker. Code names these types under ``if TYPE_CHECKING:`` alone; nothing imports this at run time,
and the layer does not ship the stubs."""

from mypy_boto3_dynamodb import DynamoDBClient as DynamoDBClient
from mypy_boto3_s3 import S3Client as S3Client
from mypy_boto3_sns import SNSClient as SNSClient
from mypy_boto3_sqs import SQSClient as SQSClient
from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef as SendMessageBatchRequestEntryTypeDef
from mypy_boto3_ssm import SSMClient as SSMClient
