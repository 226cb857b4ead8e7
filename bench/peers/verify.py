"""The same four checks as verify.sh in one boto3 process (endpoint from AWS_ENDPOINT_URL)."""
import boto3

session = boto3.session.Session()
checks = [
    ("sts:GetCallerIdentity", lambda: session.client("sts").get_caller_identity()),
    ("s3:ListAllMyBuckets", lambda: session.client("s3").list_buckets()),
    ("dynamodb:ListTables", lambda: session.client("dynamodb").list_tables()),
    ("iam:ListRoles", lambda: session.client("iam").list_roles()),
]
for label, call in checks:
    try:
        call()
        print(label, "allowed")
    except Exception:  # a denial (or moto's XML denial that botocore cannot parse) is an answer
        print(label, "denied")
